"""Query results of the endpoints added for issue 22 (see :mod:`._routes_media`).

Same rules as :mod:`._results`: a pure function of the task and the clock; output fields
appear once the task has succeeded and point at media the simulator serves.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

from ._tasks import SimTask
from ._urls import media_url

Builder = Callable[[SimTask, float, str, bool], dict[str, Any]]

_PNG_1PX = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
).decode()
"""A one-pixel PNG, the simulator's base64 mask."""


def _id(task: SimTask, what: str) -> str:
    return hashlib.md5(f"{what}:{task.task_id}".encode(), usedforsecurity=False).hexdigest()


def _head(task: SimTask, now: float, *, credit: bool = True) -> dict[str, Any]:
    from ._results_newer import _head as newer_head

    result = newer_head(task, now)
    if not credit:
        result.pop("costCredit", None)
    return result


def _done(result: dict[str, Any]) -> bool:
    return bool(result["status"] == "success")


def ai_music(task: SimTask, now: float, base: str, cdn: bool) -> dict[str, Any]:
    result = _head(task, now)
    styles = task.request.get("styles")
    enhance = task.request.get("enhancePrompt") in (True, "true")
    result |= {"styles": styles, "enhancePrompt": enhance, "outputs": []}
    if _done(result):
        if enhance:
            result["enhancePromptStyle"] = f"{styles}, polished arrangement, radio mix"
        result["outputs"] = [
            {"fileId": _id(task, "music"), "url": media_url(base, f"{task.task_id}-music.mp3", cdn)}
        ]
    return result


def image_translate(task: SimTask, now: float, base: str, cdn: bool) -> dict[str, Any]:
    result = _head(task, now, credit=False)
    if _done(result):
        languages = [str(language) for language in task.request.get("languages") or []]
        result |= {"block": "0", "width": "1024", "height": "1024", "format": "png"}
        result["content"] = [
            {
                "type": language,
                "translationList": [
                    {"origin": "Fresh coffee", "translation": f"Fresh coffee ({language})"}
                ],
            }
            for language in languages
        ]
    return result


def image_generate(task: SimTask, now: float, base: str, cdn: bool) -> dict[str, Any]:
    result = _head(task, now)
    batch = task.kind == "image_translate_batch"
    result["mode"] = "BATCH" if batch else "SINGLE"
    files = task.request.get("fileIds") if batch else [task.request.get("fileId")]
    details = []
    if result["status"] in ("success", "fail"):
        for index, file_id in enumerate(files or []):
            for language in task.request.get("languages") or []:
                name = f"{task.task_id}-{index}-{str(language).replace(' ', '_')}.png"
                detail: dict[str, Any] = {
                    "fileId": _id(task, name),
                    "fileName": name,
                    "format": "png",
                    "language": language,
                    "status": result["status"],
                    "errorMsg": result["errorMsg"],
                    "sourceFileId": file_id,
                }
                if _done(result):
                    detail["finishedImageUrl"] = media_url(base, name, cdn)
                details.append(detail)
    result["details"] = details
    return result


def video_object_remove(task: SimTask, now: float, base: str, cdn: bool) -> dict[str, Any]:
    result = _head(task, now)
    if _done(result):
        result |= {
            "outputVideoUrl": media_url(base, f"{task.task_id}-clean.mp4", cdn),
            "outputCoverUrl": media_url(base, f"{task.task_id}-clean.jpg", cdn),
            "outputVideoFileId": _id(task, "clean-video"),
            "outputCoverFileId": _id(task, "clean-cover"),
            "outputWidth": 720,
            "outputHeight": 1280,
            "outputDuration": 8000,
        }
    return result


def video_process(task: SimTask, now: float, base: str, cdn: bool) -> dict[str, Any]:
    result = _head(task, now, credit=False)
    if _done(result):
        result |= {
            "resizedVideoUrl": media_url(base, f"{task.task_id}-resized.mp4", cdn),
            "fps": 25.0,
            "frames": 200,
            "duration": 8,
            "format": "mp4",
            "resizedSize": [720, 1280],
        }
    return result


def image_mask_drawing(task: SimTask, now: float, base: str, cdn: bool) -> dict[str, Any]:
    result = _head(task, now)
    if _done(result):
        result |= {"mask": _PNG_1PX, "protectMask": _PNG_1PX}
    return result


def video_mask_drawing(task: SimTask, now: float, base: str, cdn: bool) -> dict[str, Any]:
    result = _head(task, now)
    if _done(result):
        result |= {
            "maskVideoPath": media_url(base, f"{task.task_id}-mask.mp4", cdn),
            "protectMaskVideoPath": media_url(base, f"{task.task_id}-protect.mp4", cdn),
            "trackingVideoPath": media_url(base, f"{task.task_id}-tracking.mp4", cdn),
        }
    return result


def video_character_swap(task: SimTask, now: float, base: str, cdn: bool) -> dict[str, Any]:
    result = _head(task, now)
    if _done(result):
        result["outputVideoUrl"] = media_url(base, f"{task.task_id}-swapped.mp4", cdn)
    return result


def video_to_ai_avatar(task: SimTask, now: float, base: str, cdn: bool) -> dict[str, Any]:
    from ._results_newer import _custom_avatar

    result = _head(task, now)
    if _done(result):
        result["aiAvatar"] = _custom_avatar(task, base, cdn)
    return result


BUILDERS: dict[str, Builder] = {
    "AiMusicTaskResult": ai_music,
    "ImageTranslateTaskResult": image_translate,
    "ImageGenerateTaskResult": image_generate,
    "VideoObjectRemoveTaskResult": video_object_remove,
    "VideoProcessTaskResult": video_process,
    "ImageMaskDrawingTaskResult": image_mask_drawing,
    "VideoMaskDrawingTaskResult": video_mask_drawing,
    "VideoCharacterSwapTaskResult": video_character_swap,
    "VideoToAiAvatarTaskResult": video_to_ai_avatar,
}
"""Result builders by result model (see :data:`._results_newer.BUILDERS`)."""
