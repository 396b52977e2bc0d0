"""The ``topview`` commands, run in this process against the simulator fixture."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from topview_async.cli import main
from topview_async.testing import SimulatorConfig, SimulatorServer

from .helpers import m2v_tasks_by_link, read_manifest, write_jobs


@pytest.fixture
def topview_simulator_config() -> SimulatorConfig:
    return SimulatorConfig(seed=2, time_scale=200.0, media_size=2048)


@pytest.fixture
def env(topview_simulator: SimulatorServer, monkeypatch: pytest.MonkeyPatch) -> SimulatorServer:
    monkeypatch.setenv("TOPVIEW_BASE_URL", topview_simulator.base_url)
    monkeypatch.setenv("TOPVIEW_API_KEY", topview_simulator.api_key)
    monkeypatch.setenv("TOPVIEW_UID", topview_simulator.uid)
    return topview_simulator


def batch_run(jobs: Path, out: Path, *extra: str) -> int:
    args = ["batch", "run", str(jobs), "--out", str(out), "--poll-interval", "0.01"]
    return main([*args, "--no-progress", *extra])


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    for command in ("batch", "tasks", "upload", "credit", "voices", "simulator"):
        assert command in text


def test_a_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["batch", "run", "--bogus"]) == 2
    assert main(["batch", "resolve", "out", "key"]) == 2  # neither --task-id nor --resubmit


def test_an_error_is_one_line_without_a_traceback(
    env: SimulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tasks", "get", "m2v", "no-such-task"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("error: NotFoundError")
    assert "Traceback" not in err
    bad = tmp_path / "jobs.jsonl"
    bad.write_text("{not json}\n")
    assert batch_run(bad, tmp_path / "out") == 2
    assert "jobs.jsonl:1" in capsys.readouterr().err
    with pytest.raises(Exception, match="not found"):
        main(["--debug", "tasks", "get", "m2v", "no-such-task"])


def test_batch_run_status_and_resolve(
    env: SimulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs, out = tmp_path / "jobs.jsonl", tmp_path / "out"
    keys = write_jobs(jobs, 4)
    assert batch_run(jobs, out) == 0
    manifest = read_manifest(out)
    assert sorted(manifest) == keys
    assert all(row["status"] == "downloaded" for row in manifest.values())
    assert main(["batch", "status", str(out)]) == 0
    assert "shoe-003" in capsys.readouterr().out
    # Running it again resumes: nothing to do, nothing submitted.
    assert batch_run(jobs, out) == 0
    assert len(m2v_tasks_by_link(env)) == 4
    assert main(["batch", "resolve", str(out), "shoe-000", "--resubmit"]) == 2  # finished


def test_an_unknown_outcome_exits_1_and_resolve_attaches_the_task(
    env: SimulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env.faults.add(path="/v1/scraper/task/submit", drop_connection=True, times=1)
    jobs, out = tmp_path / "jobs.jsonl", tmp_path / "out"
    line = {"key": "page", "kind": "scraper", "params": {"product_link": "https://shop.test/1"}}
    jobs.write_text(json.dumps(line) + "\n")
    assert batch_run(jobs, out) == 1
    text = capsys.readouterr().out
    assert "outcome_unknown page" in text
    assert "https://shop.test/1" in text  # the request that was sent
    (task_id,) = env.simulator.tasks
    assert main(["batch", "resolve", str(out), "page", "--task-id", task_id]) == 0
    assert batch_run(jobs, out) == 0
    assert read_manifest(out)["page"]["task_id"] == task_id
    assert len(env.simulator.tasks) == 1


def test_max_credits_stops_before_the_budget_is_exceeded(
    env: SimulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs, out = tmp_path / "jobs.jsonl", tmp_path / "out"
    write_jobs(jobs, 4)
    assert batch_run(jobs, out, "--max-credits", "10", "--max-cost-per-job", "5") == 1
    assert "credit budget of 10:" in capsys.readouterr().out
    assert len(m2v_tasks_by_link(env)) == 2


def test_max_credits_3_with_a_first_submit_costing_5_sends_nothing(
    env: SimulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs, out = tmp_path / "jobs.jsonl", tmp_path / "out"
    write_jobs(jobs, 2)
    assert batch_run(jobs, out, "--max-credits", "3", "--max-cost-per-job", "5") == 1
    assert "the next job may cost 5" in capsys.readouterr().out
    assert env.simulator.requests.counts["/v1/m2v/task/submit"] == 0


def test_budget_mode_without_a_bound_refuses_to_start(
    env: SimulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs, out = tmp_path / "jobs.jsonl", tmp_path / "out"
    write_jobs(jobs, 2)
    assert batch_run(jobs, out, "--max-credits", "100") == 2
    assert "--max-cost-per-job" in capsys.readouterr().err
    assert env.simulator.requests.counts["/v1/m2v/task/submit"] == 0


def test_everyday_commands(
    env: SimulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = tmp_path / "product.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    assert main(["upload", str(image)]) == 0
    file_id = capsys.readouterr().out.split()[0]
    assert file_id in env.simulator.uploads
    assert main(["credit"]) == 0
    assert "credit: 100000" in capsys.readouterr().out
    assert main(["voices", "list", "--page-size", "2", "--json"]) == 0
    voices = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(voices) == 2
    assert "voiceId" in voices[0]


def test_tasks_get_waits_and_downloads(
    env: SimulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import anyio

    from topview_async import AsyncTopview

    async def submit() -> str:
        async with AsyncTopview() as client:
            task = await client.scraper.submit(product_link="https://shop.test/1")
            return task.task_id

    task_id = anyio.run(submit)
    assert main(["tasks", "get", "scraper", task_id, "--download", str(tmp_path / "d")]) == 0
    assert '"status": "success"' in capsys.readouterr().out
