"""One RetryPolicy: jitter's one meaning, the overall timeout, and the public testing switch."""

from __future__ import annotations

import random
from pathlib import Path

import httpx
import pytest

from topview_async import AsyncTopview, DownloadError, PollPolicy, RetryPolicy
from topview_async._config import jittered
from topview_async._exceptions import HTTPStatusError
from topview_async.lib._poll_planner import PollPlanner
from topview_async.testing import set_testing

from .helpers import READ, Recorder, call, make_client, ok

pytestmark = pytest.mark.anyio


def test_jitter_is_one_fraction_for_retries_and_polls() -> None:
    rng = random.Random(7)
    for fraction in (0.0, 0.1, 0.5, 1.0):
        waits = [jittered(10.0, fraction, rng=rng) for _ in range(300)]
        assert all(10.0 * (1 - fraction) <= w <= 10.0 for w in waits)
    retry = RetryPolicy(wait_initial=10.0, wait_max=10.0, wait_jitter=0.1)
    poll = PollPolicy(wait_initial=10.0, wait_min=10.0, wait_max=10.0, wait_jitter=0.1)
    planner = PollPlanner()
    retry_waits = [retry.backoff(1, rng=rng) for _ in range(300)]
    poll_waits = [planner.interval("k", age=0.0, polls=0, policy=poll, rng=rng) for _ in range(300)]
    for waits in (retry_waits, poll_waits):  # the same spread for the same number
        assert min(waits) >= 9.0
        assert max(waits) <= 10.0
        assert max(waits) - min(waits) > 0.5


def test_boolean_jitter_still_means_full_or_none() -> None:
    assert RetryPolicy(wait_jitter=True).wait_jitter == 1.0
    assert RetryPolicy(wait_jitter=False).wait_jitter == 0.0
    assert RetryPolicy().wait_jitter == 1.0  # the default stays full jitter
    with pytest.raises(ValueError, match="wait_jitter"):
        RetryPolicy(wait_jitter=1.5)
    with pytest.raises(ValueError, match="wait_jitter"):
        PollPolicy(wait_jitter=-0.1)


def test_timeout_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="timeout"):
        RetryPolicy(timeout=-1.0)


async def test_the_policy_timeout_is_a_deadline_for_all_attempts(sleeps: list[float]) -> None:
    recorder = Recorder(httpx.Response(502))
    policy = RetryPolicy(
        attempts=10, wait_initial=4.0, wait_exp_base=1.0, wait_jitter=0.0, timeout=10.0
    )
    async with make_client(recorder, retry=policy) as client:
        with pytest.raises(HTTPStatusError):
            await call(client, READ)
    # Two waits of 4 s fit into 10 s; a third would end past the deadline, so it never starts.
    assert sleeps == [4.0, 4.0]
    assert len(recorder.requests) == 3


async def test_set_testing_caps_attempts_and_restores_the_previous_mode(
    sleeps: list[float],
) -> None:
    recorder = Recorder(httpx.Response(502), httpx.Response(502), ok({"id": 1}))
    async with make_client(recorder, retry=RetryPolicy(attempts=5)) as client:
        with set_testing(True, attempts=1), pytest.raises(HTTPStatusError):
            await call(client, READ)
        assert len(recorder.requests) == 1
        # Leaving the block restores the recorder the fixture installed, with retries.
        assert await call(client, READ) == {"id": 1}
    assert len(recorder.requests) == 3
    assert len(sleeps) == 1


async def test_testing_mode_without_a_sleep_does_not_wait() -> None:
    recorder = Recorder(httpx.Response(502), ok({"id": 1}))
    policy = RetryPolicy(attempts=2, wait_initial=3600.0, wait_max=3600.0, wait_jitter=0.0)
    async with make_client(recorder, retry=policy) as client:
        with set_testing(True):  # an hour of backoff, skipped
            assert await call(client, READ) == {"id": 1}
    assert len(recorder.requests) == 2


def test_set_testing_refuses_zero_attempts() -> None:
    with pytest.raises(ValueError, match="attempts"):
        set_testing(True, attempts=0)


@pytest.mark.parametrize(("retry", "requests"), [(None, 1), (RetryPolicy(attempts=2), 2)])
async def test_client_downloads_take_their_attempts_from_the_client_policy(
    tmp_path: Path, retry: RetryPolicy | None, requests: int
) -> None:
    seen: list[httpx.Request] = []

    def storage(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        raise httpx.ReadError("connection reset")

    async with AsyncTopview(
        api_key="k", uid="u", transport=httpx.MockTransport(storage), retry=retry
    ) as client:
        with pytest.raises(DownloadError):
            await client.download("https://cdn.test/v.mp4", tmp_path / "v.mp4")
    assert len(seen) == requests
    assert not (tmp_path / "v.mp4").exists()
