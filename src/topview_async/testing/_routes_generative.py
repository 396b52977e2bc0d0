"""Submit and query of the newer task kinds (CORRECTIONS §2, REFERENCE §11): generative
video and images, background removal, photo avatars, Product Avatar v2/v3, AnyShoot v3,
text-to-speech and voice cloning, board ZIP downloads.

Validation follows what the sources document (required fields, ranges); model names are
never checked, since Topview adds models often. Every file id must have been uploaded.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from . import _validation as v
from ._errors import ApiError, envelope
from ._results import task_result
from ._routes_m2v import check_catalog_id, notice_url
from ._uploads import StoredUpload

if TYPE_CHECKING:
    from ._simulator import Simulator
    from ._tasks import SimTask

Handler = Callable[[Request, "Simulator"], Awaitable[Response]]


def query(kind: str) -> Handler:
    """The query handler of ``kind``: ``taskId`` + ``needCloudFrontUrl``."""

    async def handler(request: Request, sim: Simulator) -> Response:
        task_id = v.query_string(request.query_params, "taskId", required=True)
        cdn = v.query_bool(request.query_params, "needCloudFrontUrl")
        task = sim.find_task(task_id, sim.uid_of(request), (kind,))
        return envelope(task_result(task, sim.now(), sim.base_url(request), cdn))

    return handler


def _board(sim: Simulator, request: Request, body: dict[str, Any]) -> None:
    board_id = v.string(body, "boardId")
    if board_id is not None:
        sim.find_board(board_id, sim.uid_of(request))


def _submit(sim: Simulator, request: Request, kind: str, body: dict[str, Any]) -> SimTask:
    _board(sim, request, body)
    notice_url(body)
    return sim.create_task(kind, request, body)


def _generation_fields(body: dict[str, Any], *, count: str) -> None:
    v.string(body, "aspectRatio")
    v.integer(body, "duration", minimum=1, maximum=60)
    v.integer(body, count, minimum=1, maximum=4)
    v.string(body, "sound", allowed=("on", "off"))


def _named_files(body: dict[str, Any], name: str) -> list[str]:
    items = body.get(name)
    if items is None:
        return []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ApiError("4001", f"{name} must be a list of {{name, fileId}} objects")
    return [str(v.string(item, "fileId", required=True)) for item in items]


def cloned_voices(sim: Simulator, uid: str) -> list[dict[str, Any]]:
    """The uid's finished voice clones that were not deleted, as voice catalogue items."""
    now = sim.now()
    voices = []
    for task in sim.tasks.values():
        if task.kind != "voice_clone" or task.uid != uid or task.status(now) != "success":
            continue
        voice_id = task.keys[0]
        if voice_id in sim.deleted_voices:
            continue
        voices.append(
            {
                "voiceId": voice_id,
                "voiceName": task.request.get("name") or f"Cloned voice {voice_id[:6]}",
                "language": "en",
                "gender": "female",
                "age": "Young",
                "style": "UGC",
                "accent": "Standard",
                "demoAudioUrl": f"media:{task.task_id}-voice.mp3",
                "bestSupportLanguage": "en",
                "durations": 4.0,
                "isCustom": True,
            }
        )
    return voices


def _check_voice(sim: Simulator, request: Request, voice_id: str | None) -> None:
    if voice_id is None:
        return
    known = sim.catalog.voices + cloned_voices(sim, sim.uid_of(request))
    check_catalog_id(voice_id, known, "voiceId", "voiceId")


def _script(sim: Simulator, request: Request, body: dict[str, Any]) -> str | None:
    """``scriptMode`` text (TTS) or audio (a file); returns the audio file id."""
    mode = v.string(body, "scriptMode", required=True, allowed=("text", "audio"))
    v.string(body, "ttsText", required=mode == "text")
    _check_voice(sim, request, v.string(body, "voiceId", required=mode == "text"))
    return v.string(body, "audioFileId", required=mode == "audio")


async def image_to_video_v2_submit(request: Request, sim: Simulator) -> Response:
    body = v.parse_body(await request.body())
    v.string(body, "model", required=True)
    v.string(body, "prompt")
    first = v.string(body, "firstFrameFileId")
    end = v.string(body, "endFrameFileId")
    references = v.string_list(body, "referenceImageFileIds")
    if first is None and not references:
        raise ApiError("4003", "firstFrameFileId or referenceImageFileIds is required")
    v.integer(body, "resolution", minimum=480, maximum=2160)
    _generation_fields(body, count="generatingCount")
    sim.require_files(sim.uid_of(request), first, end, *references)
    return envelope(sim.submit_result(_submit(sim, request, "image_to_video_v2", body)))


async def omni_reference_submit(request: Request, sim: Simulator) -> Response:
    body = v.parse_body(await request.body())
    v.string(body, "model", required=True)
    v.string(body, "prompt", required=True)
    files = _named_files(body, "inputImages") + _named_files(body, "inputVideos")
    v.integer(body, "resolution", minimum=240, maximum=2160)
    v.boolean(body, "internetSearch")
    _generation_fields(body, count="generatingCount")
    sim.require_files(sim.uid_of(request), *files)
    return envelope(sim.submit_result(_submit(sim, request, "omni_reference", body)))


_STORYBOARD_MODELS = {"gpt image 2": 16, "nano banana 2": 14, "nano banana pro": 6}
"""Storyboard models ([DOCS]; case-insensitive) and how many reference images each takes."""


async def storyboard_submit(request: Request, sim: Simulator) -> Response:
    """An image task ([DOCS] storyboard-submit-task): a story drawn as one grid image."""
    body = v.parse_body(await request.body())
    story = v.string(body, "story", required=True) or ""
    if not story.strip() or len(story) > 5000:
        raise ApiError("4000", "story must be 1 to 5000 characters")
    model = str(v.string(body, "model", required=True)).lower()
    resolutions = ("512p", "1K", "2K", "4K") if model == "nano banana 2" else ("1K", "2K", "4K")
    v.string(body, "resolution", required=True, allowed=resolutions)
    v.string(body, "aspectRatio", allowed=("16:9", "9:16", "1:1"))
    mode = v.string(body, "gridMode", allowed=("auto", "preset", "custom")) or "preset"
    size = v.integer(body, "gridSize", minimum=2, maximum=25)
    if mode == "preset" and size is not None and size not in (4, 9, 25):
        raise ApiError("4000", "gridSize must be 4, 9 or 25 when gridMode=preset")
    v.integer(body, "targetDurationSeconds", minimum=1)
    references = v.string_list(body, "referenceFileIds")
    if len(references) > _STORYBOARD_MODELS.get(model, 16):
        raise ApiError("4000", "too many referenceFileIds for this model")
    sim.require_files(sim.uid_of(request), *references)
    return envelope(sim.submit_result(_submit(sim, request, "storyboard", body)))


async def image_edit_submit(request: Request, sim: Simulator) -> Response:
    body = v.parse_body(await request.body())
    v.string(body, "model")
    v.string(body, "prompt", required=True)
    images = v.string_list(body, "inputImageFileIds")
    if not images:
        raise ApiError("4003", "inputImageFileIds is required")
    if len(images) > 16:
        raise ApiError("4000", "inputImageFileIds takes at most 16 images")
    v.string(body, "resolution")
    _generation_fields(body, count="generateCount")
    sim.require_files(sim.uid_of(request), *images)
    return envelope(sim.submit_result(_submit(sim, request, "image_edit", body)))


async def remove_background_submit(request: Request, sim: Simulator) -> Response:
    body = v.parse_body(await request.body())
    image = v.string(body, "productImageFileId", required=True)
    uid = sim.uid_of(request)
    sim.require_files(uid, image)
    task = _submit(sim, request, "remove_background", body)
    # The cut-out and the mask become files of the account once the task succeeds, so the
    # cut-out can feed productImageWithoutBackgroundFileId of Product Avatar v3.
    for _ in ("cutout", "mask"):
        file_id = sim.new_id()
        task.files.append({"fileId": file_id, "fileType": "image", "format": "png"})
        sim.uploads[file_id] = StoredUpload(file_id, "png", uid, sim.now(), source_task=task)
    return envelope(sim.submit_result(task))


async def photo_avatar_submit(request: Request, sim: Simulator) -> Response:
    body = v.parse_body(await request.body())
    v.string(body, "mode", required=True, allowed=("avatar2", "avatar4", "avatar4Fast"))
    avatar = v.string(body, "avatarId")
    photo = v.string(body, "templateImageFileId")
    if avatar is None and photo is None:
        raise ApiError("4003", "avatarId or templateImageFileId is required")
    check_catalog_id(avatar, sim.catalog.aiavatars, "aiavatarId", "avatarId")
    audio = _script(sim, request, body)
    v.string(body, "customMotion")
    if len(str(body.get("customMotion") or "")) > 600:
        raise ApiError("4000", "customMotion is longer than 600 characters")
    check_catalog_id(v.string(body, "captionId"), sim.catalog.captions, "captionId", "captionId")
    v.boolean(body, "saveCustomAiAvatar")
    v.boolean(body, "offPeak")
    sim.require_files(sim.uid_of(request), photo, audio)
    return envelope(sim.submit_result(_submit(sim, request, "photo_avatar", body)))


async def product_avatar_video_v2_submit(request: Request, sim: Simulator) -> Response:
    body = v.parse_body(await request.body())
    image_id = v.string(body, "replaceProductTaskImageId", required=True)
    v.string(body, "mode", required=True)
    audio = _script(sim, request, body)
    caption = v.string(body, "captionId", required=True)
    check_catalog_id(caption, sim.catalog.captions, "captionId", "captionId")
    source = sim.replace_keys.get(image_id or "")
    if source is None or source.uid != sim.uid_of(request) or source.status(sim.now()) != "success":
        raise ApiError("4004", f"replaceProductTaskImageId {image_id} not found")
    sim.require_files(sim.uid_of(request), audio)
    task = _submit(sim, request, "product_avatar_image_to_video_v2", body)
    return envelope(sim.submit_result(task))


async def product_avatar_replace_v3_submit(request: Request, sim: Simulator) -> Response:
    body = v.parse_body(await request.body())
    product = v.string(body, "productImageFileId")
    cutout = v.string(body, "productImageWithoutBackgroundFileId")
    if product is None and cutout is None:
        raise ApiError(
            "4003", "productImageFileId or productImageWithoutBackgroundFileId is required"
        )
    avatar = v.string(body, "avatarId")
    template = v.string(body, "templateImageFileId")
    if avatar is None and template is None:
        raise ApiError("4003", "avatarId or templateImageFileId is required")
    check_catalog_id(avatar, sim.catalog.product_avatars, "avatarId", "avatarId")
    face = v.string(body, "userFaceImageFileId")
    v.string(body, "generateImageMode")
    v.string(body, "keepTarget")
    v.string(body, "version")
    sim.require_files(sim.uid_of(request), product, cutout, template, face)
    task = _submit(sim, request, "product_avatar_image_replace_v3", body)
    task.keys = [sim.new_id() for _ in range(2)]
    for key in task.keys:
        sim.replace_keys[key] = task
    return envelope(sim.submit_result(task))


async def anyshoot_product_model_submit(request: Request, sim: Simulator) -> Response:
    body = v.parse_body(await request.body())
    product = v.string(body, "productImageFileId")
    cutout = v.string(body, "productImageWithoutBackgroundFileId")
    if product is None and cutout is None:
        raise ApiError(
            "4003", "productImageFileId or productImageWithoutBackgroundFileId is required"
        )
    template = v.string(body, "templateId")
    check_catalog_id(template, sim.catalog.templates, "templateId", "templateId")
    v.integer(body, "generatingCount", minimum=1, maximum=4)
    sim.require_files(sim.uid_of(request), product, cutout)
    task = _submit(sim, request, "anyshoot_product_model", body)
    return envelope(sim.submit_result(task))


async def text_to_speech_submit(request: Request, sim: Simulator) -> Response:
    body = v.parse_body(await request.body())
    v.string(body, "voiceText", required=True)
    _check_voice(sim, request, v.string(body, "voiceId", required=True))
    v.number(body, "voiceSpeed", minimum=0.5, maximum=2.0)
    origin = v.string(body, "originVoiceFileId")
    rules = body.get("pronRules")
    if rules is not None and (
        not isinstance(rules, list)
        or not all(isinstance(r, dict) and "oldStr" in r and "newStr" in r for r in rules)
    ):
        raise ApiError("4001", "pronRules must be a list of {oldStr, newStr}")
    sim.require_files(sim.uid_of(request), origin)
    return envelope(sim.submit_result(_submit(sim, request, "text_to_speech", body)))


async def voice_clone_submit(request: Request, sim: Simulator) -> Response:
    body = v.parse_body(await request.body())
    recording = v.string(body, "originVoiceFileId", required=True)
    v.string(body, "name")
    v.string(body, "voiceText")
    v.number(body, "voiceSpeed", minimum=0.8, maximum=1.2)
    uid = sim.uid_of(request)
    sim.require_files(uid, recording)
    upload = sim.uploads[recording or ""]
    if upload.format not in ("mp3", "wav"):
        raise ApiError("4000", "originVoiceFileId must be an mp3 or wav recording")
    task = _submit(sim, request, "voice_clone", body)
    task.keys = [sim.new_id()]  # the new voice's id
    return envelope(sim.submit_result(task))


async def board_download_submit(request: Request, sim: Simulator) -> Response:
    body = v.parse_body(await request.body())
    board_id = v.string(body, "boardId", required=True)
    sim.find_board(board_id, sim.uid_of(request))
    v.string_list(body, "taskIds")
    notice_url(body)
    task = sim.create_task("board_download", request, body)
    return envelope(sim.submit_result(task))
