"""The decisions that cost money, as tables: admitting a known job, retrying, resolving,
rebuilding a record from the manifest; then ``resolve`` against the simulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from topview_async import InvalidInputError
from topview_async.jobs import Job, JobRecord, JobRunner, JobStatus, MemoryJournal
from topview_async.jobs._admission import admit, plan_retry
from topview_async.jobs._rebuild import record_from_manifest
from topview_async.jobs._resolve import attach_refusal, request_mismatch, resubmit_refusal
from topview_async.testing import SimulatorServer

from .conftest import make_client

P = {"product_link": "https://shop.test/1"}
Q = {"product_link": "https://shop.test/2"}
S = JobStatus


def record(status: JobStatus, task_id: str | None = None, **extra: Any) -> JobRecord:
    return JobRecord("k", "m2v", dict(P), status, task_id=task_id, **extra)


# -- admit: (stored, new params) -> status the run starts from, or refused -----------------

ADMIT_TABLE = [
    # stored record,                          params, expected status or "refused"
    (None, P, S.PENDING),
    (record(S.PENDING), P, S.PENDING),
    (record(S.PENDING), Q, S.PENDING),  # nothing sent yet: params may change
    (record(S.FAILED, error="TypeError: bad"), P, S.PENDING),  # failed before sending: again
    (record(S.FAILED, error="TypeError: bad"), Q, S.PENDING),  # ... with its fixed line
    (record(S.FAILED, "t1"), P, S.FAILED),  # its task failed at Topview: only when asked
    (record(S.FAILED, "t1"), Q, "refused"),
    (record(S.RUNNING, "t1"), Q, "refused"),
    (record(S.DOWNLOADED, "t1"), P, S.DOWNLOADED),
    (record(S.DOWNLOADED, "t1"), Q, "refused"),
    (record(S.OUTCOME_UNKNOWN), Q, "refused"),  # may have a task
    (record(S.SUBMITTING), Q, "refused"),
    (record(S.PENDING, earlier_tasks=[{"task_id": "t0"}]), Q, "refused"),  # had one
    (record(S.FAILED, earlier_tasks=[{"task_id": "t0"}]), P, S.PENDING),
]


@pytest.mark.parametrize(("stored", "params", "expected"), ADMIT_TABLE)
def test_admit(stored: JobRecord | None, params: dict[str, Any], expected: object) -> None:
    if expected == "refused":
        with pytest.raises(InvalidInputError, match="another kind or other params"):
            admit("k", "m2v", params, stored)
        return
    admitted, _ = admit("k", "m2v", params, stored)
    assert admitted.status is expected
    assert admitted.params == params


def test_a_changed_kind_counts_like_changed_params() -> None:
    admitted, changed = admit("k", "scraper", P, record(S.FAILED))
    assert (admitted.kind, admitted.status, changed) == ("scraper", S.PENDING, True)
    with pytest.raises(InvalidInputError):
        admit("k", "scraper", P, record(S.RUNNING, "t1"))


# -- retry ---------------------------------------------------------------------------------------


def test_retry_sends_again_only_jobs_whose_task_failed() -> None:
    records = [
        JobRecord("a", "m2v", {}, S.FAILED, task_id="t1", error="render failed", credits=5.0),
        JobRecord("b", "m2v", {}, S.FAILED, error="TypeError: x"),
        JobRecord("c", "m2v", {}, S.DOWNLOADED, task_id="t3"),
    ]
    (changed,) = plan_retry(records, [])
    assert (changed.key, changed.status, changed.task_id) == ("a", S.PENDING, None)
    assert changed.earlier_tasks == [{"task_id": "t1", "error": "render failed", "credits": 5.0}]
    assert records[0].task_id == "t1"  # planned on copies
    for keys, reason in [
        (["b"], "failed before any task existed"),
        (["c"], "is downloaded, not failed"),
        (["zz"], "no such job"),
        (["a", "c"], "is downloaded"),  # all or nothing
    ]:
        with pytest.raises(InvalidInputError, match=reason):
            plan_retry(records, keys)


# -- resolve ---------------------------------------------------------------------------------


RESUBMIT_TABLE = [
    # record,                           task state,  force, refused?
    (record(S.OUTCOME_UNKNOWN), None, False, False),
    (record(S.FAILED, "t1"), "failed", False, False),
    (record(S.RUNNING, "t1"), None, False, False),  # Topview does not know the task
    (record(S.RUNNING, "t1"), "running", False, True),
    (record(S.RUNNING, "t1"), "running", True, False),
    (record(S.RUNNING, "t1"), "succeeded", False, True),
    (record(S.RUNNING, "t1"), "succeeded", True, False),
    (record(S.DOWNLOADED, "t1"), "succeeded", False, True),
    (record(S.DOWNLOADED, "t1"), "succeeded", True, False),
]


@pytest.mark.parametrize(("stored", "state", "force", "refused"), RESUBMIT_TABLE)
def test_resubmit_refusal(stored: JobRecord, state: str | None, force: bool, refused: bool) -> None:
    reason = resubmit_refusal(stored, state, force=force)
    assert (reason is not None) == refused
    if reason is not None:
        assert "--force" in reason


def test_attach_refusal_names_the_job_that_owns_the_task() -> None:
    mine = record(S.OUTCOME_UNKNOWN)
    other = JobRecord("other", "m2v", {}, S.DOWNLOADED, task_id="t1")
    older = JobRecord("older", "m2v", {}, S.PENDING, earlier_tasks=[{"task_id": "t0"}])
    assert "job 'other'" in (attach_refusal(mine, [mine, other, older], "t1") or "")
    assert "job 'older'" in (attach_refusal(mine, [mine, other, older], "t0") or "")
    assert attach_refusal(mine, [mine, other, older], "t2") is None


def test_request_mismatch_compares_the_text_params_the_task_shows() -> None:
    shown = {"productLink": "https://shop.test/2", "productName": None}
    assert request_mismatch({"product_link": "https://shop.test/1"}, shown) == [
        "productLink is 'https://shop.test/2', the job's is 'https://shop.test/1'"
    ]
    assert request_mismatch({"productLink": "https://shop.test/2"}, shown) == []
    assert request_mismatch({"product_name": "x", "script_count": 3}, shown) == []


# -- rebuild ---------------------------------------------------------------------------------


REBUILD_TABLE = [
    # manifest status, task id, files on disk, job files present -> status
    ("downloaded", "t1", True, True, S.DOWNLOADED),
    ("downloaded", "t1", False, False, S.RUNNING),  # files lost: fetched again, same task
    ("running", "t1", False, False, S.RUNNING),
    ("failed", "t1", False, False, S.FAILED),
    ("failed", None, False, False, S.FAILED),
    ("outcome_unknown", None, False, False, S.OUTCOME_UNKNOWN),
    ("submitting", None, False, False, S.OUTCOME_UNKNOWN),
    ("pending", None, False, False, S.PENDING),
    ("pending", None, False, True, S.OUTCOME_UNKNOWN),  # files of a run the manifest missed
]


def test_a_rebuilt_m2v_job_without_a_task_is_looked_for_in_the_task_list_first(
    tmp_path: Path,
) -> None:
    line = {"key": "k", "kind": "m2v", "status": "pending", "task_id": None}
    rebuilt = record_from_manifest(line, P, tmp_path, has_files=False, written_at=1000.0)
    assert (rebuilt.status, rebuilt.intent_at) == (S.OUTCOME_UNKNOWN, 1000.0)
    line["kind"] = "scraper"  # no list to look in: pending
    assert record_from_manifest(line, P, tmp_path, has_files=False).status is S.PENDING


@pytest.mark.parametrize(("status", "task_id", "on_disk", "has_files", "expected"), REBUILD_TABLE)
def test_record_from_manifest(
    tmp_path: Path,
    status: str,
    task_id: str | None,
    on_disk: bool,
    has_files: bool,
    expected: JobStatus,
) -> None:
    (tmp_path / "k.mp4").write_bytes(b"abc")
    size = 3 if on_disk else 4
    line = {"key": "k", "kind": "m2v", "status": status, "task_id": task_id}
    line["files"] = [{"path": "k.mp4", "sha256": "x", "size": size}]  # type: ignore[assignment]
    rebuilt = record_from_manifest(line, P, tmp_path, has_files=has_files)
    assert rebuilt.status is expected
    assert rebuilt.task_id == task_id
    assert rebuilt.params == P


# -- resolve against the simulator ---------------------------------------------------------


@pytest.mark.anyio
async def test_resolve_checks_the_task_before_attaching_it(
    topview_simulator: SimulatorServer, tmp_path: Path
) -> None:
    sim = topview_simulator
    journal = MemoryJournal()
    lost = JobRecord("lost", "m2v", dict(P), S.OUTCOME_UNKNOWN, attempt=1)
    async with make_client(sim) as client:
        runner = JobRunner(client, tmp_path, journal=journal)
        done = (await runner.run([Job("done", "m2v", dict(Q))])).records[0]
        await journal.save([lost])
        other_link = await client.marketing_videos.submit(product_link="https://shop.test/9")
        page = await client.scraper.submit(product_link=P["product_link"])
        mine = await client.marketing_videos.submit(**P)
        refusals = {
            done.task_id: "is job 'done'",
            "no-such-task": "knows no m2v task",
            page.task_id: "knows no m2v task",  # a task of another kind
            other_link.task_id: "productLink is 'https://shop.test/9'",
        }
        for task_id, reason in refusals.items():
            assert task_id is not None
            with pytest.raises(InvalidInputError, match=reason):
                await runner.resolve("lost", task_id=task_id)
        stored = {r.key: r for r in await journal.load()}
        assert stored["lost"].status is S.OUTCOME_UNKNOWN  # nothing saved by a refusal
        resolved = await runner.resolve("lost", task_id=mine.task_id)
        assert (resolved.status, resolved.task_id) == (S.RUNNING, mine.task_id)


@pytest.mark.anyio
async def test_resubmit_is_refused_while_the_task_is_done_unless_forced(
    topview_simulator: SimulatorServer, tmp_path: Path
) -> None:
    journal = MemoryJournal()
    async with make_client(topview_simulator) as client:
        task = await client.marketing_videos.submit(**P)
        await task.wait()
        await journal.save([JobRecord("k", "m2v", dict(P), S.RUNNING, task_id=task.task_id)])
        runner = JobRunner(client, tmp_path, journal=journal)
        with pytest.raises(InvalidInputError, match=f"task {task.task_id} of job 'k' succeeded"):
            await runner.resolve("k", resubmit=True)
        resolved = await runner.resolve("k", resubmit=True, force=True)
    assert (resolved.status, resolved.task_id) == (S.PENDING, None)
    assert resolved.earlier_tasks[0]["task_id"] == task.task_id
