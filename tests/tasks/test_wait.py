from __future__ import annotations

import dataclasses
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from _task_fakes import (
    TASK_KINDS,
    FakeClock,
    FileIdsBody,
    SubmitBody,
    SubmitResult,
    make_client,
    server_of,
)

from topview_async import (
    AsyncTopview,
    AuthenticationError,
    HTTPStatusError,
    InvalidFileError,
    InvalidInputError,
    NotFoundError,
)
from topview_async._generated.operations import SUBMIT_M2V_TASK
from topview_async._operation import Operation
from topview_async.lib.polling import PollPolicy, PollScheduler
from topview_async.lib.tasks import (
    Task,
    TaskFailedError,
    TaskState,
    TaskTimeoutError,
    TaskUpdate,
    get_task,
    submit_task,
    wait_all,
)

pytestmark = pytest.mark.anyio

THOUSAND = 1000
NO_JITTER = PollPolicy(wait_jitter=0.0, learn=False)


async def _submit(client: AsyncTopview, kind: str = "video_avatar", **body: Any) -> Task[Any]:
    spec = TASK_KINDS[kind]
    return await submit_task(
        client,
        spec.submit_operation,
        body=body,
        body_model=SubmitBody,
        result_type=SubmitResult,
    )


def _script(client: AsyncTopview, task: Task[Any], *steps: dict[str, Any]) -> None:
    server_of(client).script[task.task_id] = list(steps)


async def test_wait_returns_typed_result_on_success(client: AsyncTopview, clock: FakeClock) -> None:
    task = await _submit(client)
    _script(client, task, {"status": "init"}, {"status": "running"}, {"status": "success"})

    result = await task.wait(poll=NO_JITTER)

    assert result.status == "success"
    assert type(result).__name__ == "StatusResult"
    assert task.done
    assert task.state is TaskState.SUCCEEDED
    assert server_of(client).queries[task.task_id] == 3
    # Geometric backoff from the submit: 2 s, then 3 s, then 4.5 s.
    assert clock.sleeps == [2.0, 3.0, 4.5]


async def test_handle_knows_kind_id_query_and_submit_result(client: AsyncTopview) -> None:
    server_of(client).submit_extra = {"noticeUuid": "n-1"}
    task = await _submit(client)
    assert task.kind == "video_avatar"
    assert task.query_operation is TASK_KINDS["video_avatar"].query_operation
    assert task.task_id == task.submit_result.task_id  # type: ignore[attr-defined]
    assert task.notice_uuid == "n-1"
    assert task.status is None
    assert task.result is None


async def test_failure_raises_with_task_id_and_error_msg(client: AsyncTopview) -> None:
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
    queries = server_of(client).total_queries
    with pytest.raises(TaskFailedError):
        await task.wait()
    assert server_of(client).total_queries == queries


async def test_deadline_raises_and_wait_again_succeeds(
    client: AsyncTopview, clock: FakeClock
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


async def test_cancelled_wait_leaves_the_handle_usable(client: AsyncTopview) -> None:
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
    assert server_of(client).in_flight == 0

    result = await task.wait(poll=NO_JITTER)
    assert result.status == "success"
    assert [u.status for u in seen] == ["running"]


async def test_cancel_during_query_leaves_the_handle_usable(client: AsyncTopview) -> None:
    task = await _submit(client)
    _script(client, task, {"status": "success"})
    with anyio.CancelScope() as scope:
        scope.cancel()
        await task.wait(poll=NO_JITTER)
    assert not task.done
    assert server_of(client).in_flight == 0
    assert (await task.wait(poll=NO_JITTER)).status == "success"


async def test_progress_callback_sync_and_async_on_each_change(client: AsyncTopview) -> None:
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


async def test_watch_iterates_status_changes(client: AsyncTopview) -> None:
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


async def test_task_status_field_of_product_avatar_replace(client: AsyncTopview) -> None:
    task = await _submit(client, "product_avatar_image_replace")
    _script(
        client,
        task,
        {"taskStatus": "running"},
        {"taskStatus": "success", "productReplaceResult": [{"key": "k1"}]},
    )
    result = await task.wait(poll=NO_JITTER)
    assert result.product_replace_result[0].key == "k1"


async def test_m2v_export_waits_for_its_script(client: AsyncTopview) -> None:
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
    assert server_of(client).queries[task.task_id] == 4
    assert result.export_videos[1].video_url == "u2"


async def test_m2v_export_defaults_to_script_zero(client: AsyncTopview) -> None:
    task = await _submit(client, "m2v_export", taskId="t" * 32, scriptId=None)
    assert task.script_id == 0


async def test_rebuild_from_id_polls_at_once_and_waits(
    client: AsyncTopview, clock: FakeClock
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


async def test_refresh_queries_once(client: AsyncTopview) -> None:
    task = await _submit(client)
    _script(client, task, {"status": "running"}, {"status": "success"})
    assert (await task.refresh()).status == "running"
    assert task.status == "running"
    assert (await task.refresh()).status == "success"
    assert task.done
    assert server_of(client).total_queries == 2


def _with_m2v_file_fields(operation: Operation) -> Operation:
    """The fake submit with the real M2V submit's file fields (the spec's x-topview-file)."""
    return dataclasses.replace(operation, file_fields=SUBMIT_M2V_TASK.file_fields)


async def test_submit_uploads_local_files_and_keeps_file_ids(
    client: AsyncTopview, tmp_path: Path
) -> None:
    file_id = "0123456789abcdef0123456789abcdef"
    spec = TASK_KINDS["m2v"]
    (tmp_path / "shots").mkdir()
    for name in ("a.mp4", "shots/b.PNG", "logo.jpg"):
        (tmp_path / name).write_bytes(name.encode())
    b_png, logo = str(tmp_path / "shots/b.PNG"), str(tmp_path / "logo.jpg")
    await submit_task(
        client,
        _with_m2v_file_fields(spec.submit_operation),
        body={
            "fileIds": [tmp_path / "a.mp4", file_id, b_png],
            "logoFileId": logo,
            "endcardFileId": file_id,
            "productName": "x.png",  # not a file field: left alone
        },
        body_model=SubmitBody,
        result_type=SubmitResult,
    )
    server = server_of(client)
    sent = server.submits[0]
    assert len(server.stored) == 3  # one upload each, through the real upload flow
    assert [server.stored.get(i, i) for i in sent["fileIds"]] == [b"a.mp4", file_id, b"shots/b.PNG"]
    assert server.stored[sent["logoFileId"]] == b"logo.jpg"
    assert sent["endcardFileId"] == file_id
    assert sent["productName"] == "x.png"


@pytest.mark.parametrize(
    "url", ["https://cdn.example.com/shoe.png", "http://cdn.example.com/a/b.mp4", "s3://b/k.jpg"]
)
async def test_a_url_in_a_file_field_is_refused_naming_the_argument(
    client: AsyncTopview, url: str
) -> None:
    # Issue 11.7: not "https:/cdn.example.com/shoe.png: file does not exist".
    spec = TASK_KINDS["m2v"]
    with pytest.raises(InvalidInputError) as caught:
        await submit_task(
            client,
            _with_m2v_file_fields(spec.submit_operation),
            body={"fileIds": ["0" * 32, url]},
            body_model=FileIdsBody,
            result_type=SubmitResult,
        )
    message = str(caught.value)
    assert message.startswith("file_ids: ")
    assert url in message  # not mangled to "https:/..."
    assert "Topview file id or a local path" in message
    assert not isinstance(caught.value, InvalidFileError)
    assert server_of(client).submits == []
    assert server_of(client).credentials == 0


async def test_submit_without_uploads_sends_nothing_to_upload(client: AsyncTopview) -> None:
    await _submit(client, fileIds=None)
    assert server_of(client).credentials == 0
    assert server_of(client).stored == {}


async def test_thousand_waits_on_asyncio_with_fake_sleep(client: AsyncTopview) -> None:
    client.poll_scheduler = PollScheduler(clock=client.poll_scheduler.clock, max_in_flight=16)
    tasks = [await _submit(client) for _ in range(THOUSAND)]
    for task in tasks:
        _script(client, task, {"status": "running"}, {"status": "success"})

    async with anyio.create_task_group() as group:
        for task in tasks:
            # This fake clock advances on every sleep, so it runs far ahead: no deadline.
            group.start_soon(partial(task.wait, poll=PollPolicy(timeout=None)))

    assert all(task.done for task in tasks)
    assert server_of(client).max_in_flight == 16


# -- transient query failures (issue 11.2) -------------------------------------------------


def _bad_gateway() -> httpx.Response:
    return httpx.Response(502, text="<html>bad gateway</html>")


def _dropped() -> httpx.Response:
    raise httpx.RemoteProtocolError("server disconnected without sending a response")


async def test_wait_rides_out_a_run_of_502s_and_dropped_connections(
    client: AsyncTopview, clock: FakeClock
) -> None:
    task = await _submit(client)
    # Nine failed queries in a row (three waits' worth of pipeline retries), then it finishes.
    failures = [_bad_gateway] * 6 + [_dropped] * 3
    _script(client, task, {"status": "running"}, *failures, {"status": "success"})  # type: ignore[arg-type]
    started = clock.now

    result = await task.wait(poll=PollPolicy(wait_jitter=0.0, learn=False, timeout=600.0))

    assert result.status == "success"
    assert server_of(client).queries[task.task_id] == 11
    assert clock.now - started < 600.0


async def test_wait_on_constant_502s_lasts_until_its_own_deadline(
    client: AsyncTopview, clock: FakeClock
) -> None:
    task = await _submit(client)
    _script(client, task, _bad_gateway)  # type: ignore[arg-type]
    started = clock.now

    with pytest.raises(TaskTimeoutError) as caught:
        await task.wait(poll=PollPolicy(wait_jitter=0.0, learn=False, timeout=600.0))

    # Not after 0.4 s: the wait kept trying, with backoff, until its 600 s were up (the last
    # query's own pipeline retries may run a few seconds past it).
    assert 600.0 <= clock.now - started <= 600.0 + 2 * client.retry.wait_max
    assert isinstance(caught.value.__cause__, HTTPStatusError)
    assert max(clock.sleeps) <= client.retry.wait_max + 1e-9
    assert server_of(client).queries[task.task_id] < 600  # backed off, not hammering


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [(200, "401", AuthenticationError), (200, "4004", NotFoundError), (400, None, HTTPStatusError)],
)
async def test_a_permanent_query_error_ends_the_wait_at_once(
    client: AsyncTopview, clock: FakeClock, status: int, code: str | None, error: type[Exception]
) -> None:
    task = await _submit(client)

    def answer() -> httpx.Response:
        if code is None:
            return httpx.Response(status, text="bad request")
        return httpx.Response(status, json={"code": code, "message": "no", "result": None})

    _script(client, task, answer)  # type: ignore[arg-type]

    with pytest.raises(error):
        await task.wait(poll=NO_JITTER)
    assert server_of(client).queries[task.task_id] == 1


async def test_retry_none_means_a_transient_query_error_ends_the_wait(clock: FakeClock) -> None:
    client = make_client(retry=None, scheduler=PollScheduler(clock=clock, rate=None))
    task = await _submit(client)
    _script(client, task, _bad_gateway)  # type: ignore[arg-type]

    with pytest.raises(HTTPStatusError):
        await task.wait(poll=NO_JITTER)
    assert server_of(client).queries[task.task_id] == 1


async def test_wait_all_backs_off_one_failing_task_and_finishes_the_others(
    client: AsyncTopview, clock: FakeClock
) -> None:
    flaky, steady = await _submit(client), await _submit(client)
    _script(client, flaky, *[_bad_gateway] * 5, {"status": "success"})  # type: ignore[arg-type]
    _script(client, steady, {"status": "running"}, {"status": "success"})

    results = await wait_all([flaky, steady], poll=NO_JITTER)

    assert [r.status for r in results] == ["success", "success"]  # type: ignore[union-attr]
    assert server_of(client).queries[flaky.task_id] == 6
