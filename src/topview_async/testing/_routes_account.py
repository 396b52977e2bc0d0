"""The account's view of its work: the M2V task list and the credit balance (REFERENCE §11.5,
CORRECTIONS §2).

Both exist so a client can reconcile with the server after losing track: a submit whose
response was lost shows up in the task list with the parameters it was sent with, and the
balance says how much a batch may still spend.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from . import _validation as v
from ._errors import envelope

if TYPE_CHECKING:
    from ._simulator import Simulator
    from ._tasks import SimTask

MAX_PAGE_SIZE = 100

LISTED_SUBMIT_FIELDS = ("productLink", "productName", "aspectRatio", "language", "preview")
"""Submit parameters echoed in a task-list item (the real item fields are UNCONFIRMED)."""


def _list_item(task: SimTask, now: float) -> dict[str, Any]:
    item: dict[str, Any] = {
        "taskId": task.task_id,
        "status": task.status(now),
        "createTime": int(task.created_at * 1000),
    }
    item |= {k: task.request[k] for k in LISTED_SUBMIT_FIELDS if k in task.request}
    if task.finished(now):
        item["costCredit"] = task.charged
    return item


async def m2v_task_list(request: Request, sim: Simulator) -> Response:
    """GET /v1/m2v/task/list: the caller's M2V tasks, newest first, one page."""
    query = request.query_params
    page_no = v.query_int(query, "pageNo", default=1)
    page_size = v.query_int(query, "pageSize", default=20, maximum=MAX_PAGE_SIZE)
    uid, now = sim.uid_of(request), sim.now()
    tasks = [t for t in sim.tasks.values() if t.uid == uid and t.kind == "m2v"]
    tasks.sort(key=lambda t: t.created_at, reverse=True)
    start = (page_no - 1) * page_size
    data = [_list_item(t, now) for t in tasks[start : start + page_size]]
    return envelope({"total": len(tasks), "pageNo": page_no, "pageSize": page_size, "data": data})


async def credit_detail(request: Request, sim: Simulator) -> Response:
    """GET /user/credit/detail: what is left of ``SimulatorConfig.credits``."""
    uid = sim.uid_of(request)
    return envelope({"uid": uid, "remainCredit": sim.remaining_credit(uid), "expiredTime": None})
