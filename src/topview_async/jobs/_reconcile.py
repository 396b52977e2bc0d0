"""Finding the task of a submit whose outcome is unknown.

Two ways, where the API makes them possible:

* the callback: a submit sent with the runner's ``notice_url`` carries ``?job=&attempt=``, so
  its callback names the job even if the response was lost (:meth:`JobRunner.record_notice`);
* the kind's task list, where the spec names one (``x-topview-task.reconcile``: for M2V
  ``GET /v1/m2v/task/list``): a task created from the job's request shows up there with the
  request fields the spec lists (M2V: ``productLink``/``productName``) and its creation time.

A list match is accepted only when exactly one unclaimed task fits a job. When the whole
time window was listed and nothing fits, and the submit is older than the grace period
(so a request still on its way would have landed), the job was never received: it goes
back to ``pending`` and is submitted again. Anything else stays ``outcome_unknown``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .._exceptions import SubmitOutcomeUnknownError, TopviewError
from ..lib._status import read_field
from ..lib._submit_check import operation_method
from ._model import JobRecord, JobStatus

if TYPE_CHECKING:
    from .._client import AsyncTopview

__all__ = [
    "CLOCK_SKEW",
    "MAX_LIST_PAGES",
    "find_listed",
    "reconcile_listed",
    "reconcile_m2v",
    "submitted_request",
]

CLOCK_SKEW = 120.0
"""Seconds the server's clock may be off ours when comparing creation times."""
MAX_LIST_PAGES = 50
LIST_PAGE_SIZE = 100

FieldNames = tuple[tuple[str, str], ...]
"""``(wire name, Python name)`` of each request field a listed task shows."""


def submitted_request(exc: SubmitOutcomeUnknownError) -> dict[str, Any]:
    """The request of ``exc`` as JSON data for the journal (no headers: no credentials);
    the notice URL's secret is masked."""
    from ..webhooks._secret import mask_notice_url

    body = dict(exc.request.body or {})
    notice = body.get("noticeUrl")
    if isinstance(notice, str):
        body["noticeUrl"] = mask_notice_url(notice)
    return {"method": exc.request.method, "url": exc.request.url, "body": _jsonable(body)}


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _epoch(value: object) -> float | None:
    """A creation time in epoch seconds: a number (milliseconds told apart by size) or a
    ``yyyy-MM-dd HH:mm:ss`` UTC string, the format of Topview's other dates (UNCONFIRMED
    here); anything else is not used."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(str(value))
    except ValueError:
        try:
            moment = datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        except ValueError:
            return None
        return moment.timestamp()
    return number / 1000 if number > 1e11 else number


def _wanted(record: JobRecord, fields: FieldNames) -> dict[tuple[str, str], str]:
    """Field -> value the listed task must have to be this job's."""
    wanted: dict[tuple[str, str], str] = {}
    for wire_name, python_name in fields:
        value = record.params.get(python_name, record.params.get(wire_name))
        if isinstance(value, str) and value:
            wanted[(wire_name, python_name)] = value
    return wanted


def _fits(
    record: JobRecord, wanted: dict[tuple[str, str], str], item: object, created: float | None
) -> bool:
    for (wire_name, python_name), value in wanted.items():
        if read_field(item, python_name, wire_name) != value:
            return False
    if created is not None and record.intent_at is not None:
        return created >= record.intent_at - CLOCK_SKEW
    return True


async def reconcile_listed(
    client: AsyncTopview,
    records: Sequence[JobRecord],
    *,
    claimed: set[str],
    grace: float | None,
    now: float,
) -> list[JobRecord]:
    """Settle the ``outcome_unknown`` ``records`` through their kinds' task lists (kinds
    without one are left as they are); return the records changed (the caller saves them).
    ``claimed``: task ids other jobs own."""
    from .._generated.task_kinds import TASK_KINDS

    changed: list[JobRecord] = []
    for kind in sorted({r.kind for r in records}):
        spec = TASK_KINDS.get(kind)
        if spec is None or spec.reconcile is None:
            continue
        of_kind = [r for r in records if r.kind == kind]
        list_page = operation_method(client, spec.reconcile.list_operation)
        changed += await _reconcile_kind(
            list_page,
            spec.reconcile.match_fields,
            of_kind,
            claimed=claimed,
            grace=grace,
            now=now,
            label=kind.upper() if kind == "m2v" else kind,
        )
    return changed


reconcile_m2v = reconcile_listed
"""The former name (M2V was the one kind with a task list)."""


async def _reconcile_kind(
    list_page: Callable[..., Awaitable[Any]],
    fields: FieldNames,
    records: Sequence[JobRecord],
    *,
    claimed: set[str],
    grace: float | None,
    now: float,
    label: str,
) -> list[JobRecord]:
    candidates = {r.key: (r, _wanted(r, fields)) for r in records}
    candidates = {k: v for k, v in candidates.items() if v[1]}  # nothing to match on: skip
    if not candidates:
        return []
    window_start = min((r.intent_at or 0.0) for r, _ in candidates.values()) - CLOCK_SKEW
    found: dict[str, list[str]] = {key: [] for key in candidates}
    complete = False
    try:
        for page_no in range(1, MAX_LIST_PAGES + 1):
            page = await list_page(page_no=page_no, page_size=LIST_PAGE_SIZE)
            data = read_field(page, "data", "data")
            items: list[object] = list(data) if isinstance(data, list) else []
            older = 0
            for item in items:
                task_id = read_field(item, "task_id", "taskId")
                created = _epoch(read_field(item, "create_time", "createTime"))
                if created is not None and created < window_start:
                    older += 1
                if not task_id or str(task_id) in claimed:
                    continue
                for key, (record, wanted) in candidates.items():
                    if _fits(record, wanted, item, created):
                        found[key].append(str(task_id))
            if len(items) < LIST_PAGE_SIZE or (items and older == len(items)):
                complete = True  # the list ended, or (newest first) went past the window
                break
    except TopviewError:
        return []  # the list is not reachable now: try again on the next run
    changed: list[JobRecord] = []
    taken: dict[str, int] = {}
    for ids in found.values():
        for task_id in ids:
            taken[task_id] = taken.get(task_id, 0) + 1
    for key, (record, _) in candidates.items():
        ids = found[key]
        if len(ids) == 1 and taken[ids[0]] == 1:
            record.task_id, record.status = ids[0], JobStatus.RUNNING
            record.request = record.error = None
            changed.append(record)
        elif len(ids) > 1 or (ids and taken[ids[0]] > 1):
            record.error = f"several listed {label} tasks fit this job ({', '.join(sorted(ids))})"
            changed.append(record)
        elif (
            complete
            and grace is not None
            and record.intent_at is not None
            and now - record.intent_at >= grace
        ):
            # Listed in full, not there, and long enough ago: Topview never received it.
            record.status, record.request = JobStatus.PENDING, None
            record.error = f"not in the {label} task list: submitting again"
            changed.append(record)
        else:
            record.error = f"not in the {label} task list (yet): outcome still unknown"
    return changed


async def find_listed(client: AsyncTopview, kind: str, task_id: str) -> object | None:
    """The entry of ``task_id`` in ``kind``'s task list (the spec's ``reconcile`` list), or
    ``None`` where the kind has none or the list does not show it within
    :data:`MAX_LIST_PAGES` pages: what the task was made from, where its query does not say."""
    from .._generated.task_kinds import TASK_KINDS

    spec = TASK_KINDS.get(kind)
    if spec is None or spec.reconcile is None:
        return None
    list_page = operation_method(client, spec.reconcile.list_operation)
    for page_no in range(1, MAX_LIST_PAGES + 1):
        page = await list_page(page_no=page_no, page_size=LIST_PAGE_SIZE)
        data = read_field(page, "data", "data")
        items: list[object] = list(data) if isinstance(data, list) else []
        for item in items:
            if str(read_field(item, "task_id", "taskId")) == task_id:
                return item
        if len(items) < LIST_PAGE_SIZE:
            return None
    return None
