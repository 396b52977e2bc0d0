"""The one retry loop (issue 21.3): hooks, logging, Retry-After limits and budgets of API calls.

Uploads and downloads go through the same loop: tests/transfer/test_transfer_retry_loop.py.
"""

from __future__ import annotations

import httpx
import pytest

from topview_async import HTTPStatusError, RetryEvent, RetryPolicy, ServerBusyError
from topview_async._retry_loop import RetryLoop
from topview_async.testing import set_testing

from .helpers import READ, SUBMIT, Recorder, call, code, make_client, ok

pytestmark = pytest.mark.anyio


async def test_every_api_retry_reaches_the_hook_with_operation_attempt_cause_and_wait(
    sleeps: list[float],
) -> None:
    events: list[RetryEvent] = []
    policy = RetryPolicy(attempts=3, wait_initial=1.0, wait_jitter=0.0, on_retry=events.append)
    recorder = Recorder(httpx.Response(503), code("5003"), ok())
    async with make_client(recorder, retry=policy) as client:
        await call(client, READ)
    assert [(e.operation, e.attempt, e.wait) for e in events] == [
        (READ.operation_id, 1, 1.0),
        (READ.operation_id, 2, 2.0),
    ]
    assert isinstance(events[0].cause, HTTPStatusError)
    assert isinstance(events[1].cause, ServerBusyError)
    assert sleeps == [1.0, 2.0]


@pytest.mark.parametrize("header", ["600", "61"])
async def test_a_retry_after_beyond_the_limit_ends_the_call_carrying_it(
    header: str, sleeps: list[float]
) -> None:
    events: list[RetryEvent] = []
    recorder = Recorder(httpx.Response(429, headers={"Retry-After": header}), ok())
    async with make_client(recorder, retry=RetryPolicy(on_retry=events.append)) as client:
        with pytest.raises(HTTPStatusError) as caught:
            await call(client, SUBMIT, body={})
    assert caught.value.retry_after == float(header)
    assert f"retry_after={header}s" in str(caught.value)
    assert caught.value.status_code == 429
    assert len(recorder.requests) == 1  # never retried before the server asked
    assert sleeps == []
    assert events == []


async def test_a_retry_after_within_the_limit_is_waited_in_full(sleeps: list[float]) -> None:
    recorder = Recorder(code("5003", **{"Retry-After": "60"}), ok())
    async with make_client(recorder, retry=RetryPolicy(retry_after_max=60.0)) as client:
        await call(client, READ)
    assert sleeps == [60.0]


async def test_the_overall_timeout_counts_skipped_waits_and_stops_the_loop(
    sleeps: list[float],
) -> None:
    policy = RetryPolicy(attempts=10, wait_initial=4.0, wait_jitter=0.0, timeout=10.0)
    recorder = Recorder(*[httpx.Response(503)] * 10)
    async with make_client(recorder, retry=policy) as client:
        with pytest.raises(HTTPStatusError):
            await call(client, READ)
    # 4 s, then 8 s would pass the 10 s deadline: two attempts, one wait.
    assert sleeps == [4.0]
    assert len(recorder.requests) == 2


async def _run(loop: RetryLoop) -> list[int]:
    numbers: list[int] = []
    try:
        async for attempt in loop:
            numbers.append(attempt.number)
            attempt.failed(KeyError("boom"))
    except KeyError:
        return numbers
    raise AssertionError("the loop must end by raising the last failure")


async def test_no_policy_means_one_attempt_and_testing_caps_every_policy() -> None:
    assert await _run(RetryLoop(None, "x")) == [1]
    with set_testing(True, attempts=2):
        assert await _run(RetryLoop(RetryPolicy(attempts=9), "x")) == [1, 2]
    assert await _run(RetryLoop(RetryPolicy(attempts=3), "x")) == [1, 2, 3]


async def test_leaving_the_loop_without_a_failure_ends_it() -> None:
    numbers = [attempt.number async for attempt in RetryLoop(RetryPolicy(attempts=5), "x")]
    assert numbers == [1]
