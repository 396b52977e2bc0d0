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


# -- settling by hand and failed jobs: the same rules on both engines --------------------------


def link(key: str) -> str:
    return f"https://shop.test/{key}"


async def submitted(submit: Callable[..., Any], key: str) -> str:
    result = await submit(product_link=link(key))
    return str(result.task_id)


async def test_resolve_refuses_the_same_task_ids_on_both_engines(
    temporal_server: DevServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A task of another job, one Topview does not know, one made from another request:
    refused by ``batch resolve`` and ``temporal resolve`` alike, with the same reason; the
    job's own task is attached."""
    from topview_async.jobs import JobRecord
    from topview_async.jobs._resolve import resolve_job
    from topview_async.temporal._decisions import resolve_workflow

    queue, prefix = f"q-{uuid.uuid4().hex}", f"r-{uuid.uuid4().hex[:8]}-"
    calls: Counter[str] = Counter()
    jobs = [Job(key, "m2v", {"product_link": link(key)}) for key in ("row-0", "row-4")]
    # row-4's first submit is a read timeout: outcome unknown, waiting for a decision.
    with SimulatorServer(config()) as sim:
        temporal = await Client.connect(temporal_server.address)
        async with make_client(sim) as client:
            real_submit = client.marketing_videos.submit
            failing_first_submit(monkeypatch, client, calls)
            async with worker(temporal, client, queue):
                handles = await start_jobs(
                    temporal, jobs, tmp_path, options=OPTIONS, task_queue=queue, id_prefix=prefix
                )
                with anyio.fail_after(60):
                    states = await follow_jobs(handles, interval=0.1)
                assert states["row-4"].record.status is U
                assert states["row-4"].needs_decision
                other_job_task = states["row-0"].record.task_id
                assert other_job_task is not None
                other_request = await submitted(real_submit, "elsewhere")
                own = await submitted(real_submit, "row-4")
                refused = [other_job_task, "t-nobody-knows", other_request]

                journal = MemoryJournal()
                done = JobRecord("row-0", "m2v", {"product_link": link("row-0")})
                done.status, done.task_id = JobStatus.RUNNING, other_job_task
                unknown = JobRecord("row-4", "m2v", {"product_link": link("row-4")})
                unknown.status = U
                await journal.save([done, unknown])
                local, remote = [], []
                for task_id in refused:
                    with pytest.raises(InvalidInputError) as caught:
                        await resolve_job(client, journal, "row-4", task_id=task_id)
                    local.append(str(caught.value))
                    with pytest.raises(InvalidInputError) as caught:
                        await resolve_workflow(
                            temporal, client, "row-4", task_id=task_id, id_prefix=prefix
                        )
                    remote.append(str(caught.value))
                assert remote == local
                assert "row-0" in local[0]
                assert "knows no" in local[1]
                assert "another request" in local[2]

                await resolve_job(client, journal, "row-4", task_id=own)
                await resolve_workflow(temporal, client, "row-4", task_id=own, id_prefix=prefix)
                with anyio.fail_after(60):
                    states = await follow_jobs({"row-4": handles["row-4"]}, interval=0.1)
                assert states["row-4"].record.task_id == own
                assert states["row-4"].record.status is D


async def test_failed_jobs_start_again_only_by_the_rules_on_both_engines(
    temporal_server: DevServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every M2V task fails at Topview here. ``row-8`` fails before sending (a bad argument):
    the next run sends it (its task then fails at Topview). ``row-0``'s task fails: the next
    run leaves it; only a retry sends it again, a new task with the failed one kept."""
    from topview_async.jobs._admission import plan_retry
    from topview_async.temporal._decisions import retry_workflows

    jobs = [Job(key, "m2v", {"product_link": link(key)}) for key in ("row-0", "row-8")]
    failing = SimulatorConfig(
        seed=21, time_scale=200.0, media_size=2048, failure_probability={"m2v": 1.0}
    )

    def seen(records: dict[str, Any], calls: Counter[str]) -> dict[str, tuple[Any, ...]]:
        return {
            k: (r.status, calls[k], r.task_id is not None, len(r.earlier_tasks))
            for k, r in records.items()
        }

    # (status, submits, has a task, earlier tasks); row-0's count starts at 1 (see below)
    first = {"row-0": (F, 2, True, 0), "row-8": (F, 1, False, 0)}
    second = {"row-0": (F, 2, True, 0), "row-8": (F, 2, True, 0)}
    retried = {"row-0": (F, 3, True, 1), "row-8": (F, 2, True, 0)}

    calls: Counter[str] = Counter()
    with SimulatorServer(failing) as sim:
        async with make_client(sim) as client:
            failing_first_submit(monkeypatch, client, calls)
            calls["row-0"] = 1  # so its first submit is a real one
            journal = MemoryJournal()
            local = []
            for step in range(3):
                if step == 1:
                    with pytest.raises(InvalidInputError, match="before any task existed"):
                        plan_retry(await journal.load(), ["row-8"])
                if step == 2:
                    await journal.save(plan_retry(await journal.load(), ["row-0"]))
                runner = JobRunner(
                    client, tmp_path / "local", journal=journal, reconcile_grace=None,
                    settings=SETTINGS,
                )  # fmt: skip
                with anyio.fail_after(60):
                    summary = await runner.run(jobs)
                local.append(seen({r.key: r for r in summary.records}, calls))
    assert local == [first, second, retried]

    calls = Counter()
    queue, prefix = f"q-{uuid.uuid4().hex}", f"f-{uuid.uuid4().hex[:8]}-"
    with SimulatorServer(failing) as sim:
        temporal = await Client.connect(temporal_server.address)
        async with make_client(sim) as client:
            failing_first_submit(monkeypatch, client, calls)
            calls["row-0"] = 1
            remote = []
            async with worker(temporal, client, queue):
                for step in range(3):
                    if step == 1:
                        with pytest.raises(InvalidInputError, match="before any task existed"):
                            await retry_workflows(temporal, ["row-8"], id_prefix=prefix)
                    if step == 2:
                        await retry_workflows(temporal, ["row-0"], id_prefix=prefix)
                    handles = await start_jobs(
                        temporal, jobs, tmp_path / "t", options=OPTIONS, task_queue=queue,
                        id_prefix=prefix,
                    )  # fmt: skip
                    with anyio.fail_after(60):
                        states = await follow_jobs(handles, interval=0.1)
                    remote.append(seen({k: s.record for k, s in states.items()}, calls))
    assert remote == local


async def test_the_temporal_batch_reports_m2v_credits_from_the_credit_log(
    temporal_server: DevServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """M2V results carry no ``costCredit``: the manifest takes the cost from the credit log,
    as the local runner's does, not ``null``."""
    import json

    from topview_async.cli._temporal import run_temporal_batch

    queue, prefix = f"q-{uuid.uuid4().hex}", f"c-{uuid.uuid4().hex[:8]}-"
    jobs_file = tmp_path / "jobs.jsonl"
    jobs_file.write_text(
        json.dumps({"key": "row-11", "kind": "m2v", "params": {"product_link": link("a")}}) + "\n"
    )
    with SimulatorServer(config()) as sim:
        monkeypatch.setenv("TOPVIEW_API_KEY", sim.api_key)
        monkeypatch.setenv("TOPVIEW_UID", sim.uid)
        monkeypatch.setenv("TOPVIEW_BASE_URL", sim.base_url)
        temporal = await Client.connect(temporal_server.address)
        async with make_client(sim) as client, worker(temporal, client, queue):
            with anyio.fail_after(60):
                code = await run_temporal_batch(
                    jobs_file,
                    tmp_path / "out",
                    address=temporal_server.address,
                    namespace="default",
                    task_queue=queue,
                    id_prefix=prefix,
                    options=OPTIONS,
                    progress=False,
                )
    assert code == 0
    (line,) = (tmp_path / "out" / "manifest.jsonl").read_text().splitlines()
    credits = json.loads(line)["credits"]
    assert isinstance(credits, float | int)
    assert credits > 0
