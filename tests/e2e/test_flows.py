"""Each user flow end to end: uploads, submits, waits and downloads over loopback HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from topview_async import AsyncTopview
from topview_async.testing import SimulatorServer

from .helpers import file_sha256, requests_to, served_sha256, write_png

pytestmark = pytest.mark.anyio


async def test_product_avatar_replace_then_image_to_video(
    client: AsyncTopview, sim: SimulatorServer, tmp_path: Path
) -> None:
    product = write_png(tmp_path / "product.png", 80, 60)
    avatars = await client.product_avatars.list_public_avatars(page_size=5)
    assert avatars.data
    avatar_id = avatars.data[0].avatar_id

    replace = await client.product_avatars.submit_image_replace(
        product_image_file_id=product,  # a local path, uploaded by the submit itself
        image_edit_prompt="Hold the bottle at chest height",
        avatar_id=avatar_id,
    )
    replaced = await replace.wait()
    assert replaced.task_status == "success"
    assert replaced.product_replace_result
    key = replaced.product_replace_result[0].key
    assert key

    # The upload really happened: the simulator stored our bytes under the id that was sent.
    submitted = sim.simulator.tasks[replace.task_id].request
    stored = sim.simulator.uploads[submitted["productImageFileId"]]
    assert stored.data == product.read_bytes()

    to_video = await client.product_avatars.submit_image_to_video(
        product_replace_result_key=key, mode="lite", image2video_prompt="Smile and wave"
    )
    video = await to_video.wait()
    assert video.video_url

    dest = await client.download(video.video_url, tmp_path / "out" / "avatar.mp4")
    assert file_sha256(dest) == served_sha256(sim, video.video_url)


async def test_marketing_video_preview_edit_and_export(
    client: AsyncTopview, sim: SimulatorServer, tmp_path: Path
) -> None:
    task = await client.marketing_videos.submit(
        product_link="https://shop.example/products/42", preview=True, aspect_ratio="9:16"
    )
    previewed = await task.wait()
    assert previewed.preview_videos
    assert all(v.video_url for v in previewed.preview_videos)
    assert not previewed.export_videos

    scripts = await client.marketing_videos.list_scripts(task_id=task.task_id)
    assert isinstance(scripts, list)
    assert len(scripts) >= 2
    chosen = scripts[1]
    assert chosen.script_id is not None
    assert chosen.script_contents
    new_segments = [
        {"segId": seg.seg_id, "segText": f"Edited: {seg.seg_text}"}
        for seg in chosen.script_contents
    ]
    await client.marketing_videos.update_script(
        task_id=task.task_id,
        script_id=chosen.script_id,
        script_contents=new_segments,  # type: ignore[arg-type]
    )
    updated = await client.marketing_videos.list_scripts(task_id=task.task_id)
    assert isinstance(updated, list)
    texts = [seg.seg_text for seg in updated[1].script_contents or []]
    assert texts
    assert all(text and text.startswith("Edited: ") for text in texts)

    export = await client.marketing_videos.export(task_id=task.task_id, script_id=chosen.script_id)
    exported = await export.wait()
    entries = [v for v in exported.export_videos or [] if v.script_id == chosen.script_id]
    assert len(entries) == 1
    assert entries[0].status == "success"
    assert entries[0].video_url
    url = entries[0].video_url

    dest = await client.download(url, tmp_path / "export.mp4")
    assert file_sha256(dest) == served_sha256(sim, url)


async def test_scraper_media_feed_a_marketing_video(
    client: AsyncTopview, sim: SimulatorServer, tmp_path: Path
) -> None:
    scraped = await client.scraper.run(product_link="https://shop.example/products/7")
    media = [*(scraped.product_images or []), *(scraped.product_videos or [])]
    file_ids = [m.file_id for m in media if m.file_id]
    assert len(file_ids) == len(media) >= 2

    # Without a product link Topview needs more than 10 images: reuse the scraped ones.
    file_ids = (file_ids * 11)[:11]
    result = await client.marketing_videos.run(
        file_ids=file_ids,
        product_name=scraped.product_name or "Scraped product",
        product_description=scraped.product_description or "From the product page",
        preview=False,
    )
    assert result.status == "success"
    assert result.export_videos
    assert result.export_videos[0].video_url
    url = result.export_videos[0].video_url

    # The M2V submit used the scraped ids as they are: nothing was uploaded.
    assert not requests_to(sim, "/v1/upload/")
    (m2v_task,) = [t for t in sim.simulator.tasks.values() if t.kind == "m2v"]
    assert m2v_task.request["fileIds"] == file_ids

    dest = await client.download(url, tmp_path / "m2v.mp4")
    assert file_sha256(dest) == served_sha256(sim, url)


async def test_video_avatar_from_local_files_given_as_str(
    client: AsyncTopview,
    sim: SimulatorServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("me.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"v" * 4000)
    Path("voice.mp3").write_bytes(b"ID3\x04\x00" + b"a" * 3000)

    result = await client.video_avatars.run(
        avatar_source_from=0, video_file_id="me.mp4", audio_source_from=0, audio_file_id="voice.mp3"
    )
    assert result.status == "success"
    assert result.output_video_url

    uploads = sim.simulator.uploads
    assert result.input_video_file_id
    assert result.input_audio_file_id
    assert uploads[result.input_video_file_id].data == Path("me.mp4").read_bytes()
    assert uploads[result.input_audio_file_id].data == Path("voice.mp3").read_bytes()
    assert uploads[result.input_video_file_id].format == "mp4"
    assert uploads[result.input_audio_file_id].format == "mp3"

    dest = await client.download(result.output_video_url, "avatar.mp4")
    assert file_sha256(dest) == served_sha256(sim, result.output_video_url)
