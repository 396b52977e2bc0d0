"""``batch resolve``: settle a job by hand, after checking the decision makes sense.

Attaching a task id (``--task-id``) is checked before anything is saved: the task is not
another job's in the same journal, it exists and is of the job's kind (one query on the
kind's endpoint), and where the API shows the task's request, it fits the job's params
(M2V: the product link, from the task list). Allowing a new submit (``--resubmit``) is
refused while the job's task is running or done, unless ``force``: that would pay twice.
Every refusal is an :class:`InvalidInputError` that says why; nothing is saved then.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._exceptions import InvalidInputError, NotFoundError
from ..lib._status import read_field
from ._model import JobRecord, JobStatus
from ._reconcile import find_listed

if TYPE_CHECKING:
    from .._client import AsyncTopview
    from ._journal import Journal

__all__ = [
    "attach_refusal",
    "request_mismatch",
    "resolve_job",
    "resolve_refusal",
    "resubmit_refusal",
]


def attach_refusal(record: JobRecord, records: Sequence[JobRecord], task_id: str) -> str | None:
    """Why ``task_id`` may not be attached to ``record`` from the journal alone, or ``None``."""
    if record.status is JobStatus.DOWNLOADED:
        return f"job {record.key!r} is finished already (task {record.task_id})"
    for other in records:
        if other.key == record.key:
            continue
        earlier = {str(t.get("task_id")) for t in other.earlier_tasks}
        if other.task_id == task_id or task_id in earlier:
            return f"task {task_id} is job {other.key!r}'s: both jobs would save the same files"
    return None


def resubmit_refusal(record: JobRecord, task_state: str | None, *, force: bool) -> str | None:
    """Why ``record`` may not be submitted again (a new paid task), or ``None``.

    ``task_state``: the state Topview reports for the job's task (``running``,
    ``succeeded``, ``failed``; ``None`` without a task or when Topview does not know it).
    """
    if force:
        return None
    hint = "; add --force to submit a new paid task anyway"
    if record.status is JobStatus.DOWNLOADED:
        return f"job {record.key!r} is finished (task {record.task_id}){hint}"
    if task_state == "running":
        return (
            f"task {record.task_id} of job {record.key!r} is still running at Topview: "
            f"the next run waits for it{hint}"
        )
    if task_state == "succeeded":
        return (
            f"task {record.task_id} of job {record.key!r} succeeded: "
            f"the next run downloads its files{hint}"
        )
    return None


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def request_mismatch(params: Mapping[str, Any], shown: object) -> list[str]:
    """The job params (text ones) that ``shown`` (what the API shows of a task: a query
    result or a task-list item) carries with another value."""
    mismatches = []
    for name, value in params.items():
        if not isinstance(value, str):
            continue
        got = read_field(shown, _snake(name), _camel(name))
        if isinstance(got, str) and got != value:
            mismatches.append(f"{_camel(name)} is {got!r}, the job's is {value!r}")
    return mismatches


async def _task_state(client: AsyncTopview, kind: str, task_id: str) -> tuple[str | None, object]:
    """The task's state and result (one query); ``(None, None)`` if Topview does not know it
    under ``kind``."""
    from ..lib.tasks import get_task

    task = get_task(client, kind, task_id)
    try:
        result = await task.refresh()
    except NotFoundError:
        return None, None
    return task.state.value, result


async def resolve_refusal(
    client: AsyncTopview,
    record: JobRecord,
    records: Sequence[JobRecord],
    *,
    task_id: str | None = None,
    force: bool = False,
) -> str | None:
    """Why settling ``record`` (attach ``task_id``; without it, allow a new submit) is
    refused, or ``None``: the checks of the module docstring, with the queries they need.
    ``records``: the other jobs of the batch (the journal's, or the workflows'). Every
    engine asks this one function before it acts."""
    if task_id is not None:
        refusal = attach_refusal(record, records, task_id)
        if refusal is None:
            state, result = await _task_state(client, record.kind, task_id)
            if state is None:
                refusal = f"Topview knows no {record.kind} task {task_id}"
            else:
                # A kind whose query result does not echo the request shows it in its list.
                shown = [result, await find_listed(client, record.kind, task_id)]
                mismatch = [
                    m for s in shown if s is not None for m in request_mismatch(record.params, s)
                ]
                if mismatch:
                    refusal = f"task {task_id} was made from another request: {'; '.join(mismatch)}"
        return None if refusal is None else f"not attached: {refusal}"
    state = None
    if record.task_id is not None:
        state, _ = await _task_state(client, record.kind, record.task_id)
    refusal = resubmit_refusal(record, state, force=force)
    return None if refusal is None else f"not resubmitted: {refusal}"


async def resolve_job(
    client: AsyncTopview,
    journal: Journal,
    key: str,
    *,
    task_id: str | None = None,
    resubmit: bool = False,
    force: bool = False,
) -> JobRecord:
    """Attach ``task_id`` to job ``key``, or let the next run submit it again; checked first
    (see the module docstring). Returns the saved record."""
    if (task_id is None) == (not resubmit):
        raise InvalidInputError("give exactly one of task_id and resubmit")
    records = await journal.load()
    record = next((r for r in records if r.key == key), None)
    if record is None:
        raise InvalidInputError(f"no job {key!r} in the journal")
    refusal = await resolve_refusal(client, record, records, task_id=task_id, force=force)
    if refusal is not None:
        raise InvalidInputError(refusal)
    if task_id is not None:
        if record.task_id is not None and record.task_id != task_id:
            record.earlier_tasks.append(
                {"task_id": record.task_id, "error": record.error, "credits": record.credits}
            )
        record.task_id, record.status, record.files, record.credits = (
            task_id,
            JobStatus.RUNNING,
            [],
            None,
        )
    else:
        if record.task_id is not None:
            record.earlier_tasks.append(
                {"task_id": record.task_id, "error": record.error, "credits": record.credits}
            )
        record.task_id, record.status, record.files, record.credits = (
            None,
            JobStatus.PENDING,
            [],
            None,
        )
    record.request = record.error = None
    await journal.save([record])
    return record.copy()
