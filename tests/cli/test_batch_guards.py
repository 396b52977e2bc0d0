"""What keeps a batch from paying twice at its edges (issue 19): a lost journal, two runs on
one OUT, failed jobs, hand decisions. The commands run in this process against the simulator."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from topview_async import AsyncTopview, BatchLockedError
from topview_async.cli import main
from topview_async.jobs import Job, JobRunner
from topview_async.jobs._lock import DirectoryLock
from topview_async.testing import SimulatorConfig, SimulatorServer

from .helpers import SUBMIT, m2v_tasks_by_link, read_manifest, start_batch, write_jobs


@pytest.fixture
def topview_simulator_config() -> SimulatorConfig:
    return SimulatorConfig(seed=3, time_scale=200.0, media_size=2048)


@pytest.fixture
def env(topview_simulator: SimulatorServer, monkeypatch: pytest.MonkeyPatch) -> SimulatorServer:
    monkeypatch.setenv("TOPVIEW_BASE_URL", topview_simulator.base_url)
    monkeypatch.setenv("TOPVIEW_API_KEY", topview_simulator.api_key)
    monkeypatch.setenv("TOPVIEW_UID", topview_simulator.uid)
    return topview_simulator


def batch_run(jobs: Path, out: Path, *extra: str) -> int:
    args = ["batch", "run", str(jobs), "--out", str(out), "--poll-interval", "0.01"]
    return main([*args, "--no-progress", *extra])


def submits_per_link(sim: SimulatorServer) -> set[int]:
    return {len(ids) for ids in m2v_tasks_by_link(sim).values()}


def _delete(path: Path) -> None:
    path.unlink()


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _foreign(path: Path) -> None:
    path.unlink()
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE notes (text TEXT)")


def _newer(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA user_version=99")


@pytest.mark.parametrize(
    "damage", [_delete, _empty, _foreign, _newer], ids=["deleted", "emptied", "foreign", "newer"]
)
def test_a_lost_journal_submits_nothing_and_says_how_to_continue(
    env: SimulatorServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    damage: Callable[[Path], None],
) -> None:
    jobs, out = tmp_path / "jobs.jsonl", tmp_path / "out"
    write_jobs(jobs, 3)
    assert batch_run(jobs, out) == 0
    capsys.readouterr()
    damage(out / "journal.sqlite3")
    assert batch_run(jobs, out) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1  # one line
    assert "JournalUnusableError" in err
    assert submits_per_link(env) == {1}
    assert f"topview batch rebuild {out}" in err
    assert main(["batch", "rebuild", str(out)]) == 0
    assert list(out.glob("journal.sqlite3.unusable-*")) or damage is _delete  # kept aside
    assert "3 with a task" in capsys.readouterr().out
    assert batch_run(jobs, out) == 0
    assert submits_per_link(env) == {1}
    assert all(row["status"] == "downloaded" for row in read_manifest(out).values())


def test_the_journal_records_its_schema_version(env: SimulatorServer, tmp_path: Path) -> None:
    from topview_async.jobs._sqlite import SCHEMA_VERSION

    jobs, out = tmp_path / "jobs.jsonl", tmp_path / "out"
    write_jobs(jobs, 1)
    assert batch_run(jobs, out) == 0
    with sqlite3.connect(out / "journal.sqlite3") as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 1


def test_rebuild_keeps_what_each_job_had(env: SimulatorServer, tmp_path: Path) -> None:
    """Deleted files are fetched again from the same task; an unfinished job stays unpaid."""
    jobs, out = tmp_path / "jobs.jsonl", tmp_path / "out"
    keys = write_jobs(jobs, 3)
    assert batch_run(jobs, out) == 0
    first = read_manifest(out)
    (out / first[keys[0]]["files"][0]["path"]).unlink()
    (out / "journal.sqlite3").unlink()
    assert main(["batch", "rebuild", str(out)]) == 0
    assert batch_run(jobs, out) == 0
    again = read_manifest(out)
    assert {k: r["task_id"] for k, r in again.items()} == {
        k: r["task_id"] for k, r in first.items()
    }
    assert (out / first[keys[0]]["files"][0]["path"]).exists()
    assert submits_per_link(env) == {1}
    assert main(["batch", "rebuild", str(out)]) == 2  # the journal is usable: nothing to do


def test_a_second_run_on_the_same_out_exits_2_naming_the_holder(
    env: SimulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs, out = tmp_path / "jobs.jsonl", tmp_path / "out"
    write_jobs(jobs, 2)
    with DirectoryLock(out):  # another run, as far as the command can tell
        assert batch_run(jobs, out) == 2
        err = capsys.readouterr().err
        assert "BatchLockedError" in err
        assert f"process {os.getpid()}" in err
        assert main(["batch", "resolve", str(out), "shoe-000", "--resubmit"]) == 2
    assert not m2v_tasks_by_link(env)
    assert batch_run(jobs, out) == 0  # released: the next run goes ahead


def test_a_run_holds_the_lock_for_its_whole_length(
    env: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each change the run reports is made while a second run could not start."""
    from topview_async.cli import _batch

    jobs, out = tmp_path / "jobs.jsonl", tmp_path / "out"
    write_jobs(jobs, 2)
    seen: list[bool] = []
    original = _batch._Tracker.update

    def update(self: _batch._Tracker, record: object) -> None:
        try:
            DirectoryLock(out).acquire()
        except BatchLockedError as exc:
            seen.append(exc.pid == os.getpid())
        else:
            seen.append(False)
        original(self, record)  # type: ignore[arg-type]

    monkeypatch.setattr(_batch._Tracker, "update", update)
    assert batch_run(jobs, out) == 0
    assert seen
    assert all(seen)


def test_temporal_engine_takes_the_same_lock(
    env: SimulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("temporalio")
    jobs, out = tmp_path / "jobs.jsonl", tmp_path / "out"
    write_jobs(jobs, 1)
    with DirectoryLock(out):
        # Refused before it connects: no Temporal server is needed to see it.
        code = batch_run(jobs, out, "--engine", "temporal", "--temporal-address", "127.0.0.1:9")
    assert code == 2
    assert f"process {os.getpid()}" in capsys.readouterr().err


# -- failed jobs ------------------------------------------------------------------------------


def test_a_job_failed_before_sending_is_retried_once_its_line_is_fixed(
    env: SimulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs, out = tmp_path / "jobs.jsonl", tmp_path / "out"
    bad = {"key": "shoe", "kind": "m2v", "params": {"product_link": "https://shop.test/1"}}
    bad["params"]["no_such_argument"] = 1  # type: ignore[index]
    jobs.write_text(json.dumps(bad) + "\n")
    # The command checks the whole file first: the bad line is refused, nothing journaled.
    assert batch_run(jobs, out) == 2
    assert not (out / "journal.sqlite3").exists()
    # A library runner (no whole-file check) fails the job at its submit, before sending.

    async def run_once() -> None:
        async with AsyncTopview() as client, JobRunner(client, out) as runner:
            await runner.run([Job("shoe", "m2v", dict(bad["params"]))])  # type: ignore[call-overload]

    anyio.run(run_once)
    assert read_manifest(out)["shoe"]["status"] == "failed"
    assert not m2v_tasks_by_link(env)
    del bad["params"]["no_such_argument"]  # type: ignore[attr-defined]
    jobs.write_text(json.dumps(bad) + "\n")
    assert batch_run(jobs, out) == 0
    assert read_manifest(out)["shoe"]["status"] == "downloaded"
    assert submits_per_link(env) == {1}


def test_a_task_failed_at_topview_is_retried_only_when_asked(
    env: SimulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs, out = tmp_path / "jobs.jsonl", tmp_path / "out"
    keys = write_jobs(jobs, 2)
    env.simulator.config.failure_probability = {"m2v": 1.0}
    assert batch_run(jobs, out) == 1
    failed = read_manifest(out)
    assert {r["status"] for r in failed.values()} == {"failed"}
    assert batch_run(jobs, out) == 1  # not retried by itself: a new task is paid
    assert submits_per_link(env) == {1}
    env.simulator.config.failure_probability = {}
    capsys.readouterr()
    assert main(["batch", "retry", str(out), "no-such-key"]) == 2
    assert main(["batch", "retry", str(out), keys[0]]) == 0
    assert "NEW PAID TASK" in capsys.readouterr().out
    assert batch_run(jobs, out) == 1  # the other job is still failed
    rows = read_manifest(out)
    new_task = rows[keys[0]]["task_id"]
    assert f"retried {keys[0]}: task {new_task} is a new paid task" in capsys.readouterr().out
    assert rows[keys[0]]["status"] == "downloaded"
    assert rows[keys[0]]["earlier_tasks"][0]["task_id"] == failed[keys[0]]["task_id"]
    assert rows[keys[1]]["status"] == "failed"
    assert main(["batch", "retry", str(out)]) == 0  # every job whose task failed
    assert batch_run(jobs, out) == 0
    assert submits_per_link(env) == {2}


def test_params_of_a_job_with_a_task_stay_fixed(env: SimulatorServer, tmp_path: Path) -> None:
    jobs, out = tmp_path / "jobs.jsonl", tmp_path / "out"
    write_jobs(jobs, 1)
    assert batch_run(jobs, out) == 0
    jobs.write_text(jobs.read_text().replace("shop.test", "other.test"))
    assert batch_run(jobs, out) == 2


def test_resolve_refusals_exit_2_and_say_why(
    env: SimulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env.faults.add(path="/v1/scraper/task/submit", drop_connection=True, times=1)
    jobs, out = tmp_path / "jobs.jsonl", tmp_path / "out"
    line = {"key": "page", "kind": "scraper", "params": {"product_link": "https://shop.test/1"}}
    jobs.write_text(json.dumps(line) + "\n")
    assert batch_run(jobs, out) == 1
    capsys.readouterr()
    assert main(["batch", "resolve", str(out), "page", "--task-id", "no-such-task"]) == 2
    assert "Topview knows no scraper task no-such-task" in capsys.readouterr().err
    (task_id,) = env.simulator.tasks
    assert main(["batch", "resolve", str(out), "page", "--task-id", task_id]) == 0
    assert batch_run(jobs, out) == 0
    assert main(["batch", "resolve", str(out), "page", "--resubmit"]) == 2
    assert "--force" in capsys.readouterr().err
    assert len(env.simulator.tasks) == 1


# -- credits ----------------------------------------------------------------------------------


def test_the_summary_reports_what_the_balance_lost(
    env: SimulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """M2V results carry no costCredit: their credits come from the credit log; a text to
    video result carries it, and is counted once."""
    jobs, out = tmp_path / "jobs.jsonl", tmp_path / "out"
    write_jobs(jobs, 4)
    clip = {"model": "Veo 3.1", "prompt": "A cat", "duration": 8, "generating_count": 1}
    with jobs.open("a") as stream:
        stream.write(json.dumps({"key": "clip", "kind": "text_to_video", "params": clip}) + "\n")
    sim = env.simulator
    before = sim.ledger.balance(env.uid, sim.now())
    assert batch_run(jobs, out) == 0
    spent = before - sim.ledger.balance(env.uid, sim.now())
    assert spent == pytest.approx(4 * 5 + 3.3 * 8)  # the spec's prices: export, Veo 3.1 per s
    assert f"5 jobs: 5 downloaded; {spent:g} credits" in capsys.readouterr().out
    rows = read_manifest(out)
    assert rows.pop("clip")["credits"] == pytest.approx(3.3 * 8)
    assert {row["credits"] for row in rows.values()} == {5.0}
    logs = len(sim.requests.for_path("/user/credit/logs"))
    assert batch_run(jobs, out) == 0  # journaled: not asked again
    assert len(sim.requests.for_path("/user/credit/logs")) == logs


def test_a_second_process_is_refused_until_the_first_is_killed(
    env: SimulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real ``topview batch run`` holds the lock; killed with SIGKILL, it leaves none."""
    sim = env.simulator
    jobs, out = tmp_path / "jobs.jsonl", tmp_path / "out"
    write_jobs(jobs, 1)
    sim.config.task_durations = {"m2v": 1e9}  # the first run waits for its task
    first = start_batch(env, jobs, out)
    try:
        # Its submit arrived: the intent was journaled, so the lock is held.
        assert sim.wait_for(lambda: sim.requests.counts[SUBMIT] >= 1, 60)
        assert batch_run(jobs, out) == 2
        assert f"in use by process {first.pid}" in capsys.readouterr().err
    finally:
        first.kill()
        first.communicate(timeout=60)
    for task in sim.tasks.values():
        task.duration = 0.0
    assert batch_run(jobs, out) == 0
    assert submits_per_link(env) == {1}


def test_a_rebuild_from_a_stale_manifest_finds_the_m2v_task_of_a_lost_run(
    env: SimulatorServer, tmp_path: Path
) -> None:
    """The manifest predates a run that paid for a job and crashed before writing it: the
    rebuilt job is looked for in the M2V task list, not submitted again; a job no run sent
    is submitted once."""
    jobs, out = tmp_path / "jobs.jsonl", tmp_path / "out"
    (paid,) = write_jobs(jobs, 1)
    assert batch_run(jobs, out) == 0
    row = read_manifest(out)[paid]
    for entry in row["files"]:
        (out / entry["path"]).unlink()
    new = {"key": "new", "kind": "m2v", "params": {"product_link": "https://shop.test/new"}}
    with jobs.open("a") as stream:
        stream.write(json.dumps(new) + "\n")
    stale = [
        row | {"status": "pending", "task_id": None, "files": [], "credits": None},
        new | {"status": "pending", "task_id": None, "files": []},
    ]
    (out / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in stale))
    (out / "journal.sqlite3").unlink()
    assert main(["batch", "rebuild", str(out)]) == 0
    assert batch_run(jobs, out, "--reconcile-grace", "0") == 0
    assert read_manifest(out)[paid]["task_id"] == row["task_id"]
    assert submits_per_link(env) == {1}
    assert len(m2v_tasks_by_link(env)) == 2
