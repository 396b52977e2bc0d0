"""``topview batch run`` killed with SIGKILL, again and again, still costs one task per job.

The simulator runs in this process (so its state can be inspected); the command runs as a
subprocess and is killed when the simulator has seen a seeded, random amount of progress
(submits received, media downloads served), then started again, until it exits 0.
"""

from __future__ import annotations

import hashlib
import random
import signal
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from topview_async.lib.downloads import RESUME_OVERLAP
from topview_async.testing import Fault, SimulatorConfig, SimulatorServer

from .helpers import SUBMIT, m2v_tasks_by_link, read_manifest, start_batch, write_jobs

JOBS = 200
RUN_TIMEOUT = 120.0
"""Seconds one run may take before the test gives up (a bound, not an expectation)."""


def _notifying_sleep(holder: dict[str, SimulatorServer]) -> Callable[[float], object]:
    """The simulator's sleep, waking ``wait_for`` watchers first (a request is in a latency
    fault, or the delivery loop ticks), so the test sees progress as it happens."""

    async def sleep(seconds: float) -> None:
        server = holder.get("server")
        if server is not None:
            server.simulator.notify()
        await anyio.sleep(seconds)

    return sleep


def _media_served(server: SimulatorServer) -> int:
    return sum(1 for r in server.simulator.requests if r.path.startswith("/_storage/media/"))


def _finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    out, err = process.communicate(timeout=RUN_TIMEOUT)
    return process.returncode, out + err


pytestmark = pytest.mark.slow


def test_sigkill_at_random_moments_never_submits_a_job_twice(tmp_path: Path) -> None:
    rng = random.Random(1313)
    holder: dict[str, SimulatorServer] = {}
    config = SimulatorConfig(
        seed=13,
        time_scale=60.0,  # an M2V task takes 0.1 s
        media_size=32 * 1024,
        faults=[
            Fault(path=SUBMIT, latency=0.05, rate=0.3),  # wider windows for a kill in flight
            Fault(path=SUBMIT, business_code="5003", rate=0.03),
            Fault(path="/v1/m2v/task/query", http_status=503, rate=0.03),
            Fault(path="/_storage/media/*", truncate_body=8 * 1024, rate=0.05),
        ],
        sleep=_notifying_sleep(holder),  # type: ignore[arg-type]
    )
    jobs, out = tmp_path / "jobs.jsonl", tmp_path / "out"
    keys = write_jobs(jobs, JOBS)
    # Seeded kill points: after so many submits received, or media files served, in total.
    kills: list[tuple[str, int]] = sorted(
        [
            ("submits", rng.randint(10, 90)),
            ("submits", rng.randint(100, 190)),
            ("media", rng.randint(20, 250)),
            ("media", rng.randint(300, 550)),
        ],
        key=lambda kill: kill[1] if kill[0] == "submits" else kill[1] // 3,
    )
    with SimulatorServer(config) as server:
        holder["server"] = server
        sim = server.simulator
        progress = {
            "submits": lambda: sim.requests.counts[SUBMIT],
            "media": lambda: _media_served(server),
        }
        killed = 0
        for _run in range(len(kills) + 4):
            process = start_batch(
                server, jobs, out, "--concurrency", "16", "--reconcile-grace", "1"
            )
            if killed < len(kills):
                measure, target = kills[killed]

                def due(measure: str = measure, target: int = target) -> bool:
                    return progress[measure]() >= target or process.poll() is not None  # noqa: B023

                reached = sim.wait_for(due, timeout=RUN_TIMEOUT)
                assert reached, f"no progress to {measure} >= {target}"
                if process.poll() is None:
                    process.send_signal(signal.SIGKILL)
                    process.wait(timeout=RUN_TIMEOUT)
                    killed += 1
                    continue
            code, output = _finish(process)
            if code == 0:
                break
            assert code == 1, output  # some jobs pending: the next run resumes them
        else:
            pytest.fail("the batch never finished")
        assert killed >= 3, "the kills came too late to test anything"
        tasks = m2v_tasks_by_link(server)

    manifest = read_manifest(out)
    assert sorted(manifest) == keys
    for key in keys:
        assert len(tasks[f"https://shop.test/{key}"]) == 1, f"{key} was submitted twice"
        row = manifest[key]
        assert row["status"] == "downloaded", row
        assert row["task_id"] == tasks[f"https://shop.test/{key}"][0]
        assert row["files"]
        for entry in row["files"]:
            data = (out / entry["path"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == entry["sha256"]
            assert len(data) == entry["size"] == 32 * 1024
    assert len(tasks) == JOBS
    leftovers = [p for p in out.rglob("*") if p.name.endswith(".part") or p.suffix == ".part"]
    assert leftovers == []
    assert not (out / ".staging").exists() or not any((out / ".staging").iterdir())


def test_a_kill_while_the_submit_is_in_flight_is_reconciled_not_resubmitted(
    tmp_path: Path,
) -> None:
    """The submit reaches the simulator, which holds it (latency) before creating the task;
    the command is killed meanwhile. The next run finds the task in the M2V task list."""
    holder: dict[str, SimulatorServer] = {}
    config = SimulatorConfig(
        seed=5,
        time_scale=60.0,
        media_size=4096,
        faults=[Fault(path=SUBMIT, latency=1.0, times=1)],
        sleep=_notifying_sleep(holder),  # type: ignore[arg-type]
    )
    jobs, out = tmp_path / "jobs.jsonl", tmp_path / "out"
    keys = write_jobs(jobs, 3)
    with SimulatorServer(config) as server:
        holder["server"] = server
        sim = server.simulator
        process = start_batch(server, jobs, out, "--concurrency", "1", "--reconcile-grace", "0")
        assert sim.wait_for(lambda: sim.requests.in_flight(SUBMIT) >= 1, timeout=RUN_TIMEOUT)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=RUN_TIMEOUT)
        # The simulator finishes handling the request it holds: the task exists, unanswered.
        assert sim.wait_for(lambda: len(m2v_tasks_by_link(server)) == 1, timeout=RUN_TIMEOUT)
        (created,) = next(iter(m2v_tasks_by_link(server).values()))

        code, output = _finish(start_batch(server, jobs, out, "--reconcile-grace", "0"))
        assert code == 0, output
        tasks = m2v_tasks_by_link(server)
        submits = sim.requests.counts[SUBMIT]

    manifest = read_manifest(out)
    assert {len(ids) for ids in tasks.values()} == {1}
    assert len(tasks) == len(keys)
    assert submits == len(keys)  # the killed submit was never sent again
    assert created in {row["task_id"] for row in manifest.values()}
    assert all(row["status"] == "downloaded" for row in manifest.values())


MEDIA_SIZE = 3 << 20
STALL = 300.0
"""The stall of the first media answer: ended early once the command was killed."""


def test_a_kill_mid_download_resumes_the_part_file_with_a_range(tmp_path: Path) -> None:
    """The first media answer stalls after 2.5 MiB, so the command's first 2 MiB chunk is
    on disk in the ``.part`` file when it is killed; the next run asks for the rest with
    ``Range`` and ``If-Range`` instead of downloading from zero."""
    holder: dict[str, SimulatorServer] = {}
    killed = threading.Event()
    out = tmp_path / "out"

    def kept_part() -> int:
        parts = list(out.glob(".staging/*/.*.part"))
        sidecars = list(out.glob(".staging/*/.*.part.json"))
        return parts[0].stat().st_size if len(parts) == 1 and sidecars else 0

    async def sleep(seconds: float) -> None:
        server = holder.get("server")
        if seconds != STALL:
            if server is not None:
                server.simulator.notify()
            await anyio.sleep(seconds)
            return
        # The stall: wake the test now and then (it watches the file system) until the
        # command is killed; bounded by STALL in any case.
        for _ in range(int(STALL / 0.02)):
            if killed.is_set():
                return
            if server is not None:
                server.simulator.notify()
            await anyio.sleep(0.02)

    config = SimulatorConfig(
        seed=7,
        time_scale=60.0,
        media_size=MEDIA_SIZE,
        faults=[
            Fault(path="/_storage/media/*", stall=STALL, stall_after=5 << 19, times=1),
        ],
        sleep=sleep,  # type: ignore[arg-type]
    )
    jobs = tmp_path / "jobs.jsonl"
    write_jobs(jobs, 1)
    with SimulatorServer(config) as server:
        holder["server"] = server
        sim = server.simulator
        process = start_batch(server, jobs, out)
        assert sim.wait_for(lambda: kept_part() > 0, timeout=RUN_TIMEOUT)
        kept = kept_part()
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=RUN_TIMEOUT)
        killed.set()

        code, output = _finish(start_batch(server, jobs, out))
        assert code == 0, output
        media = [r for r in sim.requests if r.path.startswith("/_storage/media/")]

    assert kept == 2 << 20  # one whole chunk
    # The task has several files; the stalled one (the first asked for) is the one resumed.
    stalled = media[0].path
    assert media[0].header("range") is None
    resumes = [r for r in media if r.header("range") is not None]
    assert [r.path for r in resumes] == [stalled]
    assert resumes[0].header("range") == f"bytes={kept - RESUME_OVERLAP}-"
    assert resumes[0].header("if-range")
    (row,) = read_manifest(out).values()
    assert row["status"] == "downloaded"
    assert row["files"]
    for entry in row["files"]:
        data = (out / entry["path"]).read_bytes()
        assert len(data) == MEDIA_SIZE
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    assert not (out / ".staging").exists()
