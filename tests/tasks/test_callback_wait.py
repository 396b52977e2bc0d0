"""``Task.wait()`` racing a notice hub against safety-net polling (logic, with fakes).

The end-to-end version, with real callbacks over loopback HTTP, is
``tests/webhooks/test_callback_waits.py``.
"""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Iterator
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from _task_fakes import (
    TASK_KINDS,
    FakeClock,
    M2vResult,
    StatusResult,
    SubmitBody,
    make_client,
    server_of,
)
from _task_fakes import SubmitResult as FakeSubmitResult

from topview_async import AsyncTopview
from topview_async.lib.polling import PollPolicy
from topview_async.lib.tasks import (
    SAFETY_NET_WAIT_MAX,
    SAFETY_NET_WAIT_MIN,
    Task,
    TaskFailedError,
    TaskState,
    TaskTimeoutError,
    TaskUpdate,
    get_task,
    safety_net_policy,
    submit_task,
)
from topview_async.testing import set_testing
from topview_async.webhooks import NoticeHub, NoticeReceiver, TaskNotice, notice_hub, parse_notice

pytestmark = pytest.mark.anyio

NO_JITTER = PollPolicy(wait_jitter=0.0, learn=False)
NOTICE_URL = "https://backend.example/topview/notice?token=secret-0123456789abcdef"


async def _submit(client: AsyncTopview, kind: str = "video_avatar", **body: Any) -> Task[Any]:
    return await submit_task(
        client,
        TASK_KINDS[kind].submit_operation,
        body=body,
        body_model=SubmitBody,
        result_type=FakeSubmitResult,
    )


def _script(client: AsyncTopview, task: Task[Any], *steps: dict[str, Any]) -> None:
    server_of(client).script[task.task_id] = list(steps)


def _notice(
    task: Task[Any], uuid: str = "n-1", *, result: object = None, verified: bool = False
) -> TaskNotice:
    body = {"uuid": uuid, "bizType": None, "taskId": task.task_id, "status": "success"}
    return dataclasses.replace(parse_notice(body), result=result, verified=verified)


_RECEIVERS: list[NoticeReceiver] = []  # kept alive: a hub only counts live receivers


def _receiving_hub(client: AsyncTopview) -> NoticeHub:
    """The client's hub, fed by a receiver bound to the client (``client=``)."""
    _RECEIVERS.append(NoticeReceiver(secret="secret-0123456789abcdef", client=client))
    return client.notice_hub


@pytest.fixture
def blocking_sleep(clock: FakeClock) -> Iterator[list[float]]:
    """Every SDK sleep blocks forever (the safety net never comes); returns the requests."""
    requested: list[float] = []

    async def sleep(seconds: float) -> None:
        requested.append(seconds)
        await anyio.sleep_forever()

    with set_testing(True, sleep=sleep):
        yield requested


async def _until(predicate: Any) -> None:
    with anyio.fail_after(5):
        while not predicate():
            await anyio.lowlevel.checkpoint()


# -- which waits use callbacks ---------------------------------------------------------------


async def test_submit_remembers_that_a_notice_url_was_given_but_not_the_url(
    client: AsyncTopview,
) -> None:
    with_url = await _submit(client, noticeUrl=NOTICE_URL)
    without = await _submit(client, noticeUrl=None)

    assert with_url._notice_requested
    assert not without._notice_requested
    # The URL holds the webhook secret: the handle keeps only the fact that one was given.
    assert not any(NOTICE_URL in repr(getattr(with_url, slot, None)) for slot in Task.__slots__)


async def test_without_a_receiver_a_notice_url_task_polls_as_usual(
    client: AsyncTopview, clock: FakeClock
) -> None:
    notice_hub(client)  # a hub, but nothing publishes to it
    task = await _submit(client, noticeUrl=NOTICE_URL)
    _script(client, task, {"status": "running"}, {"status": "success"})

    await task.wait(poll=NO_JITTER)

    assert clock.sleeps == [2.0, 3.0]  # the normal schedule, not the safety net's


async def test_a_receiver_merely_constructed_does_not_switch_waits_to_callbacks(
    client: AsyncTopview, clock: FakeClock
) -> None:
    # Issue 10.6: with several workers, only one gets a task's callback. A receiver that is
    # not bound to this client (another client's, or one given just the hub) must not make
    # this client's waits rely on callbacks, nor may one that no longer exists.
    other = make_client()
    kept = [
        NoticeReceiver(secret="secret-0123456789abcdef", client=other),
        NoticeReceiver(secret="secret-0123456789abcdef", hub=client.notice_hub, topview_uid="u"),
    ]
    NoticeReceiver(secret="secret-0123456789abcdef", client=client)  # dropped at once
    gc.collect()
    task = await _submit(client, noticeUrl=NOTICE_URL)
    _script(client, task, {"status": "running"}, {"status": "success"})

    await task.wait(poll=NO_JITTER)

    assert not client.notice_hub.fed
    assert other.notice_hub.fed
    assert clock.sleeps == [2.0, 3.0]  # the normal schedule, not the safety net's 30 s
    assert len(kept) == 2


async def test_callback_false_polls_even_with_a_receiver(
    client: AsyncTopview, clock: FakeClock
) -> None:
    _receiving_hub(client)
    task = await _submit(client, noticeUrl=NOTICE_URL)
    _script(client, task, {"status": "success"})

    await task.wait(poll=NO_JITTER, callback=False)

    assert clock.sleeps == [2.0]


def test_safety_net_policy_slows_polling_and_keeps_the_deadline() -> None:
    policy = safety_net_policy(PollPolicy(wait_initial=2.0, wait_min=1.0, timeout=99.0))

    assert policy.wait_initial == SAFETY_NET_WAIT_MIN
    assert policy.wait_min == SAFETY_NET_WAIT_MIN
    assert policy.wait_max == SAFETY_NET_WAIT_MAX
    assert policy.timeout == 99.0
    slow = PollPolicy(wait_initial=60.0, wait_min=45.0, wait_max=600.0)
    assert safety_net_policy(slow) == slow


# -- the race ----------------------------------------------------------------------------------


async def test_a_notice_during_the_wait_ends_it_with_one_query(
    client: AsyncTopview, clock: FakeClock, blocking_sleep: list[float]
) -> None:
    hub = _receiving_hub(client)
    task = await _submit(client, noticeUrl=NOTICE_URL)
    _script(client, task, {"status": "success"})
    results: list[Any] = []

    async with anyio.create_task_group() as group:

        async def waiter() -> None:
            results.append(await task.wait(poll=NO_JITTER))

        group.start_soon(waiter)
        await _until(lambda: hub.waiting == 1)
        hub.publish(_notice(task))  # not verified: the wait asks the API itself

    assert results[0].status == "success"
    assert server_of(client).queries[task.task_id] == 1
    assert blocking_sleep == [SAFETY_NET_WAIT_MIN]  # the safety net was armed, never fired
    assert hub.waiting == 0


async def test_a_verified_notice_is_used_without_a_query(
    client: AsyncTopview, clock: FakeClock
) -> None:
    hub = _receiving_hub(client)
    task = await _submit(client, noticeUrl=NOTICE_URL)
    verified = StatusResult.model_validate({"taskId": task.task_id, "status": "success"})
    hub.publish(_notice(task, result=verified, verified=True))  # came before the wait
    updates: list[TaskUpdate[Any]] = []

    result = await task.wait(on_progress=updates.append)

    assert result is verified
    assert server_of(client).total_queries == 0
    assert clock.sleeps == []
    assert [u.state for u in updates] == [TaskState.SUCCEEDED]


async def test_an_unverified_body_is_trusted_only_when_asked(
    client: AsyncTopview, clock: FakeClock
) -> None:
    hub = _receiving_hub(client)
    trusting = await _submit(client, noticeUrl=NOTICE_URL)
    posted = StatusResult.model_validate({"taskId": trusting.task_id, "status": "success"})
    hub.publish(_notice(trusting, result=posted))

    assert await trusting.wait(verify_with_api=False) is posted
    assert server_of(client).total_queries == 0

    careful = await _submit(client, noticeUrl=NOTICE_URL)
    _script(client, careful, {"status": "running"}, {"status": "success"})
    hub.publish(_notice(careful, "n-2", result=posted))
    # The API says "running": the posted "success" is not believed, and the wait goes on
    # (to the safety net, which the fake clock runs at once).
    result = await careful.wait()
    assert result.status == "success"
    assert server_of(client).queries[careful.task_id] == 2


async def test_a_failure_notice_raises_task_failed(client: AsyncTopview) -> None:
    hub = _receiving_hub(client)
    task = await _submit(client, noticeUrl=NOTICE_URL)
    failed = StatusResult.model_validate(
        {"taskId": task.task_id, "status": "fail", "errorMsg": "no face"}
    )
    hub.publish(_notice(task, result=failed, verified=True))

    with pytest.raises(TaskFailedError) as caught:
        await task.wait()

    assert caught.value.error_msg == "no face"


async def test_an_export_notice_for_another_script_only_triggers_a_refresh(
    client: AsyncTopview, blocking_sleep: list[float]
) -> None:
    hub = _receiving_hub(client)
    task = get_task(client, "m2v_export", "a" * 32, script_id=7)

    def m2v(*done: int) -> dict[str, Any]:
        videos = [{"scriptId": s, "status": "success", "videoUrl": f"https://v/{s}"} for s in done]
        return {"taskId": task.task_id, "status": "running", "exportVideos": videos}

    _script(client, task, m2v(), m2v(3), m2v(3, 7))
    result: list[Any] = []

    async with anyio.create_task_group() as group:

        async def waiter() -> None:
            result.append(await task.wait(callback=True))

        group.start_soon(waiter)
        # A rebuilt handle looks once at once, then arms the safety net.
        await _until(lambda: server_of(client).queries[task.task_id] == 1 and hub.waiting == 1)
        # Even trusted blindly, an export notice does not say which script it is about.
        hub.publish(_notice(task, "export-3", result=M2vResult.model_validate(m2v(3))))
        await _until(lambda: server_of(client).queries[task.task_id] == 2 and hub.waiting == 1)
        assert not task.done
        hub.publish(_notice(task, "export-7"))

    assert task.state is TaskState.SUCCEEDED
    assert server_of(client).queries[task.task_id] == 3
    assert isinstance(result[0], M2vResult)


async def test_a_lost_callback_is_caught_by_the_safety_net(
    client: AsyncTopview, clock: FakeClock
) -> None:
    _receiving_hub(client)
    task = await _submit(client, noticeUrl=NOTICE_URL)
    _script(client, task, {"status": "running"}, {"status": "success"})

    result = await task.wait(poll=NO_JITTER)

    assert result.status == "success"
    assert clock.sleeps == [30.0, 45.0]  # the safety net: 30 s, then growing
    assert notice_hub(client).waiting == 0  # the listener was cancelled with the race


async def test_the_deadline_still_applies_and_the_handle_stays_usable(
    client: AsyncTopview, clock: FakeClock
) -> None:
    hub = _receiving_hub(client)
    task = await _submit(client, noticeUrl=NOTICE_URL)
    _script(client, task, {"status": "running"})
    policy = PollPolicy(wait_jitter=0.0, learn=False, timeout=100.0)

    with pytest.raises(TaskTimeoutError) as caught:
        await task.wait(poll=policy)

    assert caught.value.timeout == 100.0
    assert not task.done
    assert hub.waiting == 0
    hub.publish(_notice(task, result=StatusResult(taskId=task.task_id, status="success")))
    _script(client, task, {"status": "success"})
    assert (await task.wait(poll=policy)).status == "success"


async def test_a_callback_finish_teaches_the_scheduler_the_arrival_time(
    client: AsyncTopview, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = _receiving_hub(client)
    task = await _submit(client, noticeUrl=NOTICE_URL)
    _script(client, task, {"status": "success"})
    recorded: list[tuple[str, float]] = []
    scheduler = client.poll_scheduler
    monkeypatch.setattr(scheduler, "record_duration", lambda k, s: recorded.append((k, s)))

    async def sleep(seconds: float) -> None:
        clock.now += 12.0  # the callback lands 12 s after the submit, mid-sleep
        hub.publish(_notice(task))
        await anyio.sleep_forever()

    with set_testing(True, sleep=sleep):
        await task.wait(poll=NO_JITTER)

    # Not the midpoint between submit and now (6 s): the callback marks the end.
    assert recorded == [("video_avatar", 12.0)]
