"""Settling and retrying jobs of the Temporal engine by hand, with the local engine's rules.

``topview temporal resolve`` and ``topview temporal retry`` ask the same functions as
``topview batch resolve`` and ``topview batch retry`` (:func:`~topview_async.jobs._resolve.
resolve_refusal`, :func:`~topview_async.jobs._admission.plan_retry`); the workflows stand in
for the journal: the job's record is its workflow's state (the memo the server keeps, its
params from the workflow's input), the batch's other jobs are the workflows of the same id
prefix. Only then is the workflow signalled, or a new run started.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from temporalio.client import WorkflowExecutionStatus
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.service import RPCError

from .._exceptions import InvalidInputError
from ..jobs._admission import plan_retry
from ..jobs._model import JobRecord, JobStatus
from ..jobs._resolve import resolve_refusal
from ._model import JobInput, JobState
from ._names import WORKFLOW_ID_PREFIX, workflow_id
from ._start import JobHandle, _memo_record, job_handle
from ._workflow import JobWorkflow

if TYPE_CHECKING:
    from temporalio.client import Client

    from .._client import AsyncTopview

__all__ = ["resolve_workflow", "retry_workflows"]


async def _input(temporal: Client, handle: JobHandle) -> JobInput:
    """The input the job's (latest) workflow run was started with, from its history."""
    history = await handle.fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    (job,) = await temporal.data_converter.decode(started.input.payloads, [JobInput])
    assert isinstance(job, JobInput)
    return job


async def _batch(temporal: Client, id_prefix: str) -> dict[str, tuple[JobHandle, JobState, bool]]:
    """Every job workflow of ``id_prefix`` (the latest run of each): its handle, its state as
    the memo shows it, and whether it completed."""
    found: dict[str, tuple[JobHandle, JobState, bool]] = {}
    async for execution in temporal.list_workflows('WorkflowType = "TopviewJob"'):
        if not execution.id.startswith(id_prefix) or execution.id in found:
            continue  # the newest run comes first
        key = execution.id[len(id_prefix) :]
        state = _memo_record(key, await execution.memo())
        completed = execution.status is WorkflowExecutionStatus.COMPLETED
        found[execution.id] = (job_handle(temporal, key, id_prefix=id_prefix), state, completed)
    return found


async def resolve_workflow(
    temporal: Client,
    client: AsyncTopview,
    key: str,
    *,
    task_id: str | None = None,
    resubmit: bool = False,
    force: bool = False,
    id_prefix: str = WORKFLOW_ID_PREFIX,
) -> JobRecord:
    """Signal job ``key``'s decision (attach ``task_id``, or ``resubmit``) after the checks
    of ``topview batch resolve``; every refusal is an :class:`InvalidInputError` saying
    why, and nothing is signalled then. Returns the job's record as it was checked."""
    if (task_id is None) == (not resubmit):
        raise InvalidInputError("give exactly one of task_id and resubmit")
    handle = job_handle(temporal, key, id_prefix=id_prefix)
    try:
        description = await handle.describe()
    except RPCError:
        raise InvalidInputError(f"no workflow for job {key!r} (id {handle.id})") from None
    state = _memo_record(key, await description.memo())
    record = state.record
    record.params = dict((await _input(temporal, handle)).params)
    if description.status is not WorkflowExecutionStatus.RUNNING:
        raise InvalidInputError(
            f"job {key!r} is {record.status.value} and its workflow closed: "
            "nothing to decide (topview temporal retry starts a new paid task)"
        )
    if record.status is not JobStatus.OUTCOME_UNKNOWN and state.needs_decision is None:
        raise InvalidInputError(f"job {key!r} is {record.status.value}: it waits for no decision")
    others = [s.record for ident, (_, s, _) in (await _batch(temporal, id_prefix)).items()
              if ident != handle.id]  # fmt: skip
    refusal = await resolve_refusal(client, record, others, task_id=task_id, force=force)
    if refusal is not None:
        raise InvalidInputError(refusal)
    if task_id is not None:
        await handle.signal(JobWorkflow.attach_task, task_id)
    else:
        await handle.signal(JobWorkflow.resubmit)
    return record


async def retry_workflows(
    temporal: Client, keys: Sequence[str], *, id_prefix: str = WORKFLOW_ID_PREFIX
) -> list[JobRecord]:
    """Start a new run (a NEW PAID TASK) of each job of ``keys`` whose task failed at
    Topview (every such job of ``id_prefix`` when ``keys`` is empty), as
    ``topview batch retry`` decides (:func:`~topview_async.jobs._admission.plan_retry`:
    unknown keys and jobs that did not fail that way are refused, nothing started). The
    failed task goes to the new run's ``earlier_tasks``. Returns the records retried."""
    records: list[JobRecord] = []
    handles: dict[str, JobHandle] = {}
    if keys:
        for key in dict.fromkeys(keys):
            handle = job_handle(temporal, key, id_prefix=id_prefix)
            try:
                description = await handle.describe()
            except RPCError:
                continue  # unknown: plan_retry says so
            handles[key] = handle
            if description.status is WorkflowExecutionStatus.COMPLETED:
                records.append((await handle.result()).record)
            else:
                records.append(_memo_record(key, await description.memo()).record)
    else:
        for handle, state, completed in (await _batch(temporal, id_prefix)).values():
            if completed and state.record.status is JobStatus.FAILED and state.record.task_id:
                handles[state.record.key] = handle
                records.append((await handle.result()).record)
    changed = plan_retry(records, keys)
    for record in changed:
        handle = handles[record.key]
        job = await _input(temporal, handle)
        again = dataclasses.replace(job, earlier_tasks=_tasks(record.earlier_tasks))
        await temporal.start_workflow(
            JobWorkflow.run,
            again,
            id=workflow_id(record.key, id_prefix),
            task_queue=await _queue(handle),
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        )
    return changed


def _tasks(tasks: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [dict(task) for task in tasks]


async def _queue(handle: JobHandle) -> str:
    description = await handle.describe()
    return description.task_queue
