"""The job workflow against a real Temporal dev server and the simulator, worker in process."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

pytest.importorskip("temporalio", reason="the temporal extra is not installed")

from temporalio.client import Client

from topview_async.jobs import Job, JobStatus
from topview_async.temporal import (
    JobOptions,
    JobWorkflow,
    WorkerLimits,
    create_workers,
    follow_jobs,
    start_jobs,
)
from topview_async.testing import Fault, SimulatorConfig, SimulatorServer

from ..cli.helpers import environment, topview
from ..e2e.helpers import write_png
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
    with SimulatorServer(config) as sim:
        temporal = await Client.connect(temporal_server.address)
        async with running_worker(temporal, sim, queue):
            handles = await start_jobs(
                temporal, jobs, tmp_path, options=FAST, task_queue=queue, id_prefix=prefix
            )
            states = await follow_jobs(handles, interval=0.1)
            again = await start_jobs(
                temporal, jobs, tmp_path, options=FAST, task_queue=queue, id_prefix=prefix
            )
            repeated = await follow_jobs(again, interval=0.1)
        tasks = [t for t in sim.simulator.tasks.values() if t.kind == "m2v"]
    assert len(tasks) == 5
    for job in jobs:
        record = states[job.key].record
        assert record.status is JobStatus.DOWNLOADED, record
        assert record.files
        assert (tmp_path / record.files[0]["path"]).is_file()
        assert repeated[job.key].record == record
        assert again[job.key].id == handles[job.key].id


SUBMIT = "/v1/m2v/task/submit"
I2V_SUBMIT = "/v1/common_task/image2video/submit"


@pytest.mark.parametrize(
    ("fault", "submits"),
    [
        (Fault(path=SUBMIT, drop_connection=True, times=1), 1),  # created, answer lost: found
        (Fault(path=SUBMIT, drop_before_handler=True, times=1), 2),  # never created: sent again
    ],
    ids=["found-in-the-task-list", "absent-after-grace"],
)
async def test_an_m2v_submit_of_unknown_outcome_is_reconciled_through_the_task_list(
    temporal_server: DevServer, tmp_path: Path, fault: Fault, submits: int
) -> None:
    queue, prefix = f"q-{uuid.uuid4().hex}", f"t-{uuid.uuid4().hex[:8]}-"
    config = SimulatorConfig(seed=4, time_scale=60.0, media_size=2048, faults=[fault])
    jobs = m2v_jobs(1, "lost")
    with SimulatorServer(config) as sim:
        temporal = await Client.connect(temporal_server.address)
        async with running_worker(temporal, sim, queue):
            handles = await start_jobs(
                temporal, jobs, tmp_path, options=FAST, task_queue=queue, id_prefix=prefix
            )
            with anyio.fail_after(60):
                states = await follow_jobs(handles, interval=0.1)
        tasks = [t.task_id for t in sim.simulator.tasks.values() if t.kind == "m2v"]
        sent = sim.simulator.requests.counts[SUBMIT]
    record = states["lost-0"].record
    assert record.status is JobStatus.DOWNLOADED, record
    assert tasks == [record.task_id]
    assert sent == submits
    assert record.attempt == submits


async def test_too_many_unfinished_tasks_holds_submits_until_tasks_finish(
    temporal_server: DevServer, tmp_path: Path
) -> None:
    queue, prefix = f"q-{uuid.uuid4().hex}", f"t-{uuid.uuid4().hex[:8]}-"
    config = SimulatorConfig(seed=5, time_scale=20.0, media_size=2048, max_unfinished_tasks=2)
    jobs = m2v_jobs(6, "busy")
    with SimulatorServer(config) as sim:
        temporal = await Client.connect(temporal_server.address)
        async with running_worker(temporal, sim, queue):
            handles = await start_jobs(
                temporal, jobs, tmp_path, options=FAST, task_queue=queue, id_prefix=prefix
            )
            with anyio.fail_after(90):
                states = await follow_jobs(handles, interval=0.1)
        tasks = [t for t in sim.simulator.tasks.values() if t.kind == "m2v"]
        sent = sim.simulator.requests.counts[SUBMIT]
    assert all(s.record.status is JobStatus.DOWNLOADED for s in states.values()), states
    assert len(tasks) == 6
    assert sent > 6  # some submits got 4007 and were sent again: nothing was created by them


@pytest.mark.parametrize("decision", ["attach", "resubmit"])
async def test_an_unknown_outcome_waits_for_a_decision_by_signal(
    temporal_server: DevServer, tmp_path: Path, decision: str
) -> None:
    """Without a notice URL nothing can find a lost image-to-video task: the workflow says
    so in its state (with the request that was sent) and goes on when you decide."""
    queue, prefix = f"q-{uuid.uuid4().hex}", f"t-{uuid.uuid4().hex[:8]}-"
    image = write_png(tmp_path / "front.png")
    config = SimulatorConfig(
        seed=6,
        time_scale=60.0,
        media_size=2048,
        faults=[Fault(path=I2V_SUBMIT, drop_connection=True, times=1)],
    )
    job = Job(
        "lost-image",
        "image_to_video",
        {"image_file_id": str(image), "duration": 5, "mode": "lite", "generating_count": 1},
    )
    with SimulatorServer(config) as sim:
        temporal = await Client.connect(temporal_server.address)
        async with running_worker(temporal, sim, queue):
            handles = await start_jobs(
                temporal, [job], tmp_path, options=FAST, task_queue=queue, id_prefix=prefix
            )
            handle = handles[job.key]
            with anyio.fail_after(60):
                waiting = (await follow_jobs(handles, interval=0.1))[job.key]
            queried = await handle.query(JobWorkflow.state)
            (created,) = [t.task_id for t in sim.simulator.tasks.values()]
            if decision == "attach":  # from the shell, as a user would
                resolve = topview(
                    "temporal", "resolve", job.key, "--task-id", created,
                    "--address", temporal_server.address, "--id-prefix", prefix,
                )  # fmt: skip
                done = await anyio.run_process(resolve, env=environment(sim), check=False)
                # Exit 0, not -6: the command skips interpreter teardown, where temporalio's
                # runtime threads can abort the process (PyGILState_Release).
                assert b"decision sent" in done.stdout, done.stderr
                assert done.returncode == 0, done.stderr
            else:
                await handle.signal(JobWorkflow.resubmit)
            with anyio.fail_after(60):
                final = await handle.result()
        tasks = [t.task_id for t in sim.simulator.tasks.values()]
    assert waiting.needs_decision
    assert waiting.record.status is JobStatus.OUTCOME_UNKNOWN
    assert queried == waiting
    request = queried.record.request
    assert request is not None
    assert request["url"].endswith(I2V_SUBMIT)
    assert request["body"]["imageFileId"] != str(image)  # the uploaded file's id was sent
    assert final.record.status is JobStatus.DOWNLOADED, final
    assert final.needs_decision is None
    if decision == "attach":
        assert tasks == [created]
        assert final.record.task_id == created
    else:
        assert len(tasks) == 2
        assert final.record.task_id == tasks[1]
        assert final.record.attempt == 2
