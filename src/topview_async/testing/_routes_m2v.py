"""Avatar Marketing Video (M2V): submit, query, scripts, export (REFERENCE §5)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from . import _validation as v
from ._catalog import LANGUAGES
from ._errors import ApiError, envelope
from ._results import task_result
from ._tasks import Script, SimTask

if TYPE_CHECKING:
    from ._simulator import Simulator

ASPECT_RATIOS = ("9:16", "3:4", "1:1", "4:3", "16:9")
SEGMENT_TEXTS = (
    "Meet {product}, the upgrade you did not know you needed.",
    "It fits right into your day, wherever you are.",
    "Thousands of happy customers already love it.",
    "Tap the link and get yours today!",
)


def notice_url(body: dict[str, Any]) -> str | None:
    """The optional ``noticeUrl``; 4000 unless it is an http(s) URL."""
    url = v.string(body, "noticeUrl")
    parts = urlsplit(url) if url is not None else None
    if parts is not None and (parts.scheme not in ("http", "https") or not parts.netloc):
        raise ApiError("4000", "noticeUrl must be an http(s) URL")
    return url


def check_catalog_id(value: str | None, known: list[dict[str, Any]], key: str, name: str) -> None:
    """4004 when ``value`` is given but not in the catalogue."""
    if value is not None and all(item[key] != value for item in known):
        raise ApiError("4004", f"{name} {value} not found")


async def submit(request: Request, sim: Simulator) -> Response:
    body = v.parse_body(await request.body())
    uid = sim.uid_of(request)
    link = v.string(body, "productLink")
    file_ids = v.string_list(body, "fileIds")
    if not link and not file_ids:
        raise ApiError("4003", "productLink or fileIds is required")
    diy = v.boolean(body, "isDiyScript")
    preview = v.boolean(body, "preview")
    name = v.string(body, "productName", required=not link)
    v.string(body, "productDescription", required=not link and not diy)
    v.string(body, "aspectRatio", allowed=ASPECT_RATIOS)
    v.string(body, "language", allowed=LANGUAGES)
    v.integer(body, "videoLengthType", allowed=(1, 2, 3, 4))
    v.string(body, "endcardAspectRatio", allowed=("all", *ASPECT_RATIOS))
    v.string(body, "endcardBackgroundColor", allowed=("black", "white"))
    v.string(body, "diyStyle", allowed=("diyScriptStyle", "diyScriptPrompt"))
    for field in ("diyScriptDescription", "diyScriptStyle", "diyScriptPrompt", "targetAudience"):
        v.string(body, field)
    catalog = sim.catalog
    check_catalog_id(v.string(body, "voiceId"), catalog.voices, "voiceId", "voiceId")
    check_catalog_id(v.string(body, "aiavatarId"), catalog.aiavatars, "aiavatarId", "aiavatarId")
    check_catalog_id(v.string(body, "captionId"), catalog.captions, "captionId", "captionId")
    notice_url(body)
    media = [v.string(body, f) for f in ("endcardFileId", "logoFileId", "musicFileId")]
    # With a productLink the fileIds are ignored (REFERENCE §5.1), so they are not checked.
    sim.require_files(uid, *([] if link else file_ids), *media)
    task = sim.create_task("m2v", request, body, preview=preview)
    task.scripts = _scripts(task, name or "the product", sim.config.script_count)
    return envelope(sim.submit_result(task))


def _scripts(task: SimTask, product: str, count: int) -> list[Script]:
    first = 1000 + int(task.task_id[:4], 16) % 9000
    return [
        Script(
            first + i,
            [
                {"segId": seg + 1, "segText": text.format(product=product)}
                for seg, text in enumerate(SEGMENT_TEXTS)
            ],
        )
        for i in range(count)
    ]


async def query(request: Request, sim: Simulator) -> Response:
    task_id = v.query_string(request.query_params, "taskId", required=True)
    cdn = v.query_bool(request.query_params, "needCloudFrontUrl")
    task = sim.find_task(task_id, sim.uid_of(request), ("m2v",))
    return envelope(task_result(task, sim.now(), sim.base_url(request), cdn))


async def script_list(request: Request, sim: Simulator) -> Response:
    task_id = v.query_string(request.query_params, "taskId", required=True)
    task = sim.find_task(task_id, sim.uid_of(request), ("m2v",))
    ready = task.status(sim.now()) != "init"
    return envelope([s.as_json() for s in task.scripts] if ready else [])


async def script_update(request: Request, sim: Simulator) -> Response:
    body = v.parse_body(await request.body())
    task_id = v.string(body, "taskId", required=True)
    script_id = v.integer(body, "scriptId", minimum=0) or 0
    contents = body.get("scriptContents")
    if contents is None or contents == []:
        raise ApiError("4003", "scriptContents is required")
    if not isinstance(contents, list) or not all(isinstance(c, dict) for c in contents):
        raise ApiError("4001", "scriptContents must be a list of objects")
    segments = []
    for item in contents:
        # segId is an integer in [CN]/[EN] and a string in [DOCS]: accept both.
        seg_id = v.integer(item, "segId", required=True, numeric_string=True)
        text = v.string(item, "segText", required=True)
        segments.append({"segId": seg_id, "segText": text})
    now = sim.now()
    task = sim.find_task(task_id, sim.uid_of(request), ("m2v",))
    if task.status(now) == "init":
        raise ApiError("4006", "scripts are not generated yet")
    script = task.script(script_id)
    if script is None:
        raise ApiError("4004", f"scriptId {script_id} not found")
    script.segments = segments
    return envelope({"taskId": task.task_id, "status": task.status(now), "errorMsg": None})


async def export(request: Request, sim: Simulator) -> Response:
    body = v.parse_body(await request.body())
    task_id = v.string(body, "taskId", required=True)
    script_id = v.integer(body, "scriptId", minimum=0) or 0
    notice_url(body)
    task = sim.find_task(task_id, sim.uid_of(request), ("m2v",))
    if not task.preview:
        raise ApiError("4000", "the task was submitted with preview=false and is exported already")
    if task.status(sim.now()) != "success":
        raise ApiError("4006", "the previews of this task are not ready")
    script = task.script(script_id)
    if script is None:
        raise ApiError("4004", f"scriptId {script_id} not found")
    child = sim.create_task("m2v_export", request, body, parent=task, script_id=script.script_id)
    task.exports[script.script_id] = child
    return envelope(sim.submit_result(child))
