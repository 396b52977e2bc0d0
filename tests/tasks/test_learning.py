"""The scheduler learns task durations and then polls where completion is likely.

A pure discrete-event simulation drives the planner exactly as a wait does (interval
after each poll, duration recorded at the midpoint of the detecting interval), on fake
time, so it is instant and deterministic.
"""

from __future__ import annotations

import math
import random
import statistics
from typing import Any

import anyio
import pytest
from _task_fakes import TASK_KINDS, SubmitBody, SubmitResult, make_client, server_of
from trio.testing import MockClock

from topview_async.lib._poll_planner import LearnedSchedule, PollPlanner
from topview_async.lib.polling import PollPolicy, PollScheduler
from topview_async.lib.tasks import submit_task, wait_all


def _simulate(
    durations: list[float], planner: PollPlanner, policy: PollPolicy, rng: random.Random
) -> tuple[float, float]:
    """Mean requests per task and mean detection delay."""
    requests, delays = [], []
    for duration in durations:
        last, polls = 0.0, 0
        while True:
            at = last + planner.interval("k", age=last, polls=polls, policy=policy, rng=rng)
            polls += 1
            if at >= duration:
                planner.record("k", (last + at) / 2)
                requests.append(polls)
                delays.append(at - duration)
                break
            last = at
    return statistics.mean(requests), statistics.mean(delays)


def _lognormal(rng: random.Random, count: int, sigma: float = 0.5) -> list[float]:
    return [rng.lognormvariate(math.log(90.0), sigma) for _ in range(count)]


def test_learned_schedule_beats_cold_backoff_for_the_same_delay_budget() -> None:
    rng = random.Random(7)
    cold_policy = PollPolicy(learn=False)
    cold_requests, cold_delay = _simulate(_lognormal(rng, 1000), PollPlanner(), cold_policy, rng)

    # Same delay budget as the cold backoff achieves, spent by the learned schedule.
    learned_policy = PollPolicy(target_delay=cold_delay)
    planner = PollPlanner()
    _simulate(_lognormal(rng, 200), planner, learned_policy, rng)  # warm-up
    stats = planner.stats("k")
    assert stats is not None
    assert stats.median == pytest.approx(90.0, rel=0.15)
    assert stats.sigma == pytest.approx(0.5, rel=0.25)
    requests, delay = _simulate(_lognormal(rng, 1000), planner, learned_policy, rng)

    assert delay <= cold_delay
    assert requests < 0.75 * cold_requests


def test_target_delay_trades_requests_for_latency() -> None:
    rng = random.Random(3)
    results = []
    for target in (1.5, 3.0, 6.0):
        planner = PollPlanner()
        policy = PollPolicy(target_delay=target)
        _simulate(_lognormal(rng, 200), planner, policy, rng)
        results.append(_simulate(_lognormal(rng, 500), planner, policy, rng))
    requests = [r for r, _ in results]
    delays = [d for _, d in results]
    assert requests == sorted(requests, reverse=True)
    assert delays == sorted(delays)


def test_schedule_is_sparse_before_completion_is_likely_and_dense_after() -> None:
    # Density follows sqrt(hazard): for a lognormal the hazard rises through the median
    # and stays high after it, so polls are rare early and frequent from then on.
    schedule = LearnedSchedule.build(math.log(90.0), 0.3)
    gap = {age: schedule.next_age(age, 2.5) - age for age in (20.0, 60.0, 90.0, 200.0)}
    assert gap[20.0] > 5 * gap[90.0]
    assert gap[20.0] > gap[60.0] > gap[90.0] > gap[200.0]


def test_cold_start_uses_geometric_backoff_until_enough_samples() -> None:
    planner = PollPlanner(min_samples=3)
    policy = PollPolicy(wait_jitter=0.0)
    assert [planner.interval("k", age=0.0, polls=n, policy=policy) for n in range(3)] == [
        2.0,
        3.0,
        4.5,
    ]
    for seconds in (60.0, 61.0, 62.0):
        planner.record("k", seconds)
    assert planner.interval("k", age=0.0, polls=0, policy=policy) == policy.wait_max
    assert planner.interval("k", age=None, polls=0, policy=policy) == 2.0  # age unknown


@pytest.fixture
def anyio_backend() -> tuple[str, dict[str, Any]]:
    return ("trio", {"clock": MockClock(autojump_threshold=0)})


@pytest.mark.anyio
async def test_waits_teach_the_scheduler() -> None:
    client = make_client()
    scheduler = PollScheduler(rate=None)
    client.poll_scheduler = scheduler
    spec = TASK_KINDS["video_avatar"]
    tasks = []
    for i in range(40):
        task = await submit_task(
            client, spec.submit_operation, body={}, body_model=SubmitBody, result_type=SubmitResult
        )
        finish_at = anyio.current_time() + 50.0 + i % 5

        def answer(finish_at: float = finish_at) -> dict[str, Any]:
            done = anyio.current_time() >= finish_at
            return {"status": "success" if done else "running"}

        server_of(client).script[task.task_id] = [answer]
        tasks.append(task)
    await wait_all(tasks)
    stats = scheduler.planner.stats("video_avatar")
    assert stats is not None
    assert stats.count == 40
    assert stats.median == pytest.approx(52.0, rel=0.15)
