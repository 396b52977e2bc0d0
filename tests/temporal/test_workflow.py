"""The job workflow against a real Temporal dev server and the simulator, worker in process."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

pytest.importorskip("temporalio", reason="the temporal extra is not installed")

from temporalio.client import Client

from topview_async.jobs import Job, JobStatus
from topview_async.temporal import (
    JobOptions,
    WorkerLimits,
    create_workers,
    follow_jobs,
    start_jobs,
)
from topview_async.testing import SimulatorConfig, SimulatorServer

from .conftest import DevServer, make_client

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("short_sdk_sleeps")]

FAST = JobOptions(
    heartbeat_timeout=5.0,
    poll_interval=0.2,
    busy_wait=0.2,
    busy_wait_max=0.5,
    retry_wait=0.05,
    reconcile_grace=1.0,
    reconcile_interval=0.2,
)


@contextlib.asynccontextmanager
async def running_worker(
    temporal: Client, sim: SimulatorServer, queue: str, notice_url: str | None = None
) -> AsyncIterator[None]:
    async with make_client(sim) as topview:
        main, submits = create_workers(
            temporal,
            topview,
            task_queue=queue,
            notice_url=notice_url,
            limits=WorkerLimits(submits_per_second=None),
        )
        async with main, submits:
            yield


def m2v_jobs(count: int, prefix: str = "shoe") -> list[Job]:
    return [
        Job(f"{prefix}-{n}", "m2v", {"product_link": f"https://shop.test/{prefix}-{n}"})
        for n in range(count)
    ]


async def test_jobs_run_to_their_files_and_a_second_start_adds_nothing(
    temporal_server: DevServer, tmp_path: Path
) -> None:
    queue, prefix = f"q-{uuid.uuid4().hex}", f"t-{uuid.uuid4().hex[:8]}-"
    config = SimulatorConfig(seed=3, time_scale=60.0, media_size=2048)
    jobs = m2v_jobs(5)
    kinds = {job.key: job.kind for job in jobs}
    with SimulatorServer(config) as sim:
        temporal = await Client.connect(temporal_server.address)
        async with running_worker(temporal, sim, queue):
            handles = await start_jobs(
                temporal, jobs, tmp_path, options=FAST, task_queue=queue, id_prefix=prefix
            )
            states = await follow_jobs(handles, kinds, interval=0.1)
            again = await start_jobs(
                temporal, jobs, tmp_path, options=FAST, task_queue=queue, id_prefix=prefix
            )
            repeated = await follow_jobs(again, kinds, interval=0.1)
        tasks = [t for t in sim.simulator.tasks.values() if t.kind == "m2v"]
    assert len(tasks) == 5
    for job in jobs:
        record = states[job.key].record
        assert record.status is JobStatus.DOWNLOADED, record
        assert record.files
        assert (tmp_path / record.files[0]["path"]).is_file()
        assert repeated[job.key].record == record
        assert again[job.key].id == handles[job.key].id
