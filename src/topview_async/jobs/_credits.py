"""What each job's task cost, for every kind.

The query results of the newer kinds carry ``costCredit``; those of M2V, Video Avatar and
other older kinds do not, and their cost shows only in the account's credit log
(``GET /user/credit/logs``: ``taskId``, ``costCredit``). At the end of a run, the finished
jobs whose cost is still unknown are looked up there, in one listing of the run's time
window, and the costs found are journaled with the jobs (so the next run does not ask again).
A task the log does not list keeps ``credits=None``: unknown, not free.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .._exceptions import TopviewError
from ..lib._status import read_field
from ._model import JobRecord, JobStatus

if TYPE_CHECKING:
    from .._client import AsyncTopview

__all__ = ["MAX_LOG_ENTRIES", "credits_from_log"]

CLOCK_SKEW = 120.0
"""Seconds the server's clock may be off ours (widens the listed window)."""
MAX_LOG_ENTRIES = 5000
"""Log entries read at most per run beyond four per job looked up (the log lists the whole
account in the run's window, not only this batch)."""
LOG_PAGE_SIZE = 100
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def _utc(seconds: float) -> str:
    return time.strftime(_TIME_FORMAT, time.gmtime(seconds))


async def credits_from_log(
    client: AsyncTopview, records: Sequence[JobRecord], *, now: float
) -> list[JobRecord]:
    """Set ``credits`` of the finished ``records`` with a task and no known cost from the
    credit log; return the records changed (the caller saves them). A log that cannot be
    read changes nothing (the next run asks again)."""
    finished = (JobStatus.DOWNLOADED, JobStatus.FAILED)
    wanted = {
        r.task_id: r
        for r in records
        if r.task_id is not None and r.credits is None and r.status in finished
    }
    if not wanted:
        return []
    starts = [r.intent_at for r in wanted.values()]
    start = None if any(s is None for s in starts) else min(s for s in starts if s is not None)
    costs: dict[str, float] = {}
    try:
        read = 0
        async for entry in client.account.list_all_credit_logs(
            start_time=None if start is None else _utc(start - CLOCK_SKEW),
            end_time=_utc(now + CLOCK_SKEW),
            page_size=LOG_PAGE_SIZE,
        ):
            task_id = read_field(entry, "task_id", "taskId")
            cost = read_field(entry, "cost_credit", "costCredit")
            if task_id is not None and str(task_id) in wanted and cost is not None:
                # A task may be charged more than once (an M2V export): add them up.
                costs[str(task_id)] = costs.get(str(task_id), 0.0) + float(str(cost))
            read += 1
            if read >= MAX_LOG_ENTRIES + 4 * len(wanted):
                break
    except (TopviewError, ValueError):
        return []
    changed = []
    for task_id, cost in costs.items():
        record = wanted[task_id]
        record.credits = cost
        changed.append(record)
    return changed
