"""One decision, two engines: every failure class of a submit, fed to the local runner and
to the Temporal workflow, ends the same way.

Each row's exception is raised by the first submit of one job (the simulator serves every
later one): ``retry`` rows are sent again and finish (2 submits), ``failed`` rows are not
sent again, anything that may have created a task stays ``outcome_unknown`` (1 submit, no
grace period: reconciliation cannot resubmit it). Both engines must agree with the table.
"""

from __future__ import annotations

import contextlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

pytest.importorskip("temporalio", reason="the temporal extra is not installed")

from temporalio.client import Client

from topview_async import AsyncTopview
from topview_async._exceptions import (
    APIConnectionError,
    HTTPStatusError,
    InsufficientCreditError,
    InvalidInputError,
    InvalidRequestError,
    ResponseValidationError,
    ServerBusyError,
    ServerError,
    SubmitOutcomeUnknownError,
    SubmittedRequest,
    TopviewError,
    UnfinishedTaskError,
    UploadError,
)
from topview_async.jobs import EngineSettings, Job, JobRunner, JobStatus, MemoryJournal
from topview_async.temporal import JobOptions, WorkerLimits, create_workers, follow_jobs, start_jobs
from topview_async.testing import SimulatorConfig, SimulatorServer

from .conftest import DevServer, make_client

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("short_sdk_sleeps")]

P, U, F, D = JobStatus.PENDING, JobStatus.OUTCOME_UNKNOWN, JobStatus.FAILED, JobStatus.DOWNLOADED


def http(status: int) -> HTTPStatusError:
    return HTTPStatusError(f"HTTP {status}", status_code=status, body="")


def lost() -> SubmitOutcomeUnknownError:
    return SubmitOutcomeUnknownError(
        "read timeout", request=SubmittedRequest("POST", "https://api.test/v1/m2v/task/submit", {})
    )


ROWS: list[tuple[str, Callable[[], BaseException], JobStatus, int]] = [
    # id, the first submit raises, final status, submits sent
    (
        "code-200-result-invalid",
        lambda: ResponseValidationError(
            "result does not match the spec",
            body='{"code": "200", "result": {"taskId": "t-invisible", "status": 7}}',
            code="200",
        ),
        U,
        1,
    ),
    ("reply-without-taskId", lambda: TopviewError("the submit response carries no taskId"), U, 1),
    ("server-error-5000", lambda: ServerError("internal", code="5000"), U, 1),
    ("http-502-after-sending", lambda: http(502), U, 1),
    ("read-timeout", lost, U, 1),
    ("unclassified-bug", lambda: RuntimeError("unexpected"), U, 1),
    ("http-400", lambda: http(400), F, 1),
    ("code-4000", lambda: InvalidRequestError("bad value", code="4000"), F, 1),
    ("bad-argument", lambda: InvalidInputError("missing product_link"), F, 1),
    ("wrong-keyword", lambda: TypeError("submit() got an unexpected keyword 'x'"), F, 1),
    ("no-credit-4100", lambda: InsufficientCreditError("no credit", code="4100"), P, 1),
    ("http-503", lambda: http(503), D, 2),
    ("connection-refused", lambda: APIConnectionError("connection refused"), D, 2),
    ("upload-failed", lambda: UploadError("PUT failed"), D, 2),
    ("busy-4007", lambda: UnfinishedTaskError("busy", code="4007"), D, 2),
    ("busy-5003", lambda: ServerBusyError("busy", code="5003"), D, 2),
]
EXPECTED = {f"row-{n}": (status, sent) for n, (_, _, status, sent) in enumerate(ROWS)}
SETTINGS = EngineSettings(busy_wait=0.05, busy_wait_max=0.1, retry_wait=0.02, reconcile_grace=None)
OPTIONS = JobOptions(
    heartbeat_timeout=5.0,
    poll_interval=0.2,
    busy_wait=SETTINGS.busy_wait,
    busy_wait_max=SETTINGS.busy_wait_max,
    retry_wait=SETTINGS.retry_wait,
    reconcile_grace=None,
    reconcile_interval=0.2,
)


def row_jobs() -> list[Job]:
    return [
        Job(f"row-{n}", "m2v", {"product_link": f"https://shop.test/row-{n}"})
        for n in range(len(ROWS))
    ]


def failing_first_submit(
    monkeypatch: pytest.MonkeyPatch, client: AsyncTopview, calls: Counter[str]
) -> None:
    """The first submit of job ``row-<n>`` raises row n's exception; later ones are real."""
    real = client.marketing_videos.submit

    async def submit(**params: Any) -> Any:
        key = str(params["product_link"]).rsplit("/", 1)[1]
        calls[key] += 1
        if calls[key] == 1:
            raise ROWS[int(key.split("-")[1])][1]()
        return await real(**params)

    monkeypatch.setattr(client.marketing_videos, "submit", submit)


def config() -> SimulatorConfig:
    return SimulatorConfig(seed=21, time_scale=200.0, media_size=2048)


async def local_outcomes(
    monkeypatch: pytest.MonkeyPatch, out: Path
) -> dict[str, tuple[JobStatus, int]]:
    calls: Counter[str] = Counter()
    with SimulatorServer(config()) as sim:
        async with make_client(sim) as client:
            failing_first_submit(monkeypatch, client, calls)
            outcomes: dict[str, tuple[JobStatus, int]] = {}
            # One run per job: a 4100 stops the local run's other submits by design.
            for job in row_jobs():
                runner = JobRunner(
                    client, out, journal=MemoryJournal(), reconcile_grace=None, settings=SETTINGS
                )
                with anyio.fail_after(60):
                    summary = await runner.run([job])
                outcomes.update({r.key: (r.status, calls[r.key]) for r in summary.records})
    return outcomes


@contextlib.asynccontextmanager
async def worker(temporal: Client, client: AsyncTopview, queue: str) -> AsyncIterator[None]:
    main, submits = create_workers(
        temporal, client, task_queue=queue, limits=WorkerLimits(submits_per_second=None)
    )
    async with main, submits:
        yield


async def temporal_outcomes(
    monkeypatch: pytest.MonkeyPatch, server: DevServer, out: Path
) -> dict[str, tuple[JobStatus, int]]:
    calls: Counter[str] = Counter()
    queue, prefix = f"q-{uuid.uuid4().hex}", f"t-{uuid.uuid4().hex[:8]}-"
    with SimulatorServer(config()) as sim:
        temporal = await Client.connect(server.address)
        async with make_client(sim) as client:
            failing_first_submit(monkeypatch, client, calls)
            async with worker(temporal, client, queue):
                handles = await start_jobs(
                    temporal, row_jobs(), out, options=OPTIONS, task_queue=queue, id_prefix=prefix
                )
                with anyio.fail_after(60):
                    states = await follow_jobs(handles, interval=0.1)
    return {key: (state.record.status, calls[key]) for key, state in states.items()}


async def test_every_submit_failure_ends_the_same_on_both_engines(
    temporal_server: DevServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = await local_outcomes(monkeypatch, tmp_path / "local")
    temporal = await temporal_outcomes(monkeypatch, temporal_server, tmp_path / "temporal")
    names = {f"row-{n}": row[0] for n, row in enumerate(ROWS)}
    table = {names[k]: v for k, v in EXPECTED.items()}
    assert {names[k]: v for k, v in local.items()} == table
    assert {names[k]: v for k, v in temporal.items()} == table
