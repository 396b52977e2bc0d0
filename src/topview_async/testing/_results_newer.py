"""Query results of the newer task kinds (CORRECTIONS §2): generative video and images,
background removal, photo avatars, Product Avatar v2/v3, AnyShoot v3, voice, board ZIPs.

Same rules as :mod:`._results`: a pure function of the task and the clock; output fields
appear once the task has succeeded and point at media the simulator serves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from ._credits import FREE_ON_FAILURE, reports_cost
from ._tasks import SimTask
from ._urls import media_url

Builder = Callable[[SimTask, float, str, bool], dict[str, Any]]

_ASPECTS = {"9:16": (9, 16), "3:4": (3, 4), "1:1": (1, 1), "4:3": (4, 3), "16:9": (16, 9)}


def board_task_id(task: SimTask) -> str:
    """The id of a task's result on its board (stable for a task)."""
    return hashlib.md5(f"board-task:{task.task_id}".encode(), usedforsecurity=False).hexdigest()


def _count(task: SimTask, *names: str) -> int:
    for name in names:
        value = task.request.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return 1


def _size(task: SimTask, default_short: int) -> tuple[int, int]:
    """Pixel size from ``aspectRatio`` and ``resolution`` (the short side)."""
    default = (16, 9) if task.kind == "storyboard" else (9, 16)
    across, down = _ASPECTS.get(str(task.request.get("aspectRatio")), default)
    raw = task.request.get("resolution")
    short = raw if isinstance(raw, int) and raw > 0 else default_short
    if isinstance(raw, str):
        short = {"512p": 512, "1K": 1024, "2K": 2048, "4K": 4096}.get(raw, default_short)
    if across <= down:
        return short, short * down // across
    return short * across // down, short


def _head(task: SimTask, now: float) -> dict[str, Any]:
    status = task.status(now)
    result: dict[str, Any] = {
        "taskId": task.task_id,
        "status": status,
        "errorMsg": task.error_msg(now),
    }
    if not reports_cost(task.kind):
        pass  # as Topview: the credit log is the only place this task's cost shows
    elif status == "success" or (status == "fail" and task.kind not in FREE_ON_FAILURE):
        result["costCredit"] = task.cost
    elif status == "fail":
        result["costCredit"] = 0.0
    if task.board_id is not None:
        result["boardId"] = task.board_id
        result["boardTaskId"] = board_task_id(task)
    return result


def _outputs(
    task: SimTask, now: float, base: str, cdn: bool, *, count: int, extension: str, size: int
) -> list[dict[str, Any]]:
    status = task.status(now)
    if status not in ("success", "fail"):
        return []
    width, height = _size(task, size)
    items = []
    for index in range(count):
        item: dict[str, Any] = {"status": status}
        if status == "success":
            item |= {
                "filePath": media_url(base, f"{task.task_id}-{index}.{extension}", cdn),
                "width": width,
                "height": height,
            }
        else:
            item["errorMsg"] = task.error_msg(now)
        items.append(item)
    return items


def generative_video(task: SimTask, now: float, base: str, cdn: bool) -> dict[str, Any]:
    result = _head(task, now)
    count = _count(task, "generatingCount")
    videos = _outputs(task, now, base, cdn, count=count, extension="mp4", size=720)
    for video in videos:
        if "filePath" in video:
            video["coverUrl"] = video["filePath"].replace(".mp4", ".jpg", 1)
    result["videos"] = videos
    return result


def generated_images(task: SimTask, now: float, base: str, cdn: bool) -> dict[str, Any]:
    result = _head(task, now)
    count = _count(task, "generateCount", "generatingCount")
    images = _outputs(task, now, base, cdn, count=count, extension="png", size=1024)
    for index, image in enumerate(images):
        if "filePath" in image:  # a file id per image ([DOCS] storyboard-query-task)
            image["fileId"] = hashlib.md5(
                f"image:{task.task_id}:{index}".encode(), usedforsecurity=False
            ).hexdigest()
    result["images"] = images
    return result


def remove_background(task: SimTask, now: float, base: str, cdn: bool) -> dict[str, Any]:
    result = _head(task, now)
    if result["status"] == "success":
        cutout, mask = task.files[0]["fileId"], task.files[1]["fileId"]
        result |= {
            "bgRemovedImageFileId": cutout,
            "bgRemovedImagePath": media_url(base, f"{cutout}.png", cdn),
            "bgRemovedImageWidth": 1024,
            "bgRemovedImageHeight": 1024,
            "maskImageFileId": mask,
            "maskImagePath": media_url(base, f"{mask}.png", cdn),
        }
    return result


def _custom_avatar(task: SimTask, base: str, cdn: bool) -> dict[str, Any]:
    avatar_id = hashlib.sha256(f"custom-avatar:{task.task_id}".encode()).hexdigest()[:32]
    return {
        "aiavatarId": avatar_id,
        "aiavatarName": f"Custom avatar {avatar_id[:6]}",
        "gender": None,
        "coverUrl": media_url(base, f"{avatar_id}.jpg", cdn),
        "previewVideoUrl": media_url(base, f"{avatar_id}.mp4", cdn),
        "ethnicities": None,
        "voiceoverIdDefault": task.request.get("voiceId"),
        "faceSquareConfig": {"x": 120, "y": 80, "width": 480, "height": 480},
        "type": 2,
    }


def photo_avatar(task: SimTask, now: float, base: str, cdn: bool) -> dict[str, Any]:
    result = _head(task, now)
    if result["status"] == "success":
        result |= {
            "finishedVideoUrl": media_url(base, f"{task.task_id}-photo-avatar.mp4", cdn),
            "finishedVideoCoverUrl": media_url(base, f"{task.task_id}-photo-avatar.jpg", cdn),
        }
        if task.request.get("saveCustomAiAvatar") in (True, "true"):
            result["aiAvatar"] = _custom_avatar(task, base, cdn)
    return result


def product_avatar_video_v2(task: SimTask, now: float, base: str, cdn: bool) -> dict[str, Any]:
    result = _head(task, now)
    if result["status"] == "success":
        result["finishedVideoUrl"] = media_url(base, f"{task.task_id}-pa2.mp4", cdn)
        result["aiAvatar"] = _custom_avatar(task, base, cdn)
    return result


def product_avatar_replace_v3(task: SimTask, now: float, base: str, cdn: bool) -> dict[str, Any]:
    result = _head(task, now)
    items = []
    if result["status"] == "success":
        face = bool(task.request.get("avatarId") or task.request.get("userFaceImageFileId"))
        items = [
            {
                "imageId": key,
                "url": media_url(base, f"{key}.jpg", cdn),
                "faceExistence": face or index == 0,
            }
            for index, key in enumerate(task.keys)
        ]
    result["replaceProductResult"] = items
    return result


def _voice(task: SimTask, base: str, cdn: bool, voice_id: str) -> dict[str, Any]:
    text = str(task.request.get("voiceText") or "A cloned voice says hello.")
    return {
        "voiceId": voice_id,
        "name": task.request.get("name") or f"Voice {voice_id[:6]}",
        "demoAudioUrl": media_url(base, f"{task.task_id}-voice.mp3", cdn),
        "durations": round(max(len(text) / 15.0, 1.0), 1),
    }


def voice(task: SimTask, now: float, base: str, cdn: bool) -> dict[str, Any]:
    """Text-to-speech (the voice used) and voice clone (the new voice, ``keys[0]``)."""
    result = _head(task, now)
    if result["status"] == "success":
        voice_id = task.keys[0] if task.keys else str(task.request.get("voiceId"))
        result["voice"] = _voice(task, base, cdn, voice_id)
    return result


def board_download(task: SimTask, now: float, base: str, cdn: bool) -> dict[str, Any]:
    result = _head(task, now)
    if result["status"] == "success":
        result["downloadUrl"] = media_url(base, f"{task.task_id}-board.zip", cdn)
    return result


BUILDERS: dict[str, Builder] = {
    "GenerativeVideoTaskResult": generative_video,
    "ImageGenerationTaskResult": generated_images,
    "AnyShootProductModelResult": generated_images,
    "RemoveBackgroundTaskResult": remove_background,
    "PhotoAvatarTaskResult": photo_avatar,
    "ProductAvatarImageToVideoV2Result": product_avatar_video_v2,
    "ProductAvatarImageReplaceV3Result": product_avatar_replace_v3,
    "VoiceTaskResult": voice,
    "BoardDownloadResult": board_download,
}
"""Result builders by result model (``x-topview-task``'s query result): a new kind whose
result model has a builder needs none of its own."""
