from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import anyio
import pytest
from _task_fakes import TASK_KINDS, FakeClient, FakeClock, FakeUploadsMany, SubmitBody, SubmitResult

from topview_async.lib.polling import PollPolicy, PollScheduler
from topview_async.lib.tasks import (
    Task,
    TaskFailedError,
    TaskState,
    TaskTimeoutError,
    TaskUpdate,
    get_task,
    submit_task,
)

pytestmark = pytest.mark.anyio

THOUSAND = 1000
NO_JITTER = PollPolicy(wait_jitter=0.0, learn=False)


async def _submit(client: FakeClient, kind: str = "video_avatar", **body: Any) -> Task[Any]:
    spec = TASK_KINDS[kind]
    return await submit_task(
        client,
        spec.submit_operation,
        body=body,
        body_model=SubmitBody,
        result_type=SubmitResult,
    )


def _script(client: FakeClient, task: Task[Any], *steps: dict[str, Any]) -> None:
    client._pipeline.script[task.task_id] = list(steps)


async def test_wait_returns_typed_result_on_success(client: FakeClient, clock: FakeClock) -> None:
    task = await _submit(client)
    _script(client, task, {"status": "init"}, {"status": "running"}, {"status": "success"})

    result = await task.wait(poll=NO_JITTER)

    assert result.status == "success"
    assert type(result).__name__ == "StatusResult"
    assert task.done
    assert task.state is TaskState.SUCCEEDED
    assert client._pipeline.queries[task.task_id] == 3
    # Geometric backoff from the submit: 2 s, then 3 s, then 4.5 s.
    assert clock.sleeps == [2.0, 3.0, 4.5]


async def test_handle_knows_kind_id_query_and_submit_result(client: FakeClient) -> None:
    client._pipeline.submit_extra = {"noticeUuid": "n-1"}
    task = await _submit(client)
    assert task.kind == "video_avatar"
    assert task.query_operation is TASK_KINDS["video_avatar"].query_operation
    assert task.task_id == task.submit_result.task_id  # type: ignore[attr-defined]
    assert task.notice_uuid == "n-1"
    assert task.status is None
    assert task.result is None


async def test_failure_raises_with_task_id_and_error_msg(client: FakeClient) -> None:
    task = await _submit(client)
    _script(client, task, {"status": "running"}, {"status": "failed", "errorMsg": "no face found"})

    with pytest.raises(TaskFailedError) as caught:
        await task.wait(poll=NO_JITTER)

    error = caught.value
    assert error.task_id == task.task_id
    assert error.kind == "video_avatar"
    assert error.error_msg == "no face found"
    assert error.status == "failed"
    assert "no face found" in str(error)
    # A finished handle answers again without another query.
    queries = client._pipeline.total_queries
    with pytest.raises(TaskFailedError):
        await task.wait()
    assert client._pipeline.total_queries == queries


async def test_deadline_raises_and_wait_again_succeeds(
    client: FakeClient, clock: FakeClock
) -> None:
    task = await _submit(client)
    _script(client, task, *([{"status": "running"}] * 6), {"status": "success"})
    start = clock.now

    with pytest.raises(TaskTimeoutError) as caught:
        await task.wait(poll=PollPolicy(wait_jitter=0.0, timeout=10.0, learn=False))

    assert caught.value.task_id == task.task_id
    assert caught.value.last_status == "running"
    assert caught.value.task is task
    assert clock.now - start == pytest.approx(10.0)  # the last look is at the deadline
    assert not task.done

    result = await task.wait(poll=NO_JITTER)
    assert result.status == "success"


async def test_cancelled_wait_leaves_the_handle_usable(client: FakeClient) -> None:
    task = await _submit(client)
    _script(client, task, {"status": "running"}, {"status": "running"}, {"status": "success"})
    seen: list[TaskUpdate[Any]] = []

    with anyio.CancelScope() as scope:

        def cancel_on_first(update: TaskUpdate[Any]) -> None:
            seen.append(update)
            scope.cancel()

        await task.wait(poll=NO_JITTER, on_progress=cancel_on_first)
    assert scope.cancelled_caught
    assert not task.done
    assert client._pipeline.in_flight == 0

    result = await task.wait(poll=NO_JITTER)
    assert result.status == "success"
    assert [u.status for u in seen] == ["running"]


async def test_cancel_during_query_leaves_the_handle_usable(client: FakeClient) -> None:
    task = await _submit(client)
    _script(client, task, {"status": "success"})
    with anyio.CancelScope() as scope:
        scope.cancel()
        await task.wait(poll=NO_JITTER)
    assert not task.done
    assert client._pipeline.in_flight == 0
    assert (await task.wait(poll=NO_JITTER)).status == "success"


async def test_progress_callback_sync_and_async_on_each_change(client: FakeClient) -> None:
    steps = [{"status": "init"}, {"status": "init"}, {"status": "running"}, {"status": "success"}]
    sync_seen: list[tuple[str | None, TaskState]] = []
    async_seen: list[tuple[str | None, TaskState]] = []

    def on_sync(update: TaskUpdate[Any]) -> None:
        sync_seen.append((update.status, update.state))

    async def on_async(update: TaskUpdate[Any]) -> None:
        await anyio.lowlevel.checkpoint()
        async_seen.append((update.status, update.state))

    for callback in (on_sync, on_async):
        task = await _submit(client)
        _script(client, task, *steps)
        await task.wait(poll=NO_JITTER, on_progress=callback)

    expected = [
        ("init", TaskState.RUNNING),
        ("running", TaskState.RUNNING),
        ("success", TaskState.SUCCEEDED),
    ]
    assert sync_seen == expected
    assert async_seen == expected


async def test_watch_iterates_status_changes(client: FakeClient) -> None:
    task = await _submit(client)
    _script(client, task, {"status": "init"}, {"status": "running"}, {"status": "fail"})

    updates = [update async for update in task.watch(poll=NO_JITTER)]

    assert [(u.status, u.state) for u in updates] == [
        ("init", TaskState.RUNNING),
        ("running", TaskState.RUNNING),
        ("fail", TaskState.FAILED),
    ]
    assert all(u.task_id == task.task_id and u.kind == "video_avatar" for u in updates)
    assert updates[-1].result.status == "fail"
    # Watching a finished task yields its final state once.
    assert [u.state async for u in task.watch()] == [TaskState.FAILED]


async def test_task_status_field_of_product_avatar_replace(client: FakeClient) -> None:
    task = await _submit(client, "product_avatar_image_replace")
    _script(
        client,
        task,
        {"taskStatus": "running"},
        {"taskStatus": "success", "productReplaceResult": [{"key": "k1"}]},
    )
    result = await task.wait(poll=NO_JITTER)
    assert result.product_replace_result[0].key == "k1"


async def test_m2v_export_waits_for_its_script(client: FakeClient) -> None:
    task = await _submit(client, "m2v_export", taskId="t" * 32, scriptId=2)
    assert task.script_id == 2
    other = {"scriptId": 1, "status": "success", "videoUrl": "https://x/1.mp4"}
    _script(
        client,
        task,
        {"status": "success", "exportVideos": [other]},
        {"status": "success", "exportVideos": [other, {"scriptId": 2, "status": "running"}]},
        {"status": "success", "exportVideos": [other, {"scriptId": 2, "status": "success"}]},
        {
            "status": "success",
            "exportVideos": [other, {"scriptId": 2, "status": "success", "videoUrl": "u2"}],
        },
    )
    result = await task.wait(poll=NO_JITTER)
    assert client._pipeline.queries[task.task_id] == 4
    assert result.export_videos[1].video_url == "u2"


async def test_m2v_export_defaults_to_script_zero(client: FakeClient) -> None:
    task = await _submit(client, "m2v_export", taskId="t" * 32, scriptId=None)
    assert task.script_id == 0


async def test_rebuild_from_id_polls_at_once_and_waits(
    client: FakeClient, clock: FakeClock
) -> None:
    task = Task.from_id(client, "video_avatar", "a" * 32)
    assert task.submit_result is None
    assert task.notice_uuid is None
    _script(client, task, {"status": "running"}, {"status": "success"})

    result = await task.wait(poll=NO_JITTER)

    assert result.status == "success"
    assert clock.sleeps == [3.0]  # first look at once, then the backoff after one poll
    again = get_task(client, "m2v_export", "b" * 32, script_id=4)
    assert (again.kind, again.script_id) == ("m2v_export", 4)
    with pytest.raises(ValueError, match="unknown task kind"):
        get_task(client, "nope", "c" * 32)


async def test_refresh_queries_once(client: FakeClient) -> None:
    task = await _submit(client)
    _script(client, task, {"status": "running"}, {"status": "success"})
    assert (await task.refresh()).status == "running"
    assert task.status == "running"
    assert (await task.refresh()).status == "success"
    assert task.done
    assert client._pipeline.total_queries == 2


async def test_submit_uploads_local_files_and_keeps_file_ids(
    client: FakeClient, tmp_path: Path
) -> None:
    file_id = "0123456789abcdef0123456789abcdef"
    spec = TASK_KINDS["m2v"]
    (tmp_path / "shots").mkdir()
    for name in ("a.mp4", "shots/b.PNG", "logo.jpg"):
        (tmp_path / name).write_bytes(b"local bytes")
    b_png, logo = str(tmp_path / "shots/b.PNG"), str(tmp_path / "logo.jpg")
    await submit_task(
        client,
        spec.submit_operation,
        body={
            "fileIds": [tmp_path / "a.mp4", file_id, b_png],
            "logoFileId": logo,
            "endcardFileId": file_id,
            "productName": "x.png",  # not a file field: left alone
        },
        body_model=SubmitBody,
        file_fields=("fileIds", "logoFileId", "endcardFileId", "musicFileId"),
        result_type=SubmitResult,
    )
    sent = client._pipeline.submits[0]
    assert client.uploads.uploaded == [tmp_path / "a.mp4", b_png, logo]
    assert sent["fileIds"] == [f"{1:032x}", file_id, f"{2:032x}"]
    assert sent["logoFileId"] == f"{3:032x}"
    assert sent["endcardFileId"] == file_id
    assert sent["productName"] == "x.png"


async def test_submit_uploads_through_upload_many_when_present(
    client: FakeClient, tmp_path: Path
) -> None:
    client.uploads = FakeUploadsMany()
    spec = TASK_KINDS["m2v"]
    for name in ("a.mov", "b.webp", "c.bmp"):
        (tmp_path / name).write_bytes(b"local bytes")
    a_mov, b_webp, c_bmp = str(tmp_path / "a.mov"), str(tmp_path / "b.webp"), tmp_path / "c.bmp"
    await submit_task(
        client,
        spec.submit_operation,
        body={"fileIds": [a_mov, b_webp], "logoFileId": c_bmp},
        body_model=SubmitBody,
        file_fields=("fileIds", "logoFileId"),
        result_type=SubmitResult,
    )
    assert client.uploads.batches == [[a_mov, b_webp, c_bmp]]
    assert client._pipeline.submits[0]["logoFileId"] == f"{3:032x}"


async def test_submit_without_uploads_sends_nothing_to_upload(client: FakeClient) -> None:
    await _submit(client, fileIds=None)
    assert client.uploads.uploaded == []


async def test_thousand_waits_on_asyncio_with_fake_sleep(client: FakeClient) -> None:
    client._poll_scheduler = PollScheduler(clock=client._poll_scheduler.clock, max_in_flight=16)  # type: ignore[attr-defined]
    tasks = [await _submit(client) for _ in range(THOUSAND)]
    for task in tasks:
        _script(client, task, {"status": "running"}, {"status": "success"})

    async with anyio.create_task_group() as group:
        for task in tasks:
            # This fake clock advances on every sleep, so it runs far ahead: no deadline.
            group.start_soon(partial(task.wait, poll=PollPolicy(timeout=None)))

    assert all(task.done for task in tasks)
    assert client._pipeline.max_in_flight == 16
