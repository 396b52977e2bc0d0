"""The budget on the Temporal engine: a job's workflow starts only when it fits."""

from __future__ import annotations

import uuid
from pathlib import Path

import anyio
import pytest

pytest.importorskip("temporalio", reason="the temporal extra is not installed")

from temporalio.client import Client

from topview_async import ConfigurationError
from topview_async.jobs import Job, JobStatus
from topview_async.temporal import WorkerLimits, create_workers, run_jobs, workflow_id
from topview_async.testing import SimulatorConfig, SimulatorServer

from .conftest import DevServer, make_client
from .test_workflow import FAST

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("short_sdk_sleeps")]

SUBMIT = "/v1/m2v/task/submit"


def m2v_jobs(count: int) -> list[Job]:
    return [
        Job(f"b-{n}", "m2v", {"product_link": f"https://shop.test/b-{n}"}) for n in range(count)
    ]


async def test_max_credits_3_with_a_first_job_costing_5_starts_nothing(
    temporal_server: DevServer, tmp_path: Path
) -> None:
    queue, prefix = f"q-{uuid.uuid4().hex}", f"t-{uuid.uuid4().hex[:8]}-"
    temporal = await Client.connect(temporal_server.address)
    states, stopped = await run_jobs(
        temporal, m2v_jobs(2), tmp_path, options=FAST, task_queue=queue, id_prefix=prefix,
        max_credits=3, max_cost_per_job=5,
    )  # fmt: skip
    assert stopped is not None
    assert "may cost 5" in stopped
    assert {s.record.status for s in states.values()} == {JobStatus.PENDING}
    ids = ", ".join(f'"{workflow_id(f"b-{n}", prefix)}"' for n in range(2))
    listed = [w async for w in temporal.list_workflows(f"WorkflowId IN ({ids})")]
    assert listed == []
    with pytest.raises(ConfigurationError, match="max-cost-per-job"):
        await run_jobs(temporal, m2v_jobs(1), tmp_path, task_queue=queue, max_credits=3)


async def test_jobs_start_while_spent_plus_in_flight_plus_the_next_fit(
    temporal_server: DevServer, tmp_path: Path
) -> None:
    queue, prefix = f"q-{uuid.uuid4().hex}", f"t-{uuid.uuid4().hex[:8]}-"
    config = SimulatorConfig(seed=9, time_scale=200.0, media_size=2048)
    with SimulatorServer(config) as sim:
        temporal = await Client.connect(temporal_server.address)
        async with make_client(sim) as topview:
            main, submits = create_workers(
                temporal, topview, task_queue=queue, limits=WorkerLimits(submits_per_second=None)
            )
            async with main, submits:
                with anyio.fail_after(60):
                    states, stopped = await run_jobs(
                        temporal, m2v_jobs(4), tmp_path, options=FAST, task_queue=queue,
                        id_prefix=prefix, max_credits=12, max_cost_per_job=5, interval=0.1,
                    )  # fmt: skip
        sent = sim.simulator.requests.counts[SUBMIT]
    statuses = sorted(s.record.status.value for s in states.values())
    assert statuses == ["downloaded", "downloaded", "pending", "pending"]
    assert sent == 2
    assert stopped is not None
