"""The newer management endpoints over loopback, on both send paths: credit, boards (PUT and
DELETE), the M2V task list and delete (a DELETE with a JSON body), cloned voices, photo avatar
templates, the video-to-AI-avatar query and the account's space."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from topview_async import AsyncTopview, InsufficientCreditError, InvalidInputError, NotFoundError
from topview_async.testing import SimulatorServer

from .helpers import make_client, requests_to, write_png

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["direct", "httpx"])
async def any_client(
    request: pytest.FixtureRequest, sim: SimulatorServer
) -> AsyncIterator[AsyncTopview]:
    """The SDK's own aiohttp path, and httpx's ``send`` path (a user's ``http_client``)."""
    if request.param == "direct":
        async with make_client(sim) as client:
            yield client
    else:
        async with httpx.AsyncClient() as http, make_client(sim, http_client=http) as client:
            yield client


async def test_boards_group_results_and_are_renamed_and_deleted(
    any_client: AsyncTopview, sim: SimulatorServer
) -> None:
    client = any_client
    board = await client.boards.create(name="Campaign Q3")
    assert board.board_id
    renamed = await client.boards.update(board_id=board.board_id, name="Campaign Q4")
    assert renamed.name == "Campaign Q4"
    assert requests_to(sim, "/boards/update", "PUT")

    tasks = [
        await client.images.submit_text_to_image(prompt=f"Mug {n}", board_id=board.board_id)
        for n in range(3)
    ]
    for task in tasks:
        await task.wait()
    await client.voices.run_text_to_speech(
        voice_text="Not on the campaign board", voice_id=sim.simulator.catalog.voices[0]["voiceId"]
    )
    listed = [
        item async for item in client.boards.list_all_tasks(board_id=board.board_id, page_size=2)
    ]
    assert sorted(item.task_id for item in listed) == sorted(t.task_id for t in tasks)
    assert all(item.media_type == "image" and item.result for item in listed)
    detail = await client.boards.get(board_id=board.board_id)
    assert detail.task_count == 3

    await client.boards.delete_tasks(task_ids=[tasks[0].task_id])
    assert (await client.boards.get(board_id=board.board_id)).task_count == 2
    boards = [b async for b in client.boards.list_all()]
    assert {b.name for b in boards} == {"My First Board", "Campaign Q4"}
    assert [b.is_system_default for b in boards if b.name == "My First Board"] == [True]

    await client.boards.delete(board_id=board.board_id)
    assert requests_to(sim, "/boards/delete", "DELETE")
    with pytest.raises(NotFoundError):
        await client.boards.get(board_id=board.board_id)


async def test_m2v_tasks_are_listed_and_deleted_with_a_json_delete(
    any_client: AsyncTopview, sim: SimulatorServer
) -> None:
    client = any_client
    first = await client.marketing_videos.submit(product_link="https://shop.example/p/1")
    second = await client.marketing_videos.submit(product_link="https://shop.example/p/2")
    listed = [t.task_id async for t in client.marketing_videos.list_all_tasks(page_size=1)]
    assert listed == [second.task_id, first.task_id]  # newest first

    deleted = await client.marketing_videos.delete_tasks(task_ids=[first.task_id])
    assert deleted is not None
    assert not isinstance(deleted, bool)
    assert deleted.deleted_task_ids == [first.task_id]
    sent = requests_to(sim, "/v1/m2v/task/delete", "DELETE")
    assert sent
    assert b'"taskIds"' in sent[-1].body
    assert [t.task_id async for t in client.marketing_videos.list_all_tasks()] == [second.task_id]


async def test_a_cloned_voice_is_listed_used_and_deleted(
    any_client: AsyncTopview, tmp_path: Path
) -> None:
    client = any_client
    recording = tmp_path / "brand.mp3"
    recording.write_bytes(b"ID3\x04\x00" + b"\x01" * 4096)
    cloned = await client.voices.run_clone(origin_voice_file_id=recording, name="Brand")
    assert cloned.voice
    assert cloned.voice.voice_id
    voice_id = cloned.voice.voice_id
    custom = await client.voices.list(is_custom=True)
    assert [v.voice_id for v in custom.data or []] == [voice_id]

    speech = await client.voices.run_text_to_speech(voice_text="Hi", voice_id=voice_id)
    assert speech.voice
    assert speech.voice.demo_audio_url

    await client.voices.delete_clone(voice_id=voice_id)
    assert not (await client.voices.list(is_custom=True)).data
    with pytest.raises(NotFoundError):
        await client.voices.submit_text_to_speech(voice_text="Hi", voice_id=voice_id)


async def test_photo_templates_and_custom_avatars(
    any_client: AsyncTopview, sim: SimulatorServer, tmp_path: Path
) -> None:
    client = any_client
    categories = await client.photo_avatars.list_template_categories()
    created = await client.photo_avatars.create_template(
        template_image_file_id=write_png(tmp_path / "me.png"),
        template_name="Me",
        category_id=categories[0].category_id,
    )
    assert created.template_id
    templates = [t.template_id async for t in client.photo_avatars.list_all_templates()]
    assert created.template_id in templates
    await client.photo_avatars.delete_template(template_id=created.template_id)
    assert created.template_id not in [
        t.template_id async for t in client.photo_avatars.list_all_templates()
    ]

    # A public template's photo can be animated directly.
    public = sim.simulator.catalog.photo_templates[0]["templateImageFileId"]
    talking = await client.photo_avatars.run(
        mode="avatar4Fast",
        script_mode="text",
        template_image_file_id=public,
        tts_text="Hello",
        voice_id=sim.simulator.catalog.voices[0]["voiceId"],
    )
    assert talking.finished_video_url

    known = sim.simulator.catalog.custom_avatar_tasks[0]["taskId"]
    avatar = await client.ai_avatars.query_video_to_avatar(task_id=known)
    assert avatar.status == "success"
    assert avatar.ai_avatar
    assert avatar.ai_avatar.aiavatar_id


async def test_credit_and_space_reflect_what_the_account_did(
    any_client: AsyncTopview, sim: SimulatorServer, tmp_path: Path
) -> None:
    client = any_client
    start = (await client.account.credit()).remain_credit
    assert start is not None
    await client.uploads.upload(write_png(tmp_path / "a.png"))
    space = await client.account.space()
    assert space.used_space
    assert space.total_space
    assert space.used_space < space.total_space

    task = await client.images.submit_text_to_image(prompt="A mug", generate_count=4)
    await task.wait()
    logs = await client.account.credit_logs(task_type="text_to_image")
    assert [(e.task_id, e.cost_credit) for e in logs.data or []] == [(task.task_id, 2.0)]
    assert (await client.account.credit()).remain_credit == pytest.approx(start - 2.0)

    sim.simulator.ledger.credit = 3.0  # 2 of them spent: 1 left, the next 4 images cost 2
    with pytest.raises(InsufficientCreditError):
        await client.images.submit_text_to_image(prompt="Another mug", generate_count=4)
    assert (await client.account.credit()).remain_credit == pytest.approx(1.0)
    assert len(sim.simulator.tasks) == 1  # the refused submit created no task


async def test_cross_field_rules_refuse_before_any_upload(
    client: AsyncTopview, sim: SimulatorServer, tmp_path: Path
) -> None:
    photo = write_png(tmp_path / "me.png")
    with pytest.raises(InvalidInputError, match="voice_id"):
        await client.photo_avatars.submit(
            mode="avatar4", script_mode="text", template_image_file_id=photo, tts_text="Hi"
        )
    with pytest.raises(InvalidInputError, match="first_frame_file_id"):
        await client.videos.submit_image_to_video(model="Veo 3.1", prompt="No image given")
    assert not sim.simulator.requests  # nothing sent: no upload, no submit
