"""The query-result objects of each task kind, built from a task and the current time.

The same object is the ``result`` of the query endpoint and of the callback body.
Output fields (URLs, durations) appear once the task has succeeded; media URLs point
at files the simulator itself serves.
"""

from __future__ import annotations

from typing import Any

from ._results_media import BUILDERS as _MEDIA_BUILDERS
from ._results_newer import BUILDERS as _NEWER_BUILDERS
from ._tasks import SimTask
from ._urls import media_etag, media_url


def task_result(task: SimTask, now: float, base: str, cdn: bool = False) -> dict[str, Any]:
    """The query ``result`` of ``task`` (for an M2V export: of its parent task)."""
    if task.parent is not None:
        task = task.parent
    from .._generated.task_kinds import TASK_KINDS

    model = TASK_KINDS[task.kind].result_model
    return RESULT_BUILDERS[model](task, now, base, cdn)


def _head(task: SimTask, now: float) -> dict[str, Any]:
    return {"taskId": task.task_id, "status": task.status(now), "errorMsg": task.error_msg(now)}


def _video(
    task: SimTask, script_id: int, role: str, status: str, base: str, cdn: bool
) -> dict[str, Any]:
    product = task.request.get("productName") or "Simulated product"
    video: dict[str, Any] = {
        "scriptId": script_id,
        "status": status,
        "title": f"{product} #{script_id}",
        "description": f"A simulated {role} video for {product}",
    }
    if status == "success":
        name = f"{task.task_id}-{role}-{script_id}.mp4"
        video |= {
            "videoUrl": media_url(base, name, cdn),
            "coverUrl": media_url(base, f"{task.task_id}-{role}-{script_id}.jpg", cdn),
            "videoDuration": 30_000 + 1_000 * (script_id % 20),
            "videoEtag": media_etag(name),
        }
    return video


def _m2v(task: SimTask, now: float, base: str, cdn: bool) -> dict[str, Any]:
    result = _head(task, now)
    status = result["status"]
    exporting = any(not e.finished(now) for e in task.exports.values())
    if status == "success" and exporting:
        # A re-render is in progress; a plain status poller should keep waiting.
        result["status"] = "running"
    scripts = task.scripts if status != "init" else []
    previews, exports = [], []
    if task.preview:
        previews = [_video(task, s.script_id, "preview", status, base, cdn) for s in scripts]
        for script_id, export in sorted(task.exports.items()):
            item = _video(task, script_id, "export", export.status(now), base, cdn)
            exports.append(item)
    else:
        exports = [_video(task, s.script_id, "export", status, base, cdn) for s in scripts]
    result |= {
        "productName": task.request.get("productName") or "Simulated product",
        "productDescription": task.request.get("productDescription")
        or "A product described by the Topview simulator.",
        "previewVideos": previews,
        "exportVideos": exports,
        "videoSceneInfoList": _video_scenes(task, base, cdn) if status == "success" else [],
        "imageSceneInfoList": _image_scenes(task, base, cdn) if status == "success" else [],
        "scriptContentList": [s.as_json() for s in scripts],
    }
    return result


def _video_scenes(task: SimTask, base: str, cdn: bool) -> list[dict[str, Any]]:
    return [
        {
            "mediaId": f"{task.task_id[:16]}v{seq}",
            "seq": seq,
            "mediaType": "video",
            "sceneAnalyseDesc": f"Scene {seq}: the product on a table",
            "sceneFileName": f"scene-{seq}.mp4",
            "videoSceneCoverUrl": media_url(base, f"{task.task_id}-scene-{seq}.jpg", cdn),
            "start": 2.0 * seq,
            "end": 2.0 * seq + 2.0,
        }
        for seq in range(2)
    ]


def _image_scenes(task: SimTask, base: str, cdn: bool) -> list[dict[str, Any]]:
    return [
        {
            "mediaId": f"{task.task_id[:16]}i{seq}",
            "mediaType": "image",
            "sceneAnalyseDesc": f"Image {seq}: product close-up",
            "sceneFileName": f"image-{seq}.jpg",
            "imageSceneUrl": media_url(base, f"{task.task_id}-image-{seq}.jpg", cdn),
        }
        for seq in range(2)
    ]


def _video_avatar(task: SimTask, now: float, base: str, cdn: bool) -> dict[str, Any]:
    result = _head(task, now)
    result["inputVideoFileId"] = task.request.get("videoFileId")
    result["inputAudioFileId"] = task.request.get("audioFileId")
    if result["status"] == "success":
        result["outputVideoUrl"] = media_url(base, f"{task.task_id}-avatar.mp4", cdn)
    return result


def _replace(task: SimTask, now: float, base: str, cdn: bool) -> dict[str, Any]:
    status = task.status(now)
    items = []
    if status == "success":
        items = [
            {
                "key": key,
                "url": media_url(base, f"{key}.jpg", cdn),
                "faceExistence": index == 0 or bool(task.request.get("userFaceImageFileId")),
            }
            for index, key in enumerate(task.keys)
        ]
    return {
        "taskId": task.task_id,
        "taskStatus": status,
        "errorMsg": task.error_msg(now),
        "productReplaceResult": items,
    }


def _single_video(task: SimTask, now: float, base: str, cdn: bool) -> dict[str, Any]:
    result = _head(task, now)
    if result["status"] == "success":
        result["videoUrl"] = media_url(base, f"{task.task_id}-video.mp4", cdn)
        result["coverUrl"] = media_url(base, f"{task.task_id}-cover.jpg", cdn)
    return result


def _anyshoot(task: SimTask, now: float, base: str, cdn: bool) -> dict[str, Any]:
    result = _head(task, now)
    count = int(task.request.get("generatingCount") or 1)
    if result["status"] == "success":
        result["images"] = [
            {"url": media_url(base, f"{task.task_id}-shot-{i}.jpg", cdn)} for i in range(count)
        ]
    return result


def _image_to_video(task: SimTask, now: float, base: str, cdn: bool) -> dict[str, Any]:
    result = _head(task, now)
    count = int(task.request.get("generatingCount") or 1)
    videos = []
    if result["status"] == "success":
        videos = [
            {
                "originVideo": {
                    "filePath": media_url(base, f"{task.task_id}-i2v-{i}.mp4", cdn),
                    "width": 720,
                    "height": 1280,
                }
            }
            for i in range(count)
        ]
        result["costCredit"] = task.cost
    result["videos"] = videos
    return result


def _scraper(task: SimTask, now: float, base: str, cdn: bool) -> dict[str, Any]:
    result = _head(task, now)
    result["productLink"] = task.request.get("productLink")
    if result["status"] == "success":
        files = [f | {"fileUrl": media_url(base, f["fileName"], cdn)} for f in task.files]
        result |= {
            "productName": "Simulated scraped product",
            "productDescription": "A product page parsed by the Topview simulator.",
            "productImages": [f for f in files if f["fileType"] == "image"],
            "productVideos": [f for f in files if f["fileType"] == "video"],
        }
    return result


_BUILDERS = {
    "M2vTaskResult": _m2v,
    "VideoAvatarTaskResult": _video_avatar,
    "ProductAvatarImageReplaceResult": _replace,
    "ProductAvatarImageToVideoResult": _single_video,
    "AnyShootTaskResult": _anyshoot,
    "ImageToVideoTaskResult": _image_to_video,
    "ScraperTaskResult": _scraper,
}
"""Result builders of the original task kinds, by result model (as in ``_results_newer``)."""


RESULT_BUILDERS = {**_BUILDERS, **_NEWER_BUILDERS, **_MEDIA_BUILDERS}
"""Every result builder by result model: the seed kinds', the newer ones' and issue 22's."""
