"""The credit budget: a submit is sent only when spent + in flight + this job fit."""

from __future__ import annotations

from pathlib import Path

import pytest

from topview_async import ConfigurationError
from topview_async.jobs import Job, JobRunner, JobStatus, MemoryJournal
from topview_async.jobs._budget import budget_allows, documented_cost, job_bounds, max_job_cost
from topview_async.testing import SimulatorServer

from .conftest import make_client

M2V_SUBMIT = "/v1/m2v/task/submit"
T2V_SUBMIT = "/v1/common_task/text2video/task/submit"


@pytest.mark.parametrize(
    ("spent", "in_flight", "this_job", "fits"),
    [(0, 0, 5, False), (0, 0, 3, True), (1, 1, 1, True), (1, 1, 1.5, False), (3, 0, 0, True)],
)
def test_a_submit_fits_when_spent_plus_in_flight_plus_this_job_fit(
    spent: float, in_flight: float, this_job: float, fits: bool
) -> None:
    assert budget_allows(budget=3, spent=spent, in_flight=in_flight, this_job=this_job) is fits


@pytest.mark.parametrize(
    ("kind", "params", "cost"),
    [
        ("text_to_video", {"model": "Veo 3.1", "duration": 8}, 3.3 * 8),
        ("text_to_video", {"model": "Veo 3.1", "duration": 4, "generating_count": 2}, 3.3 * 8),
        ("text_to_video", {"model": "Veo 3.1"}, 3.3 * 8),  # no duration: its longest
        ("image_to_video_v2", {"model": "Topview Lite", "duration": "5"}, 0.1 * 5),
        ("text_to_image", {"model": "GPT Image 1.5", "generateCount": 3}, 2.0 * 3),
        ("image_edit", {"model": "Seedream 5.0"}, 0.2),
        ("text_to_video", {"model": "a model nobody priced"}, None),
        ("m2v", {"product_link": "https://shop.test/p"}, None),
    ],
)
def test_documented_prices_come_from_the_spec(
    kind: str, params: dict[str, object], cost: float | None
) -> None:
    assert documented_cost(kind, params) == pytest.approx(cost)


def test_the_bound_is_the_price_else_the_largest_seen_else_the_users() -> None:
    m2v = {"product_link": "https://shop.test/p"}
    assert max_job_cost("m2v", m2v) is None
    assert max_job_cost("m2v", m2v, max_cost_per_job=7) == 7
    assert max_job_cost("m2v", m2v, seen={"m2v": 5}, max_cost_per_job=7) == 5
    veo = {"model": "Veo 3.1", "duration": 8}
    assert max_job_cost("text_to_video", veo, seen={"text_to_video": 1}) == pytest.approx(26.4)


def test_budget_mode_refuses_to_start_without_a_bound_saying_why() -> None:
    jobs = [Job("a", "m2v", {"product_link": "https://shop.test/a"})]
    with pytest.raises(ConfigurationError, match=r"m2v.*--max-cost-per-job"):
        job_bounds(jobs)
    assert job_bounds(jobs, max_cost_per_job=5) == {"a": 5}


@pytest.mark.anyio
async def test_max_credits_3_with_a_first_submit_costing_5_sends_nothing(
    topview_simulator: SimulatorServer, tmp_path: Path
) -> None:
    jobs = [Job(f"shoe-{n}", "m2v", {"product_link": f"https://shop.test/{n}"}) for n in range(3)]
    async with make_client(topview_simulator) as client:
        runner = JobRunner(
            client, tmp_path, journal=MemoryJournal(), max_credits=3, max_cost_per_job=5
        )
        summary = await runner.run(jobs)
    assert topview_simulator.simulator.requests.counts[M2V_SUBMIT] == 0
    assert summary.stopped is not None
    assert "may cost 5" in summary.stopped
    assert summary.counts == {"pending": 3}


@pytest.mark.anyio
async def test_a_documented_price_over_the_budget_sends_nothing(
    topview_simulator: SimulatorServer, tmp_path: Path
) -> None:
    job = Job("clip", "text_to_video", {"model": "Veo 3.1", "prompt": "a shoe", "duration": 8})
    async with make_client(topview_simulator) as client:
        runner = JobRunner(client, tmp_path, journal=MemoryJournal(), max_credits=20)
        summary = await runner.run([job])
    assert topview_simulator.simulator.requests.counts[T2V_SUBMIT] == 0
    assert summary.records[0].status is JobStatus.PENDING


@pytest.mark.anyio
async def test_budget_mode_without_a_bound_sends_nothing(
    topview_simulator: SimulatorServer, tmp_path: Path
) -> None:
    jobs = [Job("shoe", "m2v", {"product_link": "https://shop.test/p"})]
    async with make_client(topview_simulator) as client:
        runner = JobRunner(client, tmp_path, journal=MemoryJournal(), max_credits=100)
        with pytest.raises(ConfigurationError, match="max-cost-per-job"):
            await runner.run(jobs)
    assert topview_simulator.simulator.requests.counts[M2V_SUBMIT] == 0


@pytest.mark.anyio
async def test_the_budget_check_forgets_jobs_that_stopped_moving(
    topview_simulator: SimulatorServer, tmp_path: Path
) -> None:
    # Each budget check scans the jobs it remembers as sent; those that finished must leave
    # it, or a check costs every job sent so far (quadratic in a large batch).
    jobs = [Job(f"shoe-{n}", "m2v", {"product_link": f"https://shop.test/{n}"}) for n in range(12)]
    async with make_client(topview_simulator) as client:
        runner = JobRunner(
            client,
            tmp_path,
            journal=MemoryJournal(),
            max_credits=1000,
            max_cost_per_job=5,
            concurrency=1,
        )
        summary = await runner.run(jobs)
    assert summary.counts == {"downloaded": 12}
    assert topview_simulator.simulator.requests.counts[M2V_SUBMIT] == 12
    # What the last check still held: jobs in flight then, never those done before it (the
    # old code kept all 12).
    assert len(runner._sent) < 12
