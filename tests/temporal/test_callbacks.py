"""Proof: a callback that lands in another process than the submit's resolves the wait.

A worker process submits with its notice URL; the simulator delivers the callbacks to a
FastAPI app in *this* process, where a :class:`TemporalNoticeApp` signals the job's workflow.
The workflows' safety-net poll is an hour away, so only the callbacks can end the waits. One
image-to-video submit loses its response (the task exists): its callback, naming the job and
the attempt, settles it without a second submit. Also: the upload activity uploads the local
image first.
"""

from __future__ import annotations

import functools
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest

pytest.importorskip("temporalio", reason="the temporal extra is not installed")

import uvicorn
from fastapi import FastAPI
from temporalio.client import Client

from topview_async import AsyncTopview
from topview_async.jobs import Job, JobStatus
from topview_async.temporal import JobOptions, TemporalNoticeApp, follow_jobs, start_jobs
from topview_async.testing import Fault, SimulatorConfig, SimulatorServer
from topview_async.webhooks import TaskNotice, build_notice_url

from ..e2e.helpers import write_png
from ._processes import start_worker, stop
from .conftest import DevServer

pytestmark = pytest.mark.anyio

SECRET = "temporal-callback-secret-0123456789"
I2V_SUBMIT = "/v1/common_task/image2video/submit"
HOUR = 3600.0


@asynccontextmanager
async def notice_backend(
    temporal: Client, sim: SimulatorServer, received: list[TaskNotice], id_prefix: str
) -> AsyncIterator[str]:
    """FastAPI with the Temporal notice app, on uvicorn on loopback; yields the notice URL."""

    async def record(notice: TaskNotice) -> None:
        received.append(notice)

    async with AsyncTopview(api_key=sim.api_key, uid=sim.uid, base_url=sim.base_url) as client:
        app = FastAPI()
        notices = TemporalNoticeApp(
            temporal, secret=SECRET, client=client, handler=record, id_prefix=id_prefix
        )
        app.add_route("/topview/notice", notices, methods=["POST"])
        server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        async with anyio.create_task_group() as group:
            group.start_soon(functools.partial(server.serve, sockets=[sock]))
            try:
                port = sock.getsockname()[1]
                yield build_notice_url(f"http://127.0.0.1:{port}/topview/notice", SECRET)
            finally:
                server.should_exit = True
        sock.close()


async def test_callbacks_in_another_process_end_the_waits(
    temporal_server: DevServer, tmp_path: Path
) -> None:
    image = write_png(tmp_path / "shoe.png")
    config = SimulatorConfig(
        seed=21,
        time_scale=60.0,
        media_size=2048,
        faults=[Fault(path=I2V_SUBMIT, drop_connection=True, times=1)],
    )
    jobs = [
        *(Job(f"cb-{n}", "m2v", {"product_link": f"https://shop.test/cb-{n}"}) for n in range(3)),
        Job(
            "cb-image",
            "image_to_video",
            {"image_file_id": str(image), "duration": 5, "mode": "lite", "generating_count": 1},
        ),
    ]
    queue, prefix = f"cb-{uuid.uuid4().hex[:8]}", f"cb-{uuid.uuid4().hex[:8]}-"
    options = JobOptions(heartbeat_timeout=5.0, poll_interval=HOUR, reconcile_grace=HOUR)
    received: list[TaskNotice] = []
    with SimulatorServer(config) as sim:
        temporal = await Client.connect(temporal_server.address)
        async with notice_backend(temporal, sim, received, prefix) as notice_url:
            worker = start_worker(
                sim, temporal_server.address, queue, tmp_path / "worker.log",
                "--notice-url", notice_url,
            )  # fmt: skip
            try:
                handles = await start_jobs(
                    temporal, jobs, tmp_path / "out", options=options,
                    task_queue=queue, id_prefix=prefix,
                )  # fmt: skip
                with anyio.fail_after(120):
                    states = await follow_jobs(handles, interval=0.1)
            finally:
                await anyio.to_thread.run_sync(stop, worker)
        i2v_tasks = [t for t in sim.simulator.tasks.values() if t.kind == "image_to_video"]
        i2v_submits = sim.simulator.requests.counts[I2V_SUBMIT]

    log = (tmp_path / "worker.log").read_text()
    for job in jobs:
        record = states[job.key].record
        assert record.status is JobStatus.DOWNLOADED, (record, log[-2000:])
        assert record.files
    image_record = states["cb-image"].record
    assert image_record.attempt == 1  # its lost submit was settled by the callback, not resent
    assert i2v_submits == 1
    assert [t.task_id for t in i2v_tasks] == [image_record.task_id]
    assert {n.task_id for n in received} == {states[j.key].record.task_id for j in jobs}
