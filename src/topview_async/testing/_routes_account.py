"""Account, boards and management endpoints of the newer API (CORRECTIONS §2): credit
balance and log, storage space, boards and their results, M2V task list/delete, photo
avatar templates, cloned-voice delete, video-to-AI-avatar query.

Everything reflects what the account did: the balance and log come from the charges of
submitted tasks, boards list the tasks filed on them, the M2V list the M2V tasks.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from . import _validation as v
from ._catalog import page, render
from ._credits import LOG_TIME_FORMAT, parse_log_time
from ._errors import ApiError, envelope
from ._results import task_result
from ._results_newer import board_task_id
from ._routes_generative import cloned_voices
from ._routes_lookup import _paging

if TYPE_CHECKING:
    from ._simulator import Simulator
    from ._tasks import SimTask

LISTED_SUBMIT_FIELDS = ("productLink", "aspectRatio", "language", "preview")
"""Submit parameters echoed in an M2V task-list item besides ``productName``."""

TOTAL_SPACE = 10 * 1024**3
"""Bytes of storage of the simulated account."""

_MEDIA_TYPES = {
    "text_to_image": "image",
    "image_edit": "image",
    "product_avatar_image_replace_v3": "image",
    "anyshoot_product_model": "image",
    "text_to_speech": "audio",
}


def _time(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime(LOG_TIME_FORMAT)


# -- account ---------------------------------------------------------------------------


async def credit_detail(request: Request, sim: Simulator) -> Response:
    uid = sim.uid_of(request)
    balance = sim.ledger.balance(uid, sim.now())
    return envelope(
        {
            "uid": uid,
            "remainCredit": balance,
            "credit": balance,
            "expiredTime": "2099-12-31 23:59:59",
            "apiKeyMap": {},
        }
    )


async def credit_logs(request: Request, sim: Simulator) -> Response:
    query = request.query_params
    page_no, page_size = _paging(query)
    try:
        start = parse_log_time(v.query_string(query, "startTime"))
        end = parse_log_time(v.query_string(query, "endTime"))
    except ValueError as exc:
        raise ApiError("4001", "startTime/endTime must be yyyy-MM-dd HH:mm:ss") from exc
    entries = sim.ledger.logs(
        sim.uid_of(request),
        sim.now(),
        task_type=v.query_string(query, "taskType"),
        start=start,
        end=end,
    )
    return envelope(page(entries, page_no, page_size, sim.base_url(request)))


async def user_space(request: Request, sim: Simulator) -> Response:
    uid = sim.uid_of(request)
    used = sum(len(u.data or b"") for u in sim.uploads.values() if u.uid == uid)
    return envelope({"uid": uid, "usedSpace": used, "totalSpace": TOTAL_SPACE})


# -- M2V management ----------------------------------------------------------------------


async def m2v_task_list(request: Request, sim: Simulator) -> Response:
    page_no, page_size = _paging(request.query_params)
    uid, now = sim.uid_of(request), sim.now()
    tasks = [t for t in sim.tasks.values() if t.kind == "m2v" and t.uid == uid]
    tasks.sort(key=lambda t: t.created_at, reverse=True)
    items = [
        {
            "taskId": t.task_id,
            "status": t.status(now),
            "errorMsg": t.error_msg(now),
            "productName": t.request.get("productName"),
            "createTime": _time(t.created_at),
            # The submit's other parameters, so a client can tell which submit made the task
            # (the real item fields are UNCONFIRMED).
            **{k: t.request[k] for k in LISTED_SUBMIT_FIELDS if k in t.request},
        }
        for t in tasks
    ]
    return envelope(page(items, page_no, page_size, sim.base_url(request)))


async def m2v_task_delete(request: Request, sim: Simulator) -> Response:
    body = v.parse_body(await request.body())
    task_ids = v.string_list(body, "taskIds")
    if not task_ids:
        raise ApiError("4003", "taskIds is required")
    uid = sim.uid_of(request)
    deleted, missing = [], []
    for task_id in task_ids:
        task = sim.tasks.get(task_id)
        if task is None or task.uid != uid or task.kind != "m2v":
            missing.append(task_id)
            continue
        del sim.tasks[task_id]
        deleted.append(task_id)
    error = f"not found: {', '.join(missing)}" if missing else None
    return envelope({"deletedTaskIds": deleted, "errosMsg": error})


# -- boards --------------------------------------------------------------------------------


def _board_tasks(sim: Simulator, board_id: str) -> list[SimTask]:
    tasks = [t for t in sim.tasks.values() if t.board_id == board_id]
    return sorted(tasks, key=lambda t: t.created_at, reverse=True)


def _board_json(sim: Simulator, board: dict[str, Any]) -> dict[str, Any]:
    return {
        "boardId": board["boardId"],
        "name": board["name"],
        "taskCount": len(_board_tasks(sim, board["boardId"])),
        "isSystemDefault": board["isSystemDefault"],
        "ownerName": "Simulated user",
        "gmtCreate": board["gmtCreate"],
        "members": [{"nickname": "Simulated user", "role": "owner"}],
    }


def _first_media_url(value: object) -> str | None:
    """The first URL of a served media file anywhere in a result."""
    if isinstance(value, str):
        return value if "/media/" in value else None
    items = list(value.values()) if isinstance(value, dict) else value
    if isinstance(items, list):
        for item in items:
            found = _first_media_url(item)
            if found:
                return found
    return None


def _board_task_json(sim: Simulator, task: SimTask, base: str) -> dict[str, Any]:
    now = sim.now()
    status = task.status(now)
    media = _MEDIA_TYPES.get(task.kind, "video")
    output: dict[str, Any] = {}
    url = _first_media_url(task_result(task, now, base)) if status == "success" else None
    if url:
        output[f"{media}Url"] = url
    return {
        "taskId": task.task_id,
        "boardTaskId": board_task_id(task),
        "boardId": task.board_id,
        "status": status,
        "toolType": task.kind,
        "toolCategory": f"{media}_generation",
        "mediaType": media,
        "creditsCost": task.cost,
        "gmtCreate": int(task.created_at * 1000),
        "completedAt": int(task.finishes_at * 1000) if task.finished(now) else None,
        "errorMessage": task.error_msg(now),
        "result": output,
    }


async def boards_list(request: Request, sim: Simulator) -> Response:
    page_no, page_size = _paging(request.query_params)
    uid = sim.uid_of(request)
    sim.default_board(uid)
    boards = [_board_json(sim, b) for b in sim.boards.values() if b["uid"] == uid]
    return envelope(page(boards, page_no, page_size, sim.base_url(request)))


def _board_name(body: dict[str, Any], sim: Simulator, uid: str) -> str:
    name = str(v.string(body, "name", required=True))
    if len(name) > 200:
        raise ApiError("4000", "name is longer than 200 characters")
    if any(b["name"] == name and b["uid"] == uid for b in sim.boards.values()):
        raise ApiError("4005", f"a board named {name!r} exists")
    return name


async def board_create(request: Request, sim: Simulator) -> Response:
    body = v.parse_body(await request.body())
    uid = sim.uid_of(request)
    sim.default_board(uid)
    name = _board_name(body, sim, uid)
    board_id = sim.new_id()
    board = {
        "boardId": board_id,
        "uid": uid,
        "name": name,
        "isSystemDefault": False,
        "gmtCreate": int(sim.now() * 1000),
    }
    sim.boards[board_id] = board
    return envelope(_board_json(sim, board))


async def board_detail(request: Request, sim: Simulator) -> Response:
    board_id = v.query_string(request.query_params, "boardId", required=True)
    return envelope(_board_json(sim, sim.find_board(board_id, sim.uid_of(request))))


async def board_update(request: Request, sim: Simulator) -> Response:
    body = v.parse_body(await request.body())
    uid = sim.uid_of(request)
    board = sim.find_board(v.string(body, "boardId", required=True), uid)
    board["name"] = _board_name(body, sim, uid)
    return envelope(_board_json(sim, board))


async def board_delete(request: Request, sim: Simulator) -> Response:
    board_id = v.query_string(request.query_params, "boardId", required=True)
    board = sim.find_board(board_id, sim.uid_of(request))
    if board["isSystemDefault"]:
        raise ApiError("4006", "the default board cannot be deleted")
    for task in _board_tasks(sim, board["boardId"]):
        task.board_id = None
    del sim.boards[board["boardId"]]
    return envelope(True)


async def board_tasks(request: Request, sim: Simulator) -> Response:
    query = request.query_params
    board = sim.find_board(v.query_string(query, "boardId", required=True), sim.uid_of(request))
    page_no, page_size = _paging(query)
    media = v.query_string(query, "mediaType")
    tool = v.query_string(query, "toolType")
    order = v.query_string(query, "sortOrder", allowed=("asc", "desc")) or "desc"
    base = sim.base_url(request)
    items = [
        item
        for item in (_board_task_json(sim, t, base) for t in _board_tasks(sim, board["boardId"]))
        if (media is None or item["mediaType"] == media)
        and (tool is None or item["toolType"] == tool)
    ]
    if order == "asc":
        items.reverse()
    start = (page_no - 1) * page_size
    # [SKILL] board.py reads this page's items from `list`, not `data`.
    return envelope(
        {
            "total": len(items),
            "pageNo": page_no,
            "pageSize": page_size,
            "list": items[start : start + page_size],
        }
    )


async def board_task_detail(request: Request, sim: Simulator) -> Response:
    task_id = v.query_string(request.query_params, "taskId", required=True)
    task = sim.tasks.get(task_id or "")
    if task is None or task.uid != sim.uid_of(request) or task.board_id is None:
        raise ApiError("4004", f"taskId {task_id} is on no board")
    return envelope(_board_task_json(sim, task, sim.base_url(request)))


async def board_tasks_delete(request: Request, sim: Simulator) -> Response:
    body = v.parse_body(await request.body())
    task_ids = v.string_list(body, "taskIds")
    if not task_ids:
        raise ApiError("4003", "taskIds is required")
    uid = sim.uid_of(request)
    board_id = v.string(body, "boardId")
    if board_id is not None:
        sim.find_board(board_id, uid)
    for task_id in task_ids:
        task = sim.tasks.get(task_id)
        if task is not None and task.uid == uid and board_id in (None, task.board_id):
            task.board_id = None
    return envelope(True)


# -- photo avatar templates, cloned voices, custom avatars ---------------------------------


def _templates(sim: Simulator, uid: str) -> list[dict[str, Any]]:
    own = [t for t in sim.photo_templates if t["_uid"] == uid]
    return [*own, *sim.catalog.photo_templates]


async def photo_templates(request: Request, sim: Simulator) -> Response:
    query = request.query_params
    page_no, page_size = _paging(query)
    category = v.query_string(query, "categoryId")
    items = [
        t
        for t in _templates(sim, sim.uid_of(request))
        if category is None or t.get("categoryId") == category
    ]
    return envelope(page(items, page_no, page_size, sim.base_url(request)))


async def photo_template_categories(request: Request, sim: Simulator) -> Response:
    return envelope([dict(c) for c in sim.catalog.photo_template_categories])


async def photo_template_create(request: Request, sim: Simulator) -> Response:
    body = v.parse_body(await request.body())
    uid = sim.uid_of(request)
    image = v.string(body, "templateImageFileId", required=True)
    category = v.string(body, "categoryId")
    if category is not None and all(
        c["categoryId"] != category for c in sim.catalog.photo_template_categories
    ):
        raise ApiError("4004", f"categoryId {category} not found")
    sim.require_files(uid, image)
    template_id = sim.new_id()
    template = {
        "templateId": template_id,
        "templateName": v.string(body, "templateName") or f"My template {template_id[:6]}",
        "categoryId": category,
        "coverUrl": f"media:photo-template-{template_id}.jpg",
        "templateImageFileId": image,
        "_uid": uid,
    }
    sim.photo_templates.append(template)
    return envelope(render(template, sim.base_url(request)))


async def photo_template_delete(request: Request, sim: Simulator) -> Response:
    template_id = v.query_string(request.query_params, "templateId", required=True)
    uid = sim.uid_of(request)
    if any(t["templateId"] == template_id for t in sim.catalog.photo_templates):
        raise ApiError("4006", "public templates cannot be deleted")
    for template in sim.photo_templates:
        if template["templateId"] == template_id and template["_uid"] == uid:
            sim.photo_templates.remove(template)
            return envelope(True)
    raise ApiError("4004", f"templateId {template_id} not found")


async def cloned_voice_delete(request: Request, sim: Simulator) -> Response:
    voice_id = v.query_string(request.query_params, "voiceId", required=True)
    if all(voice["voiceId"] != voice_id for voice in cloned_voices(sim, sim.uid_of(request))):
        raise ApiError("4004", f"voiceId {voice_id} is not one of your cloned voices")
    sim.deleted_voices.add(str(voice_id))
    return envelope(True)


async def video_to_avatar_query(request: Request, sim: Simulator) -> Response:
    """A task submitted to the simulator, else one of the catalogue's finished avatars."""
    task_id = v.query_string(request.query_params, "taskId", required=True)
    base = sim.base_url(request)
    submitted = sim.tasks.get(task_id or "")
    mine = submitted is not None and submitted.uid == sim.uid_of(request)
    if submitted is not None and mine and submitted.kind == "video_to_ai_avatar":
        cdn = v.query_bool(request.query_params, "needCloudFrontUrl")
        return envelope(task_result(submitted, sim.now(), base, cdn))
    for task in sim.catalog.custom_avatar_tasks:
        if task["taskId"] == task_id:
            return envelope(render(task, base) | {"aiAvatar": render(task["aiAvatar"], base)})
    raise ApiError("4004", f"taskId {task_id} not found")
