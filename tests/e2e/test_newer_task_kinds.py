"""Every newer task kind end to end over loopback: local files uploaded by the submit, the
task waited for, every result file downloaded byte-identical, the handle rebuilt by kind."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from topview_async import AsyncTopview, InsufficientCreditError
from topview_async._pricing import documented_cost
from topview_async.lib.tasks import Task
from topview_async.testing import SimulatorServer
from topview_async.testing._tasks import BIZ_TYPES
from topview_async.webhooks._parse import BIZ_TYPE_KINDS, KIND_RESULT_MODELS

from .helpers import file_sha256, media_name, served_sha256, write_png

pytestmark = pytest.mark.anyio

Submit = Callable[[AsyncTopview, SimulatorServer, Path], Awaitable[Task[Any]]]


def write_mp3(path: Path) -> Path:
    path.write_bytes(b"ID3\x04\x00" + bytes(range(256)) * 8)
    return path


def stored_upload(sim: SimulatorServer, task: Task[Any], field: str) -> bytes | None:
    """The bytes the simulator stored under the file id a submit sent in ``field``."""
    file_id = sim.simulator.tasks[task.task_id].request[field]
    if isinstance(file_id, list):
        file_id = file_id[0]
    return sim.simulator.uploads[file_id].data


async def image_to_video_v2(client: AsyncTopview, sim: SimulatorServer, tmp: Path) -> Task[Any]:
    frame = write_png(tmp / "frame.png")
    task = await client.videos.submit_image_to_video(
        model="Veo 3.1", first_frame_file_id=frame, duration=8, generating_count=2
    )
    assert stored_upload(sim, task, "firstFrameFileId") == frame.read_bytes()
    return task


async def text_to_video(client: AsyncTopview, sim: SimulatorServer, tmp: Path) -> Task[Any]:
    return await client.videos.submit_text_to_video(
        model="A model Topview added yesterday", prompt="A cat surfing at sunset"
    )


async def omni_reference(client: AsyncTopview, sim: SimulatorServer, tmp: Path) -> Task[Any]:
    # A local path nested in an object argument is uploaded like a top-level file field
    # (the spec marks inputImages[].fileId with x-topview-file); an id is kept as it is.
    image = write_png(tmp / "ref.png")
    kept = await client.uploads.upload(write_png(tmp / "other.png", seed=7))
    task = await client.videos.submit_omni_reference(
        model="Standard",
        prompt="<<<Image1>>> and <<<Image2>>> on a beach",
        input_images=[
            {"name": "Image1", "fileId": image},  # type: ignore[list-item]
            {"name": "Image2", "fileId": kept},  # type: ignore[list-item]
        ],
    )
    sent = sim.simulator.tasks[task.task_id].request["inputImages"]
    assert sim.simulator.uploads[sent[0]["fileId"]].data == image.read_bytes()
    assert sent[1]["fileId"] == kept
    return task


async def storyboard(client: AsyncTopview, sim: SimulatorServer, tmp: Path) -> Task[Any]:
    # An image task ([DOCS] storyboard-submit-task); its reference images are uploaded too.
    reference = write_png(tmp / "mug.png")
    task = await client.videos.submit_storyboard(
        story="A mug on a desk; a hand lifts it; coffee steams",
        model="Nano Banana 2",
        resolution="512p",
        grid_mode="preset",
        grid_size=4,
        reference_file_ids=[reference],
    )
    assert stored_upload(sim, task, "referenceFileIds") == reference.read_bytes()
    return task


async def text_to_image(client: AsyncTopview, sim: SimulatorServer, tmp: Path) -> Task[Any]:
    return await client.images.submit_text_to_image(
        model="Nano Banana Pro", prompt="A blue mug", generate_count=3
    )


async def image_edit(client: AsyncTopview, sim: SimulatorServer, tmp: Path) -> Task[Any]:
    first, second = write_png(tmp / "a.png", seed=1), write_png(tmp / "b.png", seed=2)
    task = await client.images.submit_image_edit(
        prompt="Put both on one table", input_image_file_ids=[first, second]
    )
    assert stored_upload(sim, task, "inputImageFileIds") == first.read_bytes()
    return task


async def remove_background(client: AsyncTopview, sim: SimulatorServer, tmp: Path) -> Task[Any]:
    product = write_png(tmp / "product.png")
    task = await client.images.submit_remove_background(product_image_file_id=product)
    assert stored_upload(sim, task, "productImageFileId") == product.read_bytes()
    return task


async def photo_avatar(client: AsyncTopview, sim: SimulatorServer, tmp: Path) -> Task[Any]:
    photo, speech = write_png(tmp / "me.png"), write_mp3(tmp / "speech.mp3")
    task = await client.photo_avatars.submit(
        mode="avatar4",
        script_mode="audio",
        template_image_file_id=photo,
        audio_file_id=speech,
        off_peak=True,
    )
    assert stored_upload(sim, task, "audioFileId") == speech.read_bytes()
    return task


async def replace_v3(client: AsyncTopview, sim: SimulatorServer, tmp: Path) -> Task[Any]:
    cut = await client.images.run_remove_background(
        product_image_file_id=write_png(tmp / "product.png")
    )
    assert cut.bg_removed_image_file_id
    return await client.product_avatars.submit_image_replace_v3(
        product_image_without_background_file_id=cut.bg_removed_image_file_id,
        template_image_file_id=write_png(tmp / "template.png", seed=3),
        image_edit_prompt="Hold it up",
    )


async def image_to_video_v2_product(
    client: AsyncTopview, sim: SimulatorServer, tmp: Path
) -> Task[Any]:
    replaced = await (await replace_v3(client, sim, tmp)).wait()
    assert replaced.replace_product_result
    image_id = replaced.replace_product_result[0].image_id
    assert image_id
    captions = await client.captions.list()
    return await client.product_avatars.submit_image_to_video_v2(
        replace_product_task_image_id=image_id,
        mode="avatar2",
        script_mode="audio",
        audio_file_id=write_mp3(tmp / "pitch.mp3"),
        caption_id=captions[0].caption_id,
    )


async def anyshoot_product_model(
    client: AsyncTopview, sim: SimulatorServer, tmp: Path
) -> Task[Any]:
    return await client.anyshoot.submit_product_model(
        product_image_file_id=write_png(tmp / "bottle.png"), generating_count=2
    )


async def text_to_speech(client: AsyncTopview, sim: SimulatorServer, tmp: Path) -> Task[Any]:
    voices = await client.voices.list(language="en", page_size=1)
    assert voices.data
    return await client.voices.submit_text_to_speech(
        voice_text="Hello from the simulator", voice_id=str(voices.data[0].voice_id)
    )


async def voice_clone(client: AsyncTopview, sim: SimulatorServer, tmp: Path) -> Task[Any]:
    recording = write_mp3(tmp / "brand.mp3")
    task = await client.voices.submit_clone(origin_voice_file_id=recording, name="Brand")
    assert stored_upload(sim, task, "originVoiceFileId") == recording.read_bytes()
    return task


async def board_download(client: AsyncTopview, sim: SimulatorServer, tmp: Path) -> Task[Any]:
    board = await client.boards.create(name="Campaign")
    assert board.board_id
    await client.images.run_text_to_image(prompt="A mug", board_id=board.board_id)
    return await client.boards.submit_download(board_id=board.board_id)


def write_mp4(path: Path) -> Path:
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    return path


async def ai_music(client: AsyncTopview, sim: SimulatorServer, tmp: Path) -> Task[Any]:
    reference = write_mp3(tmp / "reference.mp3")  # nested: referenceAudio.fileId
    task = await client.music.submit(
        model="Topview Music",
        lyrics="Morning light on the kitchen table",
        styles="warm acoustic pop",
        enhance_prompt=True,
        reference_audio={"fileId": reference, "clipStart": 1.0, "clipEnd": 9.5},  # type: ignore[arg-type]
    )
    sent = sim.simulator.tasks[task.task_id].request["referenceAudio"]
    assert sim.simulator.uploads[sent["fileId"]].data == reference.read_bytes()
    assert sent["clipEnd"] == 9.5
    return task


async def image_translate(client: AsyncTopview, sim: SimulatorServer, tmp: Path) -> Task[Any]:
    image = write_png(tmp / "label.png")
    task = await client.image_translations.submit_translate(
        file_id=image, languages=["Italian", "Simplified Chinese"]
    )
    assert stored_upload(sim, task, "fileId") == image.read_bytes()
    return task


async def image_translate_generate(
    client: AsyncTopview, sim: SimulatorServer, tmp: Path
) -> Task[Any]:
    translated = await (await image_translate(client, sim, tmp)).wait()
    assert translated.content
    assert translated.content[0].translation_list
    assert translated.task_id
    task = await client.image_translations.submit_generate(task_id=translated.task_id)
    assert task.task_id == translated.task_id  # as in the docs' example
    return task


async def image_translate_batch(client: AsyncTopview, sim: SimulatorServer, tmp: Path) -> Task[Any]:
    first, second = write_png(tmp / "a.png", seed=1), write_png(tmp / "b.png", seed=2)
    return await client.image_translations.submit_batch(
        file_ids=[first, second], languages=["Spanish", "Hindi"]
    )


async def video_object_remove(client: AsyncTopview, sim: SimulatorServer, tmp: Path) -> Task[Any]:
    video = write_mp4(tmp / "clip.mp4")
    task = await client.video_edits.submit_object_remove(
        mode="clear-inside", video_file_id=video, selection_box={"x": 10, "y": 20, "w": 30, "h": 15}
    )
    assert stored_upload(sim, task, "videoFileId") == video.read_bytes()
    return task


async def video_process(client: AsyncTopview, sim: SimulatorServer, tmp: Path) -> Task[Any]:
    return await client.video_edits.submit_video_process(
        input_video_file_id=write_mp4(tmp / "dance.mp4")
    )


_POINTS = {"index": "0", "modifyPoints": [[120.5, 300.0]], "protectPoints": [[40.0, 40.0]]}


async def image_mask_drawing(client: AsyncTopview, sim: SimulatorServer, tmp: Path) -> Task[Any]:
    processed = await (await video_process(client, sim, tmp)).wait()
    assert processed.task_id
    assert processed.resized_size == [720, 1280]
    return await client.video_edits.submit_image_mask(
        video_process_task_id=processed.task_id, input_info=_POINTS
    )


async def video_mask_drawing(client: AsyncTopview, sim: SimulatorServer, tmp: Path) -> Task[Any]:
    processed = await (await video_process(client, sim, tmp)).wait()
    assert processed.task_id
    return await client.video_edits.submit_video_mask(
        video_process_task_id=processed.task_id, input_infos=[_POINTS]
    )


async def video_character_swap(client: AsyncTopview, sim: SimulatorServer, tmp: Path) -> Task[Any]:
    masked = await (await video_mask_drawing(client, sim, tmp)).wait()
    assert masked.task_id
    model = write_png(tmp / "new-actor.png", seed=4)
    task = await client.video_edits.submit_character_swap(
        model_image_file_id=model, video_mask_drawing_task_id=masked.task_id
    )
    assert stored_upload(sim, task, "modelImageFileId") == model.read_bytes()
    return task


async def video_to_ai_avatar(client: AsyncTopview, sim: SimulatorServer, tmp: Path) -> Task[Any]:
    return await client.ai_avatars.submit_video_to_avatar(video_file_id=write_mp4(tmp / "me.mp4"))


FLOWS: dict[str, tuple[Submit, int, str]] = {
    "image_to_video_v2": (image_to_video_v2, 2, ".mp4"),
    "text_to_video": (text_to_video, 1, ".mp4"),
    "omni_reference": (omni_reference, 1, ".mp4"),
    "storyboard": (storyboard, 1, ".png"),
    "text_to_image": (text_to_image, 3, ".png"),
    "image_edit": (image_edit, 1, ".png"),
    "remove_background": (remove_background, 2, ".png"),
    "photo_avatar": (photo_avatar, 1, ".mp4"),
    "product_avatar_image_replace_v3": (replace_v3, 2, ".jpg"),
    "product_avatar_image_to_video_v2": (image_to_video_v2_product, 1, ".mp4"),
    "anyshoot_product_model": (anyshoot_product_model, 2, ".png"),
    "text_to_speech": (text_to_speech, 1, ".mp3"),
    "voice_clone": (voice_clone, 1, ".mp3"),
    "board_download": (board_download, 1, ".zip"),
    "ai_music": (ai_music, 1, ".mp3"),
    "image_translate": (image_translate, 0, ""),
    "image_translate_generate": (image_translate_generate, 2, ".png"),
    "image_translate_batch": (image_translate_batch, 4, ".png"),
    "video_object_remove": (video_object_remove, 1, ".mp4"),
    "video_process": (video_process, 1, ".mp4"),
    "image_mask_drawing": (image_mask_drawing, 0, ""),
    "video_mask_drawing": (video_mask_drawing, 3, ".mp4"),
    "video_character_swap": (video_character_swap, 1, ".mp4"),
    "video_to_ai_avatar": (video_to_ai_avatar, 1, ".mp4"),
}
"""Task kind -> (how to submit one, how many result files, their suffix)."""


@pytest.mark.parametrize("kind", sorted(FLOWS))
async def test_submit_wait_download(
    kind: str, client: AsyncTopview, sim: SimulatorServer, tmp_path: Path
) -> None:
    submit, count, suffix = FLOWS[kind]
    task = await submit(client, sim, tmp_path)
    assert task.kind == kind

    paths = await task.download(tmp_path / "out")

    result = await task.wait()
    assert isinstance(result, KIND_RESULT_MODELS[kind])
    assert len(paths) == count
    assert all(p.suffix == suffix and p.name.startswith(task.task_id) for p in paths)
    served = {media_name(url) for url in _urls(result.model_dump(by_alias=True))}
    for path in paths:
        matches = [n for n in served if served_sha256(sim, n) == file_sha256(path)]
        assert matches, f"{path.name} is not the bytes of any result URL"

    # A handle rebuilt from the stored id (after a restart) is typed and finished alike.
    again = client.tasks.get(kind, task.task_id)
    assert (await again.wait()).model_dump() == result.model_dump()


def _urls(value: object) -> list[str]:
    """Every served media URL anywhere in a result."""
    if isinstance(value, str):
        return [value] if "/media/" in value else []
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [url for item in value for url in _urls(item)]
    return []


def test_every_newer_kind_has_a_callback_biz_type_that_maps_back() -> None:
    for kind in FLOWS:
        assert BIZ_TYPE_KINDS[BIZ_TYPES[kind]] == kind


async def test_credit_is_deducted_logged_and_runs_out(
    client: AsyncTopview, sim: SimulatorServer
) -> None:
    before = await client.account.credit()
    assert before.remain_credit == sim.simulator.config.credit
    # The simulator charges the spec's documented price: what a budget built on it expects.
    price = documented_cost("text_to_video", {"model": "Veo 3.1", "duration": 8})
    assert price == pytest.approx(3.3 * 8)
    task = await client.videos.submit_text_to_video(
        model="Veo 3.1", prompt="A cat", duration=8, generating_count=1
    )
    result = await task.wait()
    assert result.cost_credit == pytest.approx(price)

    after = await client.account.credit()
    assert after.remain_credit == pytest.approx(before.remain_credit - price)
    logged = [entry async for entry in client.account.list_all_credit_logs()]
    assert [(e.task_id, e.cost_credit) for e in logged] == [(task.task_id, result.cost_credit)]

    sim.simulator.ledger.credit = price + 1.2  # 1.2 left: the next video does not fit
    with pytest.raises(InsufficientCreditError) as caught:
        await client.videos.submit_text_to_video(model="Veo 3.1", prompt="A dog", duration=8)
    assert caught.value.code == "4100"
    assert (await client.account.credit()).remain_credit == pytest.approx(1.2)
