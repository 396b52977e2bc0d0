"""Starting jobs as workflows, once each, and following them without a worker.

A job's workflow id is derived from its key, and it is started with
``id_reuse_policy=REJECT_DUPLICATE`` and ``id_conflict_policy=USE_EXISTING``: starting a job
that runs attaches to it, and a job whose workflow closed is not started again (its result
stands), so no start, retry of a start, or second ``topview batch run`` creates a second
workflow, or a second paid task. Use new keys (or another ``id_prefix``) for new work.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import anyio
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle, WorkflowQueryFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from ..jobs._model import Job, JobRecord, JobStatus
from ._model import JobInput, JobOptions, JobState
from ._names import DEFAULT_TASK_QUEUE, WORKFLOW_ID_PREFIX, workflow_id
from ._workflow import JobWorkflow

if TYPE_CHECKING:
    import os

    from temporalio.client import Client

__all__ = ["follow_jobs", "job_handle", "start_job", "start_jobs"]

JobHandle = WorkflowHandle[JobWorkflow, JobState]
ROUND_CALLS_PER_SECOND = 100
"""How many ``describe`` calls per second following a batch costs the server, at most
(roughly: rounds are spaced by the number of jobs still pending)."""


async def start_job(
    temporal: Client,
    job: JobInput,
    *,
    task_queue: str = DEFAULT_TASK_QUEUE,
    id_prefix: str = WORKFLOW_ID_PREFIX,
) -> JobHandle:
    """Start the workflow of ``job`` (or attach to the one that ran or runs it)."""
    ident = workflow_id(job.key, id_prefix)
    try:
        return await temporal.start_workflow(
            JobWorkflow.run,
            job,
            id=ident,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
    except WorkflowAlreadyStartedError:
        return job_handle(temporal, job.key, id_prefix=id_prefix)


def job_handle(temporal: Client, key: str, *, id_prefix: str = WORKFLOW_ID_PREFIX) -> JobHandle:
    """The handle of job ``key``'s workflow (signal it, query it, await its result)."""
    return temporal.get_workflow_handle_for(JobWorkflow.run, workflow_id(key, id_prefix))


async def start_jobs(
    temporal: Client,
    jobs: Iterable[Job],
    out_dir: str | os.PathLike[str],
    *,
    options: JobOptions | None = None,
    task_queue: str = DEFAULT_TASK_QUEUE,
    id_prefix: str = WORKFLOW_ID_PREFIX,
    concurrency: int = 32,
) -> dict[str, JobHandle]:
    """Start one workflow per job (``concurrency`` starts at once); handles by key."""
    handles: dict[str, JobHandle] = {}
    limiter = anyio.CapacityLimiter(concurrency)

    async def start(job: Job) -> None:
        async with limiter:
            handles[job.key] = await start_job(
                temporal,
                JobInput.from_job(job, out_dir, options),
                task_queue=task_queue,
                id_prefix=id_prefix,
            )

    job_list = list(jobs)
    async with anyio.create_task_group() as group:
        for job in job_list:
            group.start_soon(start, job)
    return {job.key: handles[job.key] for job in job_list}


def _memo_record(key: str, memo: Mapping[str, Any]) -> JobState:
    record = JobRecord(key, str(memo.get("kind") or ""), {})
    status = memo.get("status")
    if isinstance(status, str) and status in JobStatus._value2member_map_:
        record.status = JobStatus(status)
    record.task_id = memo.get("task_id") or None
    record.error = memo.get("error") or None
    return JobState(record, memo.get("needs_decision") or None)


async def follow_jobs(
    handles: Mapping[str, JobHandle],
    *,
    on_change: Callable[[JobState], object] | None = None,
    interval: float = 1.0,
    concurrency: int = 32,
) -> dict[str, JobState]:
    """Follow the workflows until each is settled (finished, or waiting for a decision).

    Reads what the server keeps (``describe``: status and the workflow's memo), so it needs no
    worker; rounds are ``interval`` apart, more for big batches. ``on_change`` gets each
    job's state when it changes. Returns the last state of every job: the workflow's result
    for a finished one.
    """
    states: dict[str, JobState] = {}
    pending = dict(handles)
    limiter = anyio.CapacityLimiter(concurrency)

    async def look(key: str, handle: JobHandle) -> None:
        async with limiter:
            description = await handle.describe()
            if description.status is WorkflowExecutionStatus.COMPLETED:
                state = await handle.result()
            elif description.status is WorkflowExecutionStatus.RUNNING:
                state = _memo_record(key, await description.memo())
                if state.needs_decision:
                    # The memo is a summary; the query has the request that was sent.
                    with contextlib.suppress(RPCError, WorkflowQueryFailedError):
                        state = await handle.query(JobWorkflow.state)
            else:
                state = _memo_record(key, await description.memo())
                state.record.status = JobStatus.FAILED
                closed = description.status.name.lower() if description.status else "closed"
                state.record.error = f"workflow {closed}"
        previous = states.get(key)
        states[key] = state
        if on_change is not None and (previous is None or previous != state):
            on_change(state)
        if state.settled:
            pending.pop(key, None)

    while pending:
        async with anyio.create_task_group() as group:
            for key, handle in list(pending.items()):
                group.start_soon(look, key, handle)
        if pending:
            # A round costs the server one call per job: space rounds out for big batches.
            await anyio.sleep(max(interval, len(pending) / ROUND_CALLS_PER_SECOND))
    return {key: states[key] for key in handles}
