"""Many tasks on one client: caps on in-flight queries and rate, wait_all, as_completed.

These run on Trio with an auto-jumping mock clock: virtual time moves on whenever every
task is blocked, so minutes of polling take milliseconds and nothing depends on timing.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from _task_fakes import TASK_KINDS, SubmitBody, SubmitResult, make_client, server_of
from trio.testing import MockClock

from topview_async import AsyncTopview
from topview_async.lib.polling import PollPolicy, PollScheduler
from topview_async.lib.tasks import (
    Task,
    TaskFailedError,
    TaskTimeoutError,
    as_completed,
    submit_task,
    wait_all,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> tuple[str, dict[str, Any]]:
    return ("trio", {"clock": MockClock(autojump_threshold=0)})


async def _submit_many(client: AsyncTopview, finish_after: list[float]) -> list[Task[Any]]:
    """Submit one task per entry; each succeeds ``finish_after[i]`` seconds after submit."""
    tasks = []
    spec = TASK_KINDS["video_avatar"]
    for delay in finish_after:
        task = await submit_task(
            client,
            spec.submit_operation,
            body={},
            body_model=SubmitBody,
            result_type=SubmitResult,
        )
        finish_at = anyio.current_time() + delay

        def answer(finish_at: float = finish_at, task_id: str = task.task_id) -> dict[str, Any]:
            done = anyio.current_time() >= finish_at
            return {"taskId": task_id, "status": "success" if done else "running"}

        server_of(client).script[task.task_id] = [answer]
        tasks.append(task)
    return tasks


def _client(*, max_in_flight: int = 16, rate: float | None = 20.0) -> AsyncTopview:
    client = make_client()
    server_of(client).latency = 0.5
    scheduler = PollScheduler(max_in_flight=max_in_flight, rate=rate)
    client.poll_scheduler = scheduler
    return client


async def test_thousand_concurrent_waits_never_exceed_the_cap() -> None:
    client = _client(max_in_flight=16, rate=None)
    tasks = await _submit_many(client, [30.0 + (i % 50) for i in range(1000)])

    async with anyio.create_task_group() as group:
        for task in tasks:
            group.start_soon(task.wait)

    assert all(task.done for task in tasks)
    assert server_of(client).max_in_flight == 16  # reached, never exceeded
    assert server_of(client).in_flight == 0


async def test_wait_all_caps_in_flight_and_rate() -> None:
    client = _client(max_in_flight=8, rate=20.0)
    tasks = await _submit_many(client, [10.0 + (i % 7) for i in range(300)])
    stamps: list[float] = []
    server_of(client).on_query = lambda task_id: stamps.append(anyio.current_time())

    results = await wait_all(tasks)

    assert [r.task_id for r in results] == [t.task_id for t in tasks]  # input order
    assert server_of(client).max_in_flight <= 8
    # Token bucket: a burst of at most 20, then 20 per second.
    for start in stamps:
        assert sum(1 for s in stamps if start <= s < start + 1.0) <= 40
    assert len(stamps) <= 20 * (stamps[-1] - stamps[0]) + 20


async def test_as_completed_yields_in_finishing_order_with_few_pollers() -> None:
    client = _client()
    tasks = await _submit_many(client, [40.0, 10.0, 25.0])
    order = []
    async with as_completed(tasks) as finished:
        async for task in finished:
            order.append(tasks.index(task))
            assert (await task.wait()).status == "success"
    assert order == [1, 2, 0]


async def test_wait_all_raises_the_first_failure_itself() -> None:
    client = _client()
    tasks = await _submit_many(client, [5.0, 50.0])
    server_of(client).script[tasks[0].task_id] = [{"status": "fail", "errorMsg": "bad input"}]

    with pytest.raises(TaskFailedError) as caught:
        await wait_all(tasks)
    assert caught.value.task_id == tasks[0].task_id
    assert caught.value.error_msg == "bad input"
    assert not tasks[1].done  # polling stopped; the handle can still be waited on
    assert (await tasks[1].wait()).status == "success"


async def test_wait_all_return_exceptions() -> None:
    client = _client()
    tasks = await _submit_many(client, [5.0, 20.0])
    server_of(client).script[tasks[0].task_id] = [{"status": "failure"}]
    outcomes = await wait_all(tasks, return_exceptions=True)
    assert isinstance(outcomes[0], TaskFailedError)
    assert outcomes[1].status == "success"  # type: ignore[union-attr]


async def test_as_completed_deadline_lists_unfinished_tasks() -> None:
    client = _client()
    tasks = await _submit_many(client, [5.0, 500.0, 800.0])
    seen: list[Task[Any]] = []

    async def consume() -> None:
        async with as_completed(tasks, poll=PollPolicy(timeout=60.0)) as finished:
            seen.extend([task async for task in finished])

    with pytest.raises(TaskTimeoutError) as caught:
        await consume()
    assert seen == [tasks[0]]
    assert set(caught.value.unfinished) == {tasks[1], tasks[2]}
    await wait_all(list(caught.value.unfinished), poll=PollPolicy(timeout=None))
    assert all(task.done for task in tasks)


async def test_leaving_as_completed_early_stops_polling() -> None:
    client = _client()
    tasks = await _submit_many(client, [5.0, 300.0, 300.0])
    async with as_completed(tasks) as finished:
        async for _task in finished:
            break
    queries = server_of(client).total_queries
    await anyio.sleep(600)
    assert server_of(client).total_queries == queries


async def test_progress_callback_for_many() -> None:
    client = _client()
    tasks = await _submit_many(client, [5.0, 9.0])
    updates: list[tuple[str, str | None]] = []
    await wait_all(tasks, on_progress=lambda u: updates.append((u.task_id, u.status)))
    for task in tasks:
        assert [s for tid, s in updates if tid == task.task_id] == ["running", "success"]
