"""What a run does with a job the journal already knows, and ``topview batch retry``.

Two rules, both about money:

* **A job that failed before any task existed** (a bad argument, a missing file, a submit
  Topview refused) is tried again by the next run: that costs nothing, and it is how a fixed
  line (or a file put in place) takes effect. Its params may change freely, as may those of
  any job no task was ever created for.
* **A job whose task failed at Topview** stays failed: sending it again is a new paid task,
  so it happens only when asked (:func:`plan_retry`, ``topview batch retry OUT [KEY...]``).
  The failed task is kept in ``earlier_tasks``.

A job that has (or may have) a task keeps its params: changing them would attach files of
one request to another. Use a new key for new work.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .._exceptions import InvalidInputError
from ._model import JobRecord, JobStatus

__all__ = ["admit", "plan_retry", "task_ever_created"]

RETRY_NOTE = "retry requested: the next run submits a new paid task"


def task_ever_created(record: JobRecord) -> bool:
    """Whether a task exists, existed, or may exist for ``record``."""
    return (
        record.task_id is not None
        or bool(record.earlier_tasks)
        or record.status in (JobStatus.SUBMITTING, JobStatus.OUTCOME_UNKNOWN)
    )


def admit(
    key: str, kind: str, params: Mapping[str, Any], stored: JobRecord | None
) -> tuple[JobRecord, bool]:
    """The record a run starts from for job ``key`` (``params`` as plain JSON data), and
    whether it differs from ``stored`` (the journal's record) and must be saved.

    Raises :class:`InvalidInputError` for changed kind or params of a job that has a task.
    """
    if stored is None:
        return JobRecord(key, kind, dict(params)), True
    changed = False
    if stored.kind != kind or stored.params != params:
        if task_ever_created(stored):
            task = stored.task_id or (
                stored.earlier_tasks[-1]["task_id"] if stored.earlier_tasks else None
            )
            what = f"task {task}" if task else "a submit whose outcome is unknown"
            raise InvalidInputError(
                f"job {key!r} is in the journal with another kind or other params, and "
                f"{what} was created for it: use a new key or a new output directory"
            )
        stored.kind, stored.params = kind, dict(params)
        changed = True
    if stored.status is JobStatus.FAILED and stored.task_id is None:
        # Failed before any task existed: free to try again.
        stored.status = JobStatus.PENDING
        stored.error = f"tried again after: {stored.error}" if stored.error else None
        changed = True
    return stored, changed


def plan_retry(records: Sequence[JobRecord], keys: Sequence[str]) -> list[JobRecord]:
    """The records ``topview batch retry`` changes (to be saved): each job of ``keys``
    (every job whose task failed at Topview, when ``keys`` is empty) goes back to
    ``pending`` with its failed task moved to ``earlier_tasks``.

    Refuses (:class:`InvalidInputError`, nothing changed) a key that is unknown or not a
    job whose task failed, saying why.
    """
    by_key = {r.key: r for r in records}
    if not keys:
        chosen = [r for r in records if r.status is JobStatus.FAILED and r.task_id is not None]
    else:
        refusals = []
        for key in keys:
            record = by_key.get(key)
            if record is None:
                refusals.append(f"{key}: no such job in the journal")
            elif record.status is not JobStatus.FAILED:
                refusals.append(f"{key}: is {record.status.value}, not failed")
            elif record.task_id is None:
                refusals.append(
                    f"{key}: failed before any task existed; the next run tries it again by itself"
                )
        if refusals:
            raise InvalidInputError("nothing retried: " + "; ".join(refusals))
        chosen = [by_key[key] for key in dict.fromkeys(keys)]
    changed = []
    for record in chosen:
        updated = record.copy()
        updated.earlier_tasks.append(
            {"task_id": record.task_id, "error": record.error, "credits": record.credits}
        )
        updated.task_id, updated.credits, updated.files = None, None, []
        updated.request = None
        updated.status = JobStatus.PENDING
        updated.error = f"{RETRY_NOTE} (task {record.task_id} failed: {record.error})"
        changed.append(updated)
    return changed
