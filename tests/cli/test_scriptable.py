"""``topview`` for scripts: version, --debug anywhere, ``batch status --json``, a table that
stays readable at 80 columns, Ctrl-C that says how to resume (issue 20.3)."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from topview_async import __version__
from topview_async.cli import main
from topview_async.jobs import JobRecord, JobStatus
from topview_async.jobs._output import outcome_request
from topview_async.testing import SimulatorConfig, SimulatorServer

from .helpers import SUBMIT, start_batch, write_jobs

TIMEOUT = 120.0
"""Seconds a child process may take (a bound, not an expectation)."""


@pytest.fixture
def topview_simulator_config() -> SimulatorConfig:
    return SimulatorConfig(seed=4, time_scale=200.0, media_size=2048)


@pytest.fixture
def env(topview_simulator: SimulatorServer, monkeypatch: pytest.MonkeyPatch) -> SimulatorServer:
    monkeypatch.setenv("TOPVIEW_BASE_URL", topview_simulator.base_url)
    monkeypatch.setenv("TOPVIEW_API_KEY", topview_simulator.api_key)
    monkeypatch.setenv("TOPVIEW_UID", topview_simulator.uid)
    return topview_simulator


def batch_run(jobs: Path, out: Path) -> int:
    args = ["batch", "run", str(jobs), "--out", str(out), "--poll-interval", "0.01"]
    return main([*args, "--no-progress"])


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"topview {__version__}\n"


def test_debug_is_accepted_anywhere(env: SimulatorServer) -> None:
    with pytest.raises(Exception, match="not found"):
        main(["tasks", "get", "m2v", "no-such-task", "--debug"])
    with pytest.raises(Exception, match="not found"):
        main(["tasks", "--debug", "get", "m2v", "no-such-task"])


def test_status_json_has_every_field_and_the_request_of_an_unknown_outcome(
    env: SimulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env.faults.add(path="/v1/scraper/task/submit", drop_connection=True, times=1)
    jobs, out = tmp_path / "jobs.jsonl", tmp_path / "out"
    lines = [
        {"key": "page", "kind": "scraper", "params": {"product_link": "https://shop.test/p"}},
        {"key": "shoe", "kind": "m2v", "params": {"product_link": "https://shop.test/s"}},
    ]
    jobs.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert batch_run(jobs, out) == 1
    assert "request: -" not in capsys.readouterr().out
    assert main(["batch", "status", str(out), "--json"]) == 1
    rows = {row["key"]: row for row in map(json.loads, capsys.readouterr().out.splitlines())}
    fields = ["key", "kind", "status", "task_id", "files", "credits", "error", "request"]
    assert all(list(row) == fields for row in rows.values())
    page, shoe = rows["page"], rows["shoe"]
    assert page["status"] == "outcome_unknown"
    assert page["task_id"] is None
    assert "https://shop.test/p" in json.dumps(page["request"])
    assert shoe["status"] == "downloaded"
    assert shoe["request"] is None
    assert shoe["task_id"]
    assert shoe["files"]
    assert {"path", "sha256", "size"} <= shoe["files"][0].keys()


def test_a_crashed_submit_shows_the_request_it_was_sending() -> None:
    # A run killed with the submit in flight journals no request: it is rebuilt from the job.
    record = JobRecord("k", "m2v", {"product_link": "https://shop.test/1"}, attempt=2)
    record.status = JobStatus.OUTCOME_UNKNOWN
    assert outcome_request(record) == {
        "method": "POST",
        "path": "/v1/m2v/task/submit",
        "params": {"product_link": "https://shop.test/1"},
        "attempt": 2,
    }
    record.status = JobStatus.RUNNING
    assert outcome_request(record) is None


def test_status_stays_readable_at_80_columns(
    env: SimulatorServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    jobs, out = tmp_path / "jobs.jsonl", tmp_path / "out"
    keys = [f"a-rather-long-product-key-from-the-catalogue-{n:03d}" for n in range(3)]
    lines = [
        {"key": key, "kind": "m2v", "params": {"product_link": f"https://shop.test/{key}"}}
        for key in keys
    ]
    jobs.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert batch_run(jobs, out) == 0
    capsys.readouterr()
    from topview_async.cli import _batch

    monkeypatch.setattr(_batch._out, "_width", 80)
    assert main(["batch", "status", str(out)]) == 0
    text = capsys.readouterr().out
    task_ids = [task.task_id for task in env.simulator.tasks.values()]
    assert len(task_ids) == 3
    for whole in [*keys, *task_ids]:  # never cut, never folded: people copy them
        assert whole in text
    assert max(map(len, text.splitlines())) <= 80


def test_ctrl_c_says_how_to_resume_and_exits_130(
    topview_simulator: SimulatorServer, tmp_path: Path
) -> None:
    topview_simulator.simulator.config.time_scale = 0.001  # tasks that never end in this test
    jobs, out = tmp_path / "jobs.jsonl", tmp_path / "out"
    write_jobs(jobs, 2)
    process = start_batch(topview_simulator, jobs, out)
    sim = topview_simulator.simulator
    assert sim.wait_for(lambda: sim.requests.counts[SUBMIT] >= 2, timeout=TIMEOUT)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 130
    assert "run the same command again to resume" in err
