"""The runner end to end: files, manifest, resume, backpressure, budget, reconciliation."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest

from topview_async.jobs import (
    Job,
    JobRecord,
    JobRunner,
    JobStatus,
    MemoryJournal,
    SqliteJournal,
    job_notice_url,
    read_jobs,
    submit_method,
)
from topview_async.testing import SimulatorServer

from .conftest import make_client

pytestmark = pytest.mark.anyio

SUBMIT = "/v1/m2v/task/submit"


def m2v_jobs(count: int) -> list[Job]:
    return [
        Job(f"shoe-{n:03d}", "m2v", {"product_link": f"https://shop.test/p/{n}"})
        for n in range(count)
    ]


def m2v_task_count(sim: SimulatorServer) -> int:
    return sum(1 for t in sim.simulator.tasks.values() if t.kind == "m2v")


def manifest(out: Path) -> dict[str, dict[str, object]]:
    lines = (out / "manifest.jsonl").read_text().splitlines()
    return {row["key"]: row for row in map(json.loads, lines)}


async def test_every_job_ends_with_its_files_and_sha256(
    topview_simulator: SimulatorServer, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    async with make_client(topview_simulator) as client, JobRunner(client, out) as runner:
        summary = await runner.run(m2v_jobs(12))
    assert summary.complete
    assert m2v_task_count(topview_simulator) == 12
    rows = manifest(out)
    assert len(rows) == 12
    for key, row in rows.items():
        assert row["status"] == "downloaded"
        assert row["credits"] == 5.0  # M2V results carry no costCredit: from the credit log
        files = row["files"]
        assert isinstance(files, list)
        assert len(files) == 3  # one exported video per script
        for entry in files:
            path = out / entry["path"]
            assert path.name.startswith(key)
            assert path.suffix == ".mp4"
            assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
    assert not list(out.rglob("*.part"))
    assert (out / "journal.sqlite3").exists()


async def test_running_again_submits_nothing(
    topview_simulator: SimulatorServer, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    async with make_client(topview_simulator) as client:
        async with JobRunner(client, out) as runner:
            await runner.run(m2v_jobs(5))
        async with JobRunner(client, out) as runner:
            summary = await runner.run(m2v_jobs(5))
    assert summary.complete
    assert m2v_task_count(topview_simulator) == 5


async def test_changed_params_under_a_known_key_are_refused(
    topview_simulator: SimulatorServer, tmp_path: Path
) -> None:
    from topview_async import InvalidInputError

    journal = MemoryJournal()
    async with make_client(topview_simulator) as client:
        await JobRunner(client, tmp_path, journal=journal).run(m2v_jobs(1))
        changed = [Job("shoe-000", "m2v", {"product_link": "https://shop.test/other"})]
        with pytest.raises(InvalidInputError, match="another kind or other params"):
            await JobRunner(client, tmp_path, journal=journal).run(changed)


async def test_a_crash_after_the_intent_is_never_resubmitted_while_the_task_exists(
    topview_simulator: SimulatorServer, tmp_path: Path
) -> None:
    """The journal says ``submitting`` (a crash hit the submit in flight) and the task exists
    at Topview: the task list finds it; nothing is submitted again."""
    sim = topview_simulator
    out = tmp_path / "out"
    job = m2v_jobs(1)[0]
    async with make_client(sim) as client:
        task = await client.marketing_videos.submit(**job.params)
        journal = SqliteJournal(out / "journal.sqlite3")
        crashed = JobRecord(job.key, job.kind, dict(job.params), JobStatus.SUBMITTING, 1)
        crashed.intent_at = time.time()
        await journal.save([crashed])
        await journal.aclose()
        async with JobRunner(client, out, reconcile_grace=0) as runner:
            summary = await runner.run([job])
    assert summary.complete
    assert summary.records[0].task_id == task.task_id
    assert m2v_task_count(sim) == 1


async def test_an_intent_that_never_arrived_is_submitted_once_after_the_grace(
    topview_simulator: SimulatorServer, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    job = m2v_jobs(1)[0]
    journal = MemoryJournal()
    crashed = JobRecord(job.key, job.kind, dict(job.params), JobStatus.SUBMITTING, 1)
    crashed.intent_at = time.time() - 10
    await journal.save([crashed])
    async with make_client(topview_simulator) as client:
        summary = await JobRunner(client, out, journal=journal, reconcile_grace=5).run([job])
    assert summary.complete
    assert summary.records[0].attempt == 2
    assert m2v_task_count(topview_simulator) == 1


async def test_without_the_grace_an_unfound_intent_stays_unknown(
    topview_simulator: SimulatorServer, tmp_path: Path
) -> None:
    job = m2v_jobs(1)[0]
    journal = MemoryJournal()
    crashed = JobRecord(job.key, job.kind, dict(job.params), JobStatus.SUBMITTING, 1)
    crashed.intent_at = time.time()
    await journal.save([crashed])
    async with make_client(topview_simulator) as client:
        runner = JobRunner(client, tmp_path, journal=journal, reconcile_grace=None)
        summary = await runner.run([job])
    (record,) = summary.records
    assert record.status is JobStatus.OUTCOME_UNKNOWN
    assert m2v_task_count(topview_simulator) == 0
    assert manifest(tmp_path)[job.key]["status"] == "outcome_unknown"


async def test_a_lost_response_is_reconciled_through_the_task_list(
    topview_simulator: SimulatorServer, tmp_path: Path
) -> None:
    """The simulator creates the task and drops the connection before answering: the SDK
    raises SubmitOutcomeUnknownError; the runner finds the task in the list."""
    sim = topview_simulator
    sim.faults.add(path=SUBMIT, drop_connection=True, times=1)
    async with make_client(sim) as client:
        runner = JobRunner(client, tmp_path, journal=MemoryJournal(), reconcile_grace=0)
        summary = await runner.run(m2v_jobs(3))
    assert summary.complete
    assert m2v_task_count(sim) == 3
    assert all(r.attempt == 1 for r in summary.records)


async def test_other_kinds_with_a_lost_response_wait_for_the_user(
    topview_simulator: SimulatorServer, tmp_path: Path
) -> None:
    sim = topview_simulator
    sim.faults.add(path="/v1/scraper/task/submit", drop_connection=True, times=1)
    job = Job("page", "scraper", {"product_link": "https://shop.test/p/1"})
    journal = MemoryJournal()
    async with make_client(sim) as client:
        runner = JobRunner(client, tmp_path, journal=journal, reconcile_grace=0)
        (record,) = (await runner.run([job])).records
        assert record.status is JobStatus.OUTCOME_UNKNOWN
        assert record.request is not None
        assert record.request["body"] == {"productLink": "https://shop.test/p/1"}
        (task_id,) = sim.simulator.tasks
        await runner.resolve("page", task_id=task_id)
        summary = await JobRunner(client, tmp_path, journal=journal).run([job])
    assert summary.complete
    assert len(sim.simulator.tasks) == 1
    assert summary.records[0].files


async def test_4007_holds_submits_until_tasks_finish(
    topview_simulator: SimulatorServer, tmp_path: Path
) -> None:
    sim = topview_simulator
    sim.simulator.config.max_unfinished_tasks = 2
    async with make_client(sim) as client:
        runner = JobRunner(client, tmp_path, journal=MemoryJournal(), busy_wait=0.05)
        summary = await runner.run(m2v_jobs(8))
    assert summary.complete
    assert m2v_task_count(sim) == 8
    # More submits than tasks: the others were refused with 4007 and sent again later.
    assert sim.simulator.requests.counts[SUBMIT] > 8


async def test_the_credit_budget_stops_submitting_before_it_is_exceeded(
    topview_simulator: SimulatorServer, tmp_path: Path
) -> None:
    async with make_client(topview_simulator) as client:
        runner = JobRunner(
            client, tmp_path, journal=MemoryJournal(), max_credits=12, max_cost_per_job=5
        )
        summary = await runner.run(m2v_jobs(6))
    assert summary.stopped is not None
    assert summary.credits <= 12
    assert summary.counts == {"downloaded": 2, "pending": 4}
    assert m2v_task_count(topview_simulator) == 2


async def test_a_callback_names_the_job_of_a_lost_response(
    topview_simulator: SimulatorServer, tmp_path: Path
) -> None:
    """The notice URL carries ?job=&attempt=; the receiver's hook records the task id."""
    sim = topview_simulator
    sim.faults.add(path="/v1/scraper/task/submit", drop_connection=True, times=1)
    job = Job("page", "scraper", {"product_link": "https://shop.test/p/1"})
    notice = "https://hooks.test/topview?token=0123456789abcdef0123"
    async with make_client(sim) as client:
        runner = JobRunner(client, tmp_path, journal=MemoryJournal(), notice_url=notice)
        (record,) = (await runner.run([job])).records
        assert record.status is JobStatus.OUTCOME_UNKNOWN
        assert record.request is not None
        assert "0123456789abcdef0123" not in json.dumps(record.request)
        (task,) = sim.simulator.tasks.values()
        assert task.request["noticeUrl"] == job_notice_url(notice, "page", 1)
        assert not await runner.record_notice("page", 2, task.task_id)  # another attempt
        assert await runner.record_notice("page", 1, task.task_id)
        summary = await runner.run([job])
    assert summary.complete
    assert len(sim.simulator.tasks) == 1


def test_kinds_map_to_the_generated_submit_methods() -> None:
    from topview_async import AsyncTopview

    client = AsyncTopview(api_key="k" * 20, uid="u" * 20)
    assert submit_method(client, "m2v") == client.marketing_videos.submit
    assert submit_method(client, "m2v_export") == client.marketing_videos.export
    assert (
        submit_method(client, "product_avatar_image_to_video")
        == client.product_avatars.submit_image_to_video
    )


def test_job_files_are_checked_line_by_line(tmp_path: Path) -> None:
    from topview_async import InvalidInputError

    path = tmp_path / "jobs.jsonl"
    path.write_text('{"key": "a", "kind": "m2v", "params": {}}\n\n# note\n{"key": "a/b"}\n')
    with pytest.raises(InvalidInputError, match=r"jobs.jsonl:4"):
        read_jobs(path)
    path.write_text('{"key": "a", "kind": "m2v"}\n{"key": "a", "kind": "m2v"}\n')
    with pytest.raises(InvalidInputError, match="used twice"):
        read_jobs(path)
    path.write_text('{"key": "a", "kind": "m2v", "params": {"product_link": "x"}}\n')
    assert read_jobs(path) == [Job("a", "m2v", {"product_link": "x"})]


async def test_the_notice_app_records_the_task_of_a_lost_response(
    topview_simulator: SimulatorServer, tmp_path: Path
) -> None:
    """End to end: the submit's response is lost; the simulator's callback reaches the
    runner's notice endpoint, which names the job; the next run just downloads."""
    import httpx

    from topview_async.jobs import JobNoticeApp
    from topview_async.webhooks import build_notice_url

    sim = topview_simulator
    sim.faults.add(path="/v1/scraper/task/submit", drop_connection=True, times=1)
    secret = "0123456789abcdef0123"
    notice = build_notice_url("https://hooks.test/topview", secret)
    job = Job("page", "scraper", {"product_link": "https://shop.test/p/1"})
    async with make_client(sim) as client:
        runner = JobRunner(client, tmp_path, journal=MemoryJournal(), notice_url=notice)
        app = JobNoticeApp(runner, secret=secret, client=client)
        sim.simulator.config.callback_transport = httpx.ASGITransport(app=app)
        (record,) = (await runner.run([job])).records
        assert record.status is JobStatus.OUTCOME_UNKNOWN
        (task,) = sim.simulator.tasks.values()
        assert task.notice is not None
        await client.tasks.get("scraper", task.task_id).wait()  # the callback is due
        # Delivered from this event loop (the server's own loop sleeps: see conftest), so the
        # receiver's verification uses the client on the loop it belongs to.
        assert await sim.simulator.deliver_notices() == 1
        assert task.notice.acknowledged
        assert (await runner.records())[0].task_id == task.task_id
        summary = await runner.run([job])
    assert summary.complete
    assert len(sim.simulator.tasks) == 1
