"""``Task.wait()`` racing a notice hub against safety-net polling (logic, with fakes).

The end-to-end version, with real callbacks over loopback HTTP, is
``tests/webhooks/test_callback_waits.py``.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import math
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
    SAFETY_NET_FIRST_MAX,
    SAFETY_NET_WAIT_MAX,
    SAFETY_NET_WAIT_MIN,
    Task,
    TaskFailedError,
    TaskState,
    TaskTimeoutError,
    TaskUpdate,
    get_task,
    safety_net_first_poll_age,
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
    # The safety net was armed for its first poll (nothing learned yet: 120 s), never fired.
    assert blocking_sleep == [SAFETY_NET_WAIT_MAX]
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
    # The safety net: first at 120 s (nothing learned about the kind yet), then 45 s later
    # (its cadence: 30 s times 1.5 per poll made, up to 120 s).
    assert clock.sleeps == [SAFETY_NET_WAIT_MAX, 45.0]
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


# -- what the safety net costs: callbacks on time, lost ones -----------------------------------

SECRET = "secret-0123456789abcdef"
LEARNED = PollPolicy(wait_jitter=0.0, timeout=None)  # learns, no jitter, no deadline


class Topview:
    """The fake clock's sleep, plus Topview's side: each task answers ``running`` until its end
    (its age on the fake clock), then ``success``, and its callback, unless lost, is posted
    into a real receiver bound to the client (which re-reads the task: one query) at the end.
    """

    def __init__(self, client: AsyncTopview, clock: FakeClock) -> None:
        self.client = client
        self.clock = clock
        self.receiver = NoticeReceiver(secret=SECRET, client=client)
        self.callbacks: dict[str, float] = {}  # task id -> when its callback is posted
        self.on_sleep: list[Any] = []  # called before each sleep (to learn meanwhile)
        self.replies: list[int] = []

    def finishes(self, task: Task[Any], age: float, *, callback: bool = True) -> float:
        """Make ``task`` end at ``age``; return that time on the clock."""
        assert task._origin is not None
        end = task._origin + age

        def answer() -> dict[str, Any]:
            done = self.clock.now >= end
            return {"taskId": task.task_id, "status": "success" if done else "running"}

        _script(self.client, task, answer)
        if callback:
            self.callbacks[task.task_id] = end
        return end

    async def sleep(self, seconds: float) -> None:
        self.clock.sleeps.append(seconds)
        for hook in self.on_sleep:
            hook()
        target = self.clock.now + seconds
        for task_id, end in sorted(self.callbacks.items(), key=lambda item: item[1]):
            if end <= target:
                del self.callbacks[task_id]
                self.clock.now = max(self.clock.now, end)
                body = {
                    "uuid": f"notice-{task_id}",
                    "bizType": "ZERO_SHOT_AVATAR",
                    "taskId": task_id,
                    "status": "success",
                    "result": {"taskId": task_id, "status": "success"},
                }
                reply = await self.receiver.receive(json.dumps(body).encode(), token=SECRET)
                self.replies.append(reply.status_code)
                await anyio.sleep_forever()  # the callback ends the wait: the race cancels this
        self.clock.now = target
        await anyio.lowlevel.checkpoint()


@pytest.fixture
def topview(client: AsyncTopview, clock: FakeClock) -> Iterator[Topview]:
    fake = Topview(client, clock)
    with set_testing(True, sleep=fake.sleep):
        yield fake


def _learn(client: AsyncTopview, seconds: float, kind: str = "video_avatar") -> None:
    """Teach the scheduler that tasks of ``kind`` take ``seconds`` (enough to be used)."""
    for _ in range(client.poll_scheduler.planner.min_samples):
        client.poll_scheduler.record_duration(kind, seconds)


def _late(seconds: float) -> float:
    """The first safety-net poll for a kind that always took ``seconds``: its 99th
    percentile (the spread is floored at sigma 0.05) plus 30 s for the callback."""
    return seconds * math.exp(2.326 * 0.05) + SAFETY_NET_WAIT_MIN


async def test_a_callback_on_time_costs_one_query_before_anything_is_learned(
    client: AsyncTopview, clock: FakeClock, topview: Topview
) -> None:
    task = await _submit(client, noticeUrl=NOTICE_URL)
    topview.finishes(task, 90.0)

    result = await task.wait(poll=LEARNED)

    assert result.status == "success"
    assert topview.replies == [200]
    # The receiver's re-read, nothing else: the first safety-net poll was to come at 120 s.
    assert server_of(client).queries[task.task_id] == 1
    assert clock.sleeps == [SAFETY_NET_WAIT_MAX]


async def test_a_callback_on_time_costs_one_query_for_a_learned_kind(
    client: AsyncTopview, clock: FakeClock, topview: Topview
) -> None:
    _learn(client, 200.0)
    first = safety_net_first_poll_age(client.poll_scheduler, "video_avatar")
    task = await _submit(client, noticeUrl=NOTICE_URL)
    topview.finishes(task, 240.0)  # later than the unlearned 120 s, as this kind takes

    await task.wait(poll=LEARNED)

    assert server_of(client).queries[task.task_id] == 1
    assert first == pytest.approx(_late(200.0))
    assert clock.sleeps == [pytest.approx(first)]


async def test_the_first_poll_moves_with_what_is_learned_while_waiting(
    client: AsyncTopview, clock: FakeClock, topview: Topview
) -> None:
    task = await _submit(client, noticeUrl=NOTICE_URL)
    topview.finishes(task, 240.0)
    # Other tasks of the kind finish while this wait sleeps: they took 200 s.
    topview.on_sleep.append(lambda: _learn(client, 200.0))

    await task.wait(poll=LEARNED)

    # Armed for 120 s (nothing learned), then, on waking, moved to the learned age.
    assert clock.sleeps == [SAFETY_NET_WAIT_MAX, pytest.approx(_late(200.0) - SAFETY_NET_WAIT_MAX)]
    assert server_of(client).queries[task.task_id] == 1


def test_the_first_safety_net_poll_stays_within_its_bounds(client: AsyncTopview) -> None:
    scheduler = client.poll_scheduler
    assert safety_net_first_poll_age(scheduler, "m2v") == SAFETY_NET_WAIT_MAX  # nothing learned
    _learn(client, 1.0, "m2v")
    _learn(client, 5000.0, "m2v_export")
    assert safety_net_first_poll_age(scheduler, "m2v") == pytest.approx(_late(1.0))
    assert safety_net_first_poll_age(scheduler, "m2v_export") == SAFETY_NET_FIRST_MAX
    assert safety_net_first_poll_age(scheduler, "m2v_export", learn=False) == SAFETY_NET_WAIT_MAX


@pytest.mark.parametrize("learned", [None, 90.0, 3000.0])
@pytest.mark.parametrize("end", [10.0, 100.0, 700.0, 5000.0])
async def test_a_lost_callback_is_noticed_within_the_documented_bound(
    client: AsyncTopview, clock: FakeClock, topview: Topview, learned: float | None, end: float
) -> None:
    if learned is not None:
        _learn(client, learned)
    task = await _submit(client, noticeUrl=NOTICE_URL)
    assert task._origin is not None
    topview.finishes(task, end, callback=False)

    await task.wait(poll=LEARNED)

    noticed = clock.now - task._origin
    # The documented worst case: by age SAFETY_NET_FIRST_MAX or SAFETY_NET_WAIT_MAX after
    # the end, whichever is later.
    assert end <= noticed <= max(SAFETY_NET_FIRST_MAX, end + SAFETY_NET_WAIT_MAX)
    if learned is None and end < SAFETY_NET_WAIT_MAX:
        assert noticed == SAFETY_NET_WAIT_MAX  # the first poll, nothing learned yet
    if learned == 3000.0 and end < SAFETY_NET_FIRST_MAX:
        assert noticed == SAFETY_NET_FIRST_MAX  # a long kind: the first poll's cap


async def test_a_safety_net_of_your_own_polls_from_the_start(
    client: AsyncTopview, clock: FakeClock, topview: Topview
) -> None:
    task = await _submit(client, noticeUrl=NOTICE_URL)
    topview.finishes(task, 90.0)
    own = PollPolicy(wait_initial=10.0, wait_min=10.0, wait_exp_base=1.0, wait_jitter=0.0)

    await task.wait(safety_net=own)

    assert clock.sleeps[:3] == [10.0, 10.0, 10.0]
    assert server_of(client).queries[task.task_id] == 9  # 8 polls (10-80 s) and the re-read


async def test_a_lost_callback_found_by_the_first_look_teaches_nothing(
    client: AsyncTopview, clock: FakeClock, topview: Topview, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With several workers, most callbacks land elsewhere: if the late first look taught the
    # midpoint since the submit (60 s here), later first looks would drift to their cap.
    recorded: list[float] = []
    monkeypatch.setattr(client.poll_scheduler, "record_duration", lambda k, s: recorded.append(s))
    first = await _submit(client, noticeUrl=NOTICE_URL)
    topview.finishes(first, 20.0, callback=False)
    await first.wait(poll=LEARNED)
    assert recorded == []
    # A later safety-net poll brackets the end within its cadence: that one still teaches.
    second = await _submit(client, noticeUrl=NOTICE_URL)
    topview.finishes(second, 150.0, callback=False)
    await second.wait(poll=LEARNED)
    assert recorded == [SAFETY_NET_WAIT_MAX + 45.0 / 2]
