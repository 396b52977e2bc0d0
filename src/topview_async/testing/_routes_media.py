"""Submit and query of the endpoints added for issue 22: AI music, image translation, video
object removal, the four steps of video character swap and video-to-AI-avatar.

Each validates what its docs.topview.ai page states, with the code the page names (AI music's
4012-4022 included); every file id must have been uploaded, and a step that takes an earlier
task's id needs that task finished.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from . import _validation as v
from ._errors import ApiError, envelope
from ._results import task_result
from ._routes_generative import _submit

if TYPE_CHECKING:
    from ._simulator import Simulator
    from ._tasks import SimTask

_MUSIC_LYRICS_LIMITS = {"topview music": 5000, "minimax music 2.6": 3500}
"""AI music models ([DOCS]; case-insensitive) and their lyrics limit in characters."""
_MUSIC_STYLES_LIMIT = 1000
"""The simulator's own limit of ``styles`` (the page says only "exceeds maximum length")."""
_AUDIO_FORMATS = ("mp3", "wav", "m4a")
_VIDEO_FORMATS = ("mp4", "mov", "avi")

GENERATION_KEY = "{}#generate"
"""Where a single-image generate task is stored: it shares the translate task's id ([DOCS])."""


def _finished(sim: Simulator, request: Request, task_id: str | None, kind: str) -> SimTask:
    """The caller's finished task of ``kind`` (4004 unknown, 4000 not finished yet)."""
    task = sim.find_task(task_id, sim.uid_of(request), (kind,))
    if task.status(sim.now()) != "success":
        raise ApiError("4000", f"task {task_id} has not succeeded")
    return task


def _file_format(sim: Simulator, file_id: str | None) -> str | None:
    upload = sim.uploads.get(file_id or "")
    return upload.format if upload is not None else None


async def ai_music_submit(request: Request, sim: Simulator) -> Response:
    body = v.parse_body(await request.body())
    model = str(v.string(body, "model", required=True)).lower()
    if model not in _MUSIC_LYRICS_LIMITS:
        raise ApiError("4012", f"Invalid model {body['model']}")
    instrumental = v.boolean(body, "instrumental")
    lyrics = (v.string(body, "lyrics") or "").strip()
    styles = (v.string(body, "styles") or "").strip()
    if instrumental and not styles:
        raise ApiError("4013", "styles is required when instrumental=true")
    if not instrumental and not (lyrics or styles):
        raise ApiError("4014", "At least one of lyrics or styles is required")
    if not instrumental and len(lyrics) > _MUSIC_LYRICS_LIMITS[model]:
        raise ApiError("4015", "lyrics exceeds maximum length")
    if len(styles) > _MUSIC_STYLES_LIMIT:
        raise ApiError("4016", "styles exceeds maximum length")
    if v.boolean(body, "enhancePrompt") and not styles:
        raise ApiError("4022", "Non-empty styles is required when enhancePrompt is enabled")
    reference = body.get("referenceAudio")
    if reference is not None:
        if not isinstance(reference, dict) or not isinstance(reference.get("fileId"), str):
            raise ApiError("4017", "Invalid referenceAudio parameter")
        sim.require_files(sim.uid_of(request), reference["fileId"])
        if _file_format(sim, reference["fileId"]) not in _AUDIO_FORMATS:
            raise ApiError("4018", "Invalid referenceAudio format")
        start = v.number(reference, "clipStart", minimum=0, maximum=3600) or 0.0
        end = v.number(reference, "clipEnd", minimum=0, maximum=3600)
        if end is not None and end <= start:
            raise ApiError("4021", "Invalid referenceAudio clip range")
    return envelope(sim.submit_result(_submit(sim, request, "ai_music", body)))


def _languages(body: dict[str, Any]) -> list[str]:
    languages = v.string_list(body, "languages")
    if not languages:
        raise ApiError("4003", "languages is required")
    return languages


async def image_translate_submit(request: Request, sim: Simulator) -> Response:
    body = v.parse_body(await request.body())
    file_id = v.string(body, "fileId", required=True)
    _languages(body)
    sim.require_files(sim.uid_of(request), file_id)
    return envelope(sim.submit_result(_submit(sim, request, "image_translate", body)))


async def image_generate_submit(request: Request, sim: Simulator) -> Response:
    """Step 2 of a single translation: a task that answers with the translate task's id."""
    body = v.parse_body(await request.body())
    source = _finished(sim, request, v.string(body, "taskId", required=True), "image_translate")
    key = GENERATION_KEY.format(source.task_id)
    if key in sim.tasks:
        raise ApiError("4000", f"task {source.task_id} was already generated")
    generation = _submit(sim, request, "image_translate_generate", body)
    del sim.tasks[generation.task_id]
    generation.task_id = source.task_id
    generation.request = {**source.request, **body}
    sim.tasks[key] = generation
    return envelope(sim.submit_result(generation))


async def image_translate_batch_submit(request: Request, sim: Simulator) -> Response:
    body = v.parse_body(await request.body())
    files = v.string_list(body, "fileIds")
    if not files:
        raise ApiError("4003", "fileIds is required")
    _languages(body)
    sim.require_files(sim.uid_of(request), *files)
    return envelope(sim.submit_result(_submit(sim, request, "image_translate_batch", body)))


async def image_generate_query(request: Request, sim: Simulator) -> Response:
    """Both generate kinds: a single generate (stored beside its translate task) or a batch."""
    task_id = v.query_string(request.query_params, "taskId", required=True) or ""
    cdn = v.query_bool(request.query_params, "needCloudFrontUrl")
    uid = sim.uid_of(request)
    task = sim.tasks.get(GENERATION_KEY.format(task_id))
    if task is None or task.uid != uid:
        task = sim.find_task(task_id, uid, ("image_translate_batch",))
    return envelope(task_result(task, sim.now(), sim.base_url(request), cdn))


def _selection_box(body: dict[str, Any], mode: str) -> None:
    box = body.get("selectionBox")
    if mode == "auto":
        return
    if not isinstance(box, dict):
        raise ApiError("4003", f"selectionBox is required when mode={mode}")
    x, y, w, h = (v.number(box, k, minimum=0, maximum=100) for k in ("x", "y", "w", "h"))
    if x is None or y is None or w is None or h is None or w <= 0 or h <= 0:
        raise ApiError("4000", "selectionBox needs x, y and positive w, h in percent")
    if x + w > 100 or y + h > 100:
        raise ApiError("4000", "selectionBox must stay inside the frame")


async def video_object_remove_submit(request: Request, sim: Simulator) -> Response:
    body = v.parse_body(await request.body())
    mode = str(
        v.string(body, "mode", required=True, allowed=("auto", "clear-inside", "clear-outside"))
    )
    video = v.string(body, "videoFileId", required=True)
    _selection_box(body, mode)
    sim.require_files(sim.uid_of(request), video)
    if _file_format(sim, video) not in _VIDEO_FORMATS:
        raise ApiError("4000", "videoFileId must be a video")
    return envelope(sim.submit_result(_submit(sim, request, "video_object_remove", body)))


async def video_process_submit(request: Request, sim: Simulator) -> Response:
    body = v.parse_body(await request.body())
    video = v.string(body, "inputVideoFileId", required=True)
    sim.require_files(sim.uid_of(request), video)
    if _file_format(sim, video) not in _VIDEO_FORMATS:
        raise ApiError("4000", "inputVideoFileId must be an MP4, MOV or AVI video")
    return envelope(sim.submit_result(_submit(sim, request, "video_process", body)))


def _points(item: Any) -> None:
    if not isinstance(item, dict) or item.get("index") in (None, ""):
        raise ApiError("4003", "inputInfo needs a frame index")
    given = [item.get(name) for name in ("modifyPoints", "protectPoints")]
    if not any(given):
        raise ApiError("4000", "modifyPoints and protectPoints cannot both be empty")
    for points in given:
        if points is not None and not (
            isinstance(points, list) and all(isinstance(p, list) and len(p) == 2 for p in points)
        ):
            raise ApiError("4001", "points must be [x, y] pairs")


async def image_mask_submit(request: Request, sim: Simulator) -> Response:
    body = v.parse_body(await request.body())
    _finished(sim, request, v.string(body, "videoProcessTaskId", required=True), "video_process")
    _points(body.get("inputInfo"))
    return envelope(sim.submit_result(_submit(sim, request, "image_mask_drawing", body)))


async def video_mask_submit(request: Request, sim: Simulator) -> Response:
    body = v.parse_body(await request.body())
    _finished(sim, request, v.string(body, "videoProcessTaskId", required=True), "video_process")
    infos = body.get("inputInfos")
    if not isinstance(infos, list) or not infos:
        raise ApiError("4003", "inputInfos is required")
    for info in infos:
        _points(info)
    return envelope(sim.submit_result(_submit(sim, request, "video_mask_drawing", body)))


async def character_swap_submit(request: Request, sim: Simulator) -> Response:
    body = v.parse_body(await request.body())
    image = v.string(body, "modelImageFileId", required=True)
    mask = v.string(body, "videoMaskDrawingTaskId", required=True)
    _finished(sim, request, mask, "video_mask_drawing")
    sim.require_files(sim.uid_of(request), image)
    return envelope(sim.submit_result(_submit(sim, request, "video_character_swap", body)))
