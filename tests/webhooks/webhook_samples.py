"""Sample callback bodies for every documented bizType, and shared constants."""

from __future__ import annotations

import copy
import json
from typing import Any

SECRET = "test-secret-0123456789abcdef"
UID = "uidTestAccount0000001"
TASK_ID = "176bd1a50ba8437db36af5eb8fd9e5ca"

RESULTS: dict[str, dict[str, Any]] = {
    "M2V_PREVIEW": {
        "taskId": TASK_ID,
        "status": "success",
        "previewVideos": [{"scriptId": 0, "status": "success", "videoUrl": "https://cdn/p.mp4"}],
    },
    "M2V_EXPORT": {
        "taskId": TASK_ID,
        "status": "success",
        "exportVideos": [{"scriptId": 0, "status": "success", "videoUrl": "https://cdn/e.mp4"}],
    },
    "M2V_SCRIPT": {"taskId": TASK_ID, "status": "success", "scriptContentList": []},
    "ZERO_SHOT_AVATAR": {
        "taskId": TASK_ID,
        "status": "success",
        "outputVideoUrl": "https://cdn/avatar.mp4",
    },
    "PRODUCT_AVATAR_REPLACE_PRODUCT_IMAGE": {
        "taskId": TASK_ID,
        "taskStatus": "success",
        "productReplaceResult": [{"key": "k1", "faceExistence": True, "url": "https://cdn/1.png"}],
    },
    "PRODUCT_AVATAR_IMAGE2VIDEO": {
        "taskId": TASK_ID,
        "status": "success",
        "videoUrl": "https://cdn/i2v.mp4",
    },
    "PRODUCT_ANY_SHOOT": {"taskId": TASK_ID, "status": "success", "images": ["https://cdn/a.png"]},
    "COMMON_TASK_IMAGE2VIDEO": {
        "taskId": TASK_ID,
        "status": "success",
        "videos": [{"originVideo": {"filePath": "https://cdn/v.mp4", "width": 720}}],
        "costCredit": 1.5,
    },
    "SCRAPER": {
        "taskId": TASK_ID,
        "status": "success",
        "productName": "Mug",
        "productImages": [{"fileId": "f1", "fileName": "a.png", "fileType": "image"}],
    },
}
"""A plausible query result per documented bizType that has a typed model."""


def notice_body(
    biz_type: str = "M2V_EXPORT",
    *,
    uuid: str = "8a1c2a0e3e3c4a0b9f1e2d3c4b5a6978",
    status: str = "success",
    result: Any = None,
    **extra: Any,
) -> dict[str, Any]:
    """A callback body as Topview documents it (REFERENCE §4.1)."""
    if result is None:
        result = copy.deepcopy(RESULTS.get(biz_type, {"anything": 1}))
    return {
        "uuid": uuid,
        "bizType": biz_type,
        "taskId": TASK_ID,
        "status": status,
        "errorMsg": None,
        "result": result,
        **extra,
    }


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()
