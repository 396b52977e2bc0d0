"""Starting jobs as workflows, once each, and following them without a worker.

A job's workflow id is derived from its key, and it is started with
``id_reuse_policy=REJECT_DUPLICATE`` and ``id_conflict_policy=USE_EXISTING``: starting a job
that runs attaches to it, and a job whose workflow closed is not started again (its result
stands), so no start, retry of a start, or second ``topview batch run`` creates a second
workflow, or a second paid task. Use new keys (or another ``id_prefix``) for new work.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import anyio
from temporalio.client import (
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowQueryFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from .._exceptions import InvalidInputError
from ..jobs._admission import admit
from ..jobs._model import Job, JobRecord, JobStatus
from ._model import JobInput, JobOptions, JobState
from ._names import DEFAULT_TASK_QUEUE, WORKFLOW_ID_PREFIX, workflow_id
from ._workflow import JobWorkflow

if TYPE_CHECKING:
    import os

    from temporalio.client import Client

__all__ = ["JobHandles", "follow_jobs", "job_handle", "run_jobs", "start_job", "start_jobs"]

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
        pass
    handle = job_handle(temporal, job.key, id_prefix=id_prefix)
    return await _start_again(temporal, job, handle, task_queue=task_queue)


async def _start_again(
    temporal: Client, job: JobInput, handle: JobHandle, *, task_queue: str
) -> JobHandle:
    """The job's workflow closed already: its result stands, unless the local runner's
    admission rule (:func:`~topview_async.jobs._admission.admit`) says to try it again (it
    failed before any task existed). Changed params of a job that had a task are refused
    (:class:`~topview_async.InvalidInputError`)."""
    try:
        previous = (await handle.result()).record
    except WorkflowFailureError:  # failed, terminated, cancelled: not the job's own end
        return handle
    failed = previous.status is JobStatus.FAILED
    params: dict[str, Any] = json.loads(json.dumps(job.params, default=str))
    record, _ = admit(job.key, job.kind, params, previous)
    if not (failed and record.status is JobStatus.PENDING):
        return handle
    again = dataclasses.replace(job, earlier_tasks=[dict(t) for t in record.earlier_tasks])
    return await temporal.start_workflow(
        JobWorkflow.run,
        again,
        id=handle.id,
        task_queue=task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )


def job_handle(temporal: Client, key: str, *, id_prefix: str = WORKFLOW_ID_PREFIX) -> JobHandle:
    """The handle of job ``key``'s workflow (signal it, query it, await its result)."""
    return temporal.get_workflow_handle_for(JobWorkflow.run, workflow_id(key, id_prefix))


class JobHandles(dict[str, "JobHandle"]):
    """The handles :func:`start_jobs` returns, by key, with the client that started them."""

    def __init__(self, temporal: Client, handles: Mapping[str, JobHandle]) -> None:
        super().__init__(handles)
        self.temporal = temporal


async def start_jobs(
    temporal: Client,
    jobs: Iterable[Job],
    out_dir: str | os.PathLike[str],
    *,
    options: JobOptions | None = None,
    task_queue: str = DEFAULT_TASK_QUEUE,
    id_prefix: str = WORKFLOW_ID_PREFIX,
    concurrency: int = 32,
) -> JobHandles:
    """Start one workflow per job (``concurrency`` starts at once); handles by key.

    A job whose workflow closed is started again only as :func:`start_job` says; a job that
    had a task and now has other params raises :class:`~topview_async.InvalidInputError`
    (after the other jobs started), as the local runner does.
    """
    handles: dict[str, JobHandle] = {}
    refusals: list[str] = []
    limiter = anyio.CapacityLimiter(concurrency)

    async def start(job: Job) -> None:
        async with limiter:
            try:
                handles[job.key] = await start_job(
                    temporal,
                    JobInput.from_job(job, out_dir, options),
                    task_queue=task_queue,
                    id_prefix=id_prefix,
                )
            except InvalidInputError as exc:
                refusals.append(str(exc))

    job_list = list(jobs)
    async with anyio.create_task_group() as group:
        for job in job_list:
            group.start_soon(start, job)
    if refusals:
        raise InvalidInputError("; ".join(sorted(refusals)))
    return JobHandles(temporal, {job.key: handles[job.key] for job in job_list})


def _memo_record(key: str, memo: Mapping[str, Any]) -> JobState:
    record = JobRecord(key, str(memo.get("kind") or ""), {})
    status = memo.get("status")
    if isinstance(status, str) and status in JobStatus._value2member_map_:
        record.status = JobStatus(status)
    record.task_id = memo.get("task_id") or None
    record.error = memo.get("error") or None
    earlier = memo.get("earlier")
    if isinstance(earlier, str) and earlier:
        record.earlier_tasks = [{"task_id": task_id} for task_id in earlier.split(",")]
    return JobState(record, memo.get("needs_decision") or None)


LIST_CHUNK = 100
"""Workflow ids per visibility query of a round."""
RESULT_WAITS = 256
"""Workflow results waited on at once while following (long polls); the others are seen by
the rounds."""


class _Follower:
    """The states of started workflows, brought up to date one round at a time.

    A round is one visibility query per :data:`LIST_CHUNK` pending jobs (status and memo of
    each, as the server keeps them), plus the result of each workflow that finished: no
    per-job ``describe`` for jobs that did not change. Falls back to ``describe`` where the
    server's visibility cannot answer. :meth:`follow` also waits on the results themselves
    (a long poll each, which costs the server nothing until the workflow closes), so a job
    that finishes is seen at once, not at the next round.
    """

    def __init__(
        self,
        temporal: Client | None,
        on_change: Callable[[JobState], object] | None,
        concurrency: int,
    ) -> None:
        self.temporal = temporal
        self.on_change = on_change
        self.states: dict[str, JobState] = {}
        self.pending: dict[str, JobHandle] = {}
        self._limiter = anyio.CapacityLimiter(concurrency)
        self._listing = temporal is not None
        self._result_waits = anyio.CapacityLimiter(RESULT_WAITS)
        self._changed = anyio.Event()

    def add(self, key: str, handle: JobHandle) -> None:
        self.pending[key] = handle
        if self._changed.is_set():
            self._changed = anyio.Event()

    async def round(self) -> None:
        if self._listing:
            try:
                await self._list_round()
                return
            except RPCError:
                self._listing = False  # no visibility queries on this server: describe
        async with anyio.create_task_group() as group:
            for key, handle in list(self.pending.items()):
                group.start_soon(self._describe, key, handle)

    async def _list_round(self) -> None:
        assert self.temporal is not None
        handles = dict(self.pending)  # results waited on settle jobs meanwhile
        by_id = {handle.id: key for key, handle in handles.items()}
        ids = list(by_id)
        seen: dict[str, tuple[WorkflowExecutionStatus | None, Mapping[str, Any]]] = {}
        for start in range(0, len(ids), LIST_CHUNK):
            chunk = ids[start : start + LIST_CHUNK]
            quoted = ", ".join('"' + ident.replace('"', '\\"') + '"' for ident in chunk)
            async for execution in self.temporal.list_workflows(f"WorkflowId IN ({quoted})"):
                key = by_id.get(execution.id)
                if key is None:
                    continue
                previous = seen.get(key)
                # A reused id lists several runs: the running one, else the latest.
                if previous is None or execution.status is WorkflowExecutionStatus.RUNNING:
                    seen[key] = (execution.status, await execution.memo())
        async with anyio.create_task_group() as group:
            for key, (status, memo) in seen.items():
                group.start_soon(self._settle, key, handles[key], status, memo)

    async def _describe(self, key: str, handle: JobHandle) -> None:
        async with self._limiter:
            description = await handle.describe()
            memo = await description.memo()
        await self._settle(key, handle, description.status, memo)

    async def _settle(
        self,
        key: str,
        handle: JobHandle,
        status: WorkflowExecutionStatus | None,
        memo: Mapping[str, Any],
    ) -> None:
        async with self._limiter:
            if status is WorkflowExecutionStatus.COMPLETED:
                state = await handle.result()
            elif status is WorkflowExecutionStatus.RUNNING:
                state = _memo_record(key, memo)
                if state.needs_decision:
                    # The memo is a summary; the query has the request that was sent.
                    with contextlib.suppress(RPCError, WorkflowQueryFailedError):
                        state = await handle.query(JobWorkflow.state)
            else:
                state = _memo_record(key, memo)
                state.record.status = JobStatus.FAILED
                closed = status.name.lower() if status else "closed"
                state.record.error = f"workflow {closed}"
        self._store(key, state)

    def _store(self, key: str, state: JobState) -> None:
        if key not in self.pending:
            return  # settled already (by its result): a round's older view must not undo it
        previous = self.states.get(key)
        self.states[key] = state
        if self.on_change is not None and (previous is None or previous != state):
            self.on_change(state)
        if state.settled and self.pending.pop(key, None) is not None and not self.pending:
            self._changed.set()

    async def _await_result(self, key: str, handle: JobHandle) -> None:
        async with self._result_waits:
            if key not in self.pending:
                return
            try:
                state = await handle.result()
            except (WorkflowFailureError, RPCError):
                return  # closed otherwise, or not reachable: the rounds settle it
            self._store(key, state)

    async def pause(self, interval: float) -> None:
        # A round costs the server work per pending job: space rounds out for big batches.
        with anyio.move_on_after(max(interval, len(self.pending) / ROUND_CALLS_PER_SECOND)):
            await self._changed.wait()  # the last pending job settled

    async def follow(self, interval: float) -> None:
        """Until every job is settled: rounds (progress, decisions, closed workflows) and a
        wait on each pending job's result."""
        async with anyio.create_task_group() as group:
            for key, handle in list(self.pending.items()):
                group.start_soon(self._await_result, key, handle)
            while self.pending:
                await self.round()
                if self.pending:
                    await self.pause(interval)
            group.cancel_scope.cancel()


async def follow_jobs(
    handles: Mapping[str, JobHandle],
    *,
    on_change: Callable[[JobState], object] | None = None,
    interval: float = 1.0,
    concurrency: int = 32,
    temporal: Client | None = None,
) -> dict[str, JobState]:
    """Follow the workflows until each is settled (finished, or waiting for a decision).

    Reads what the server keeps, so it needs no worker: with the Temporal client (``temporal``,
    or the one :func:`start_jobs` used), one visibility query per 100 jobs a round (status and
    the workflow's memo), else a ``describe`` per job; and the result of a finished one.
    Rounds are ``interval`` apart, more for big batches. ``on_change`` gets each job's state
    when it changes. Returns the last state of every job: the workflow's result for a
    finished one.
    """
    if temporal is None and isinstance(handles, JobHandles):
        temporal = handles.temporal
    follower = _Follower(temporal, on_change, concurrency)
    for key, handle in handles.items():
        follower.add(key, handle)
    await follower.follow(interval)
    return {key: follower.states[key] for key in handles}


async def run_jobs(
    temporal: Client,
    jobs: Iterable[Job],
    out_dir: str | os.PathLike[str],
    *,
    options: JobOptions | None = None,
    task_queue: str = DEFAULT_TASK_QUEUE,
    id_prefix: str = WORKFLOW_ID_PREFIX,
    max_credits: float | None = None,
    max_cost_per_job: float | None = None,
    on_change: Callable[[JobState], object] | None = None,
    interval: float = 1.0,
) -> tuple[dict[str, JobState], str | None]:
    """Start a workflow per job and follow them until each is settled; returns the states by
    key, and why starting stopped early (the budget), if it did.

    With ``max_credits`` a job's workflow starts only when the batch's spent credit (what
    finished jobs cost, or their bound where Topview did not say), plus the most the jobs in
    flight can cost, plus this job's most, fits: the local runner's rule
    (:func:`~topview_async.jobs.budget_allows`), with the same bounds.
    """
    from ..jobs._budget import budget_allows, job_bounds

    job_list = list(jobs)
    if max_credits is None:
        handles = await start_jobs(
            temporal, job_list, out_dir, options=options, task_queue=task_queue,
            id_prefix=id_prefix,
        )  # fmt: skip
        states = await follow_jobs(handles, on_change=on_change, interval=interval)
        return states, None
    bounds = job_bounds(job_list, max_cost_per_job=max_cost_per_job)
    follower = _Follower(temporal, on_change, 32)
    queue = list(job_list)
    started: list[str] = []
    stopped: str | None = None
    while queue:
        spent = in_flight = 0.0
        for key in started:
            state = follower.states.get(key)
            if state is not None and state.record.status.finished:
                spent += bounds[key] if state.record.credits is None else state.record.credits
            else:
                in_flight += bounds[key]
        job = queue[0]
        if budget_allows(
            budget=max_credits, spent=spent, in_flight=in_flight, this_job=bounds[job.key]
        ):
            follower.add(
                job.key,
                await start_job(
                    temporal,
                    JobInput.from_job(job, out_dir, options),
                    task_queue=task_queue,
                    id_prefix=id_prefix,
                ),
            )
            started.append(queue.pop(0).key)
            continue
        if follower.pending:
            await follower.round()
            if follower.pending:
                await follower.pause(interval)
            continue
        stopped = (
            f"credit budget of {max_credits:g}: {spent:g} spent, {in_flight:g} more may be "
            f"charged for jobs waiting for a decision, and the next job may cost "
            f"{bounds[job.key]:g}"
        )
        break
    await follower.follow(interval)
    states = dict(follower.states)
    for job in queue:
        record = JobRecord(job.key, job.kind, dict(job.params))
        record.error = f"not submitted: {stopped}"
        states[job.key] = JobState(record)
    return {job.key: states[job.key] for job in job_list}, stopped
