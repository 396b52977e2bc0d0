"""``topview temporal ...`` and the Temporal engine of ``topview batch run``.

Only typer is imported here; temporalio and the SDK load inside the commands, so
``topview --help`` stays fast and works without the ``temporal`` extra.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from ..temporal._names import DEFAULT_TASK_QUEUE, WORKFLOW_ID_PREFIX
from ._options import ResubmitOption, TaskIdOption, check_one_decision

if TYPE_CHECKING:
    from temporalio.client import Client

    from ..jobs import Job, JobRecord
    from ..temporal._model import JobOptions, JobState

__all__ = [
    "DEFAULT_ADDRESS",
    "DEFAULT_TASK_QUEUE",
    "Address",
    "Namespace",
    "TaskQueue",
    "run_temporal_batch",
    "run_temporal_batch_command",
    "temporal_app",
]

DEFAULT_ADDRESS = "localhost:7233"
PANEL = "Temporal"

temporal_app = typer.Typer(
    help="Run jobs as Temporal workflows: workers, decisions.", no_args_is_help=True
)

Address = Annotated[
    str,
    typer.Option(
        "--temporal-address",
        "--address",
        envvar="TEMPORAL_ADDRESS",
        help="HOST:PORT of the Temporal frontend.",
    ),
]
Namespace = Annotated[
    str,
    typer.Option(
        "--temporal-namespace", "--namespace", envvar="TEMPORAL_NAMESPACE", help="Namespace."
    ),
]
TaskQueue = Annotated[
    str,
    typer.Option(
        "--temporal-task-queue",
        "--task-queue",
        help="Task queue of the job workflows (submits use QUEUE-submits).",
    ),
]
IdPrefix = Annotated[
    str, typer.Option(help="Workflow ids are PREFIX + job key; the same for every command.")
]


def _require_extra() -> None:
    try:
        import temporalio  # noqa: F401
    except ImportError:
        from .._exceptions import ConfigurationError

        raise ConfigurationError(
            "the Temporal engine needs the temporal extra: pip install 'topview-async[temporal]'"
        ) from None


async def _connect(address: str, namespace: str) -> Client:
    from temporalio.client import Client

    return await Client.connect(address, namespace=namespace)


def _leave(code: int) -> NoReturn:
    """End a command that used a Temporal client, skipping interpreter teardown.

    temporalio's Rust runtime threads can call into Python while it finalises and abort the
    process ("PyGILState_Release ... finalizing", temporalio/sdk-python#300), turning a
    command that did its work into exit -6. Everything is flushed first; nothing is left to do.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


def _run(function: Any) -> Any:
    import anyio

    _require_extra()
    return anyio.run(function)


def _refused_ends(function: Any) -> Any:
    """``function()``; a refusal (bad input) ends the command with its reason and exit 2."""
    from .._exceptions import InvalidInputError

    try:
        return function()
    except InvalidInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        _leave(2)


@temporal_app.command("worker")
def worker(
    address: Address = DEFAULT_ADDRESS,
    namespace: Namespace = "default",
    task_queue: TaskQueue = DEFAULT_TASK_QUEUE,
    notice_url: Annotated[
        str | None,
        typer.Option(
            envvar="TOPVIEW_NOTICE_URL",
            help="Callback URL (build_notice_url) served by a TemporalNoticeApp; "
            "without it, tasks are waited on by polling.",
        ),
    ] = None,
    submits_per_second: Annotated[
        float, typer.Option(min=0, help="Submits per second across ALL workers (0: no limit).")
    ] = 2.0,
    concurrent_submits: Annotated[int, typer.Option(min=1, help="Submits at once here.")] = 4,
    concurrent_activities: Annotated[
        int, typer.Option(min=1, help="Other activities (waits included) at once here.")
    ] = 200,
    sticky_queue_timeout: Annotated[
        float, typer.Option(min=0.1, help="Seconds before a silent worker's workflows move.")
    ] = 10.0,
    poll_interval: Annotated[
        float | None, typer.Option(min=0.001, help="Fixed seconds between task queries.")
    ] = None,
) -> None:
    """Run a worker: job workflows and their activities, until Ctrl-C or SIGTERM."""
    _run(
        lambda: serve_worker(
            address,
            namespace,
            task_queue,
            notice_url=notice_url,
            submits_per_second=submits_per_second or None,
            concurrent_submits=concurrent_submits,
            concurrent_activities=concurrent_activities,
            sticky_queue_timeout=sticky_queue_timeout,
            poll_interval=poll_interval,
        )
    )


async def serve_worker(
    address: str,
    namespace: str,
    task_queue: str,
    *,
    notice_url: str | None,
    submits_per_second: float | None,
    concurrent_submits: int,
    concurrent_activities: int,
    sticky_queue_timeout: float,
    poll_interval: float | None,
) -> None:
    import signal

    import anyio

    from .. import AsyncTopview
    from ..lib.polling import PollPolicy
    from ..temporal._worker import WorkerLimits, create_workers

    options: dict[str, Any] = {}
    if poll_interval is not None:
        options["poll"] = PollPolicy(
            wait_initial=poll_interval, wait_min=poll_interval, wait_max=poll_interval, learn=False
        )
        options["poll_rate"] = None
    limits = WorkerLimits(
        submits_per_second=submits_per_second,
        concurrent_submits=concurrent_submits,
        concurrent_activities=concurrent_activities,
        sticky_queue_timeout=sticky_queue_timeout,
    )
    temporal = await _connect(address, namespace)
    async with AsyncTopview(**options) as topview:
        main, submits = create_workers(
            temporal, topview, task_queue=task_queue, notice_url=notice_url, limits=limits
        )
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async with main, submits:
                print(f"worker ready: {address} {namespace} queue {task_queue}", file=sys.stderr)
                async for _ in signals:
                    break


@temporal_app.command("resolve")
def resolve(
    key: Annotated[str, typer.Argument(help="The job's key.")],
    task_id: TaskIdOption = None,
    resubmit: ResubmitOption = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Resubmit even while the job's task runs or is done."),
    ] = False,
    address: Address = DEFAULT_ADDRESS,
    namespace: Namespace = "default",
    id_prefix: IdPrefix = WORKFLOW_ID_PREFIX,
) -> None:
    """Decide for a job waiting on you: attach its task id, or allow a new submit.

    Checked first, as `topview batch resolve` does: the task exists, is of the job's kind,
    is no other job's and fits the job's request; a resubmit while the task runs or is done
    needs --force.
    """
    check_one_decision(task_id, resubmit)

    async def signal() -> None:
        from .. import AsyncTopview
        from ..temporal._decisions import resolve_workflow

        temporal = await _connect(address, namespace)
        async with AsyncTopview() as client:
            await resolve_workflow(
                temporal,
                client,
                key,
                task_id=task_id,
                resubmit=resubmit,
                force=force,
                id_prefix=id_prefix,
            )

    _refused_ends(lambda: _run(signal))
    action = f"attach task {task_id}" if task_id else "submit again (a new paid task)"
    print(f"{key}: decision sent ({action}); `topview batch run --engine temporal` follows it")
    _leave(0)


@temporal_app.command("retry")
def retry(
    keys: Annotated[
        list[str] | None,
        typer.Argument(help="Jobs to retry; none: every job whose task failed at Topview."),
    ] = None,
    address: Address = DEFAULT_ADDRESS,
    namespace: Namespace = "default",
    id_prefix: IdPrefix = WORKFLOW_ID_PREFIX,
) -> None:
    """Run jobs whose task failed at Topview again: each is a NEW PAID TASK.

    The rules of `topview batch retry`: a job that failed before any task existed needs no
    retry (the next `batch run` starts it again once its line is fixed).
    """

    async def start() -> list[JobRecord]:
        from ..temporal._decisions import retry_workflows

        temporal = await _connect(address, namespace)
        return await retry_workflows(temporal, keys or [], id_prefix=id_prefix)

    changed: list[JobRecord] = _refused_ends(lambda: _run(start))
    if not changed:
        print("no job whose task failed at Topview: nothing to retry")
    for record in changed:
        failed = record.earlier_tasks[-1]
        print(
            f"{record.key}: started again, a NEW PAID TASK "
            f"(task {failed['task_id']} failed: {failed['error']})"
        )
    _leave(0)


# -- topview batch run --engine temporal -------------------------------------------------------


def run_temporal_batch_command(
    jobs_file: Path,
    out: Path,
    *,
    address: str,
    namespace: str,
    task_queue: str,
    heartbeat_timeout: float,
    reconcile_grace: float,
    poll_interval: float | None,
    progress: bool,
    max_credits: float | None = None,
    max_cost_per_job: float | None = None,
) -> NoReturn:
    """The body of ``topview batch run --engine temporal`` (called by the batch command); it
    ends the process with the batch's exit status (see :func:`_leave`)."""

    directory = out.resolve()  # the workers' path: absolute, on a volume they share

    async def run() -> int:
        from ..temporal._model import JobOptions

        options = JobOptions(heartbeat_timeout=heartbeat_timeout, reconcile_grace=reconcile_grace)
        if poll_interval is not None:
            options.poll_interval = poll_interval
        return await run_temporal_batch(
            jobs_file,
            directory,
            address=address,
            namespace=namespace,
            task_queue=task_queue,
            options=options,
            progress=progress,
            max_credits=max_credits,
            max_cost_per_job=max_cost_per_job,
        )

    code: int = _run(run)
    _leave(code)


async def run_temporal_batch(
    jobs_file: Path,
    out: Path,
    *,
    address: str,
    namespace: str,
    task_queue: str = DEFAULT_TASK_QUEUE,
    id_prefix: str = WORKFLOW_ID_PREFIX,
    options: JobOptions | None = None,
    progress: bool = True,
    max_credits: float | None = None,
    max_cost_per_job: float | None = None,
) -> int:
    """Start one workflow per job of ``jobs_file`` and follow them until each has its files,
    failed, or waits for a decision; write ``out/manifest.jsonl``. Returns the exit status.

    ``out`` is where the workers save the files: an absolute path on a volume they share.
    One run per ``out``: a second one raises :class:`~topview_async.BatchLockedError`.
    """
    from ..jobs import read_jobs, task_kinds
    from ..jobs._lock import DirectoryLock

    # Every check that needs no server comes before the lock, which creates ``out``.
    jobs = read_jobs(jobs_file)
    known = set(task_kinds())
    for job in jobs:
        if job.kind not in known:
            from .._exceptions import InvalidInputError

            raise InvalidInputError(
                f"job {job.key}: unknown task kind {job.kind!r}; known: {', '.join(sorted(known))}"
            )
    if max_credits is not None:
        from ..jobs._budget import job_bounds

        job_bounds(jobs, max_cost_per_job=max_cost_per_job)  # refuse before starting any
    with DirectoryLock(out):
        return await _run_temporal_batch(
            jobs,
            out,
            address,
            namespace,
            task_queue,
            id_prefix,
            options,
            progress,
            max_credits,
            max_cost_per_job,
        )


async def _run_temporal_batch(
    jobs: list[Job],
    out: Path,
    address: str,
    namespace: str,
    task_queue: str,
    id_prefix: str,
    options: JobOptions | None,
    progress: bool,
    max_credits: float | None,
    max_cost_per_job: float | None,
) -> int:
    from ..jobs import JobRecord, JobRunner, MemoryJournal
    from ..temporal._start import run_jobs
    from ._batch import _console, _Tracker

    temporal = await _connect(address, namespace)
    records = [JobRecord(job.key, job.kind, dict(job.params)) for job in jobs]
    tracker = _Tracker(records, len(jobs), progress and _console.is_terminal)
    with tracker.progress:
        states, stopped = await run_jobs(
            temporal,
            jobs,
            out,
            options=options,
            task_queue=task_queue,
            id_prefix=id_prefix,
            max_credits=max_credits,
            max_cost_per_job=max_cost_per_job,
            on_change=lambda s: tracker.update(s.record),
        )
    if stopped:
        from ._batch import _out

        _out.print(f"submitting stopped: {stopped}")
    finished = [_with_params(states[job.key].record, job.params) for job in jobs]
    await _credits_from_log(finished)
    for record in finished:
        states[record.key].record.credits = record.credits
    manifest = await JobRunner(None, out, journal=MemoryJournal()).write_manifest(finished)
    _report([states[job.key] for job in jobs], manifest, id_prefix)
    return 0 if all(s.record.status.value == "downloaded" for s in states.values()) else 1


async def _credits_from_log(records: list[JobRecord]) -> None:
    """Fill in the credits of finished jobs whose result carried no ``costCredit`` from the
    credit log, as the local runner does (:func:`~topview_async.jobs._credits.
    credits_from_log`); without an API key here, they stay unknown."""
    import time

    from .. import AsyncTopview
    from .._exceptions import ConfigurationError
    from ..jobs._credits import credits_from_log

    if not any(r.task_id and r.credits is None and r.status.finished for r in records):
        return
    try:
        client = AsyncTopview()
    except ConfigurationError:
        return
    async with client:
        await credits_from_log(client, records, now=time.time())


def _with_params(record: JobRecord, params: Any) -> JobRecord:
    copy = record.copy()
    copy.params = dict(params)
    return copy


def _report(states: list[JobState], manifest: Path, id_prefix: str) -> None:
    from ._batch import _out

    counts: dict[str, int] = {}
    for state in states:
        counts[state.record.status.value] = counts.get(state.record.status.value, 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    credits = sum(s.record.credits or 0.0 for s in states)
    _out.print(f"{len(states)} jobs: {summary}; {credits:g} credits")
    prefix = "" if id_prefix == WORKFLOW_ID_PREFIX else f" --id-prefix {id_prefix}"
    for state in states:
        record = state.record
        if state.needs_decision:
            _out.print(
                f"{record.status.value} {record.key}: {state.needs_decision}\n"
                f"  request: {record.request}\n"
                f"  decide: topview temporal resolve {record.key}{prefix} "
                "--task-id ID | --resubmit"
            )
        elif record.error:
            _out.print(f"{record.status.value} {record.key}: {record.error}")
    _out.print(f"manifest: {manifest}")
