"""The response bodies the benchmark servers send, shaped like Topview's real answers.

The M2V query result follows the example of ``queryM2vTask`` in ``openapi/topview.yaml``:
a finished task with four preview videos, two exported videos and the analysed scenes.
"""

from __future__ import annotations

import json

TASK_ID = "176bd1a50ba8437db36af5eb8fd9e5ca"
_CDN = "https://d1example.cloudfront.net/m2v/176bd1a50ba8437db36af5eb8fd9e5ca"
_SIGNED = "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=86400&X-Amz-Signature=0123abcd"


def _video(script_id: int, kind: str) -> dict[str, object]:
    return {
        "scriptId": script_id,
        "status": "success",
        "title": f"Summer glow serum, take {script_id + 1}",
        "description": "A 30-second UGC-style ad: hook, three benefits, call to action.",
        "videoUrl": f"{_CDN}/{kind}/{script_id}.mp4{_SIGNED}",
        "coverUrl": f"{_CDN}/{kind}/{script_id}.jpg{_SIGNED}",
        "videoDuration": 30_480 + 517 * script_id,
    }


def m2v_result(task_id: str = TASK_ID, status: str = "success") -> dict[str, object]:
    """A realistic ``queryM2vTask`` result (finished unless ``status`` says otherwise)."""
    done = status == "success"
    return {
        "taskId": task_id,
        "status": status,
        "errorMsg": None,
        "previewVideos": [_video(i, "preview") for i in range(4)] if done else [],
        "exportVideos": [_video(i, "export") for i in range(2)] if done else [],
        "productName": "Summer Glow Vitamin C Serum 30 ml",
        "productDescription": (
            "Brightening serum with 15% vitamin C, hyaluronic acid and ferulic acid. "
            "Lightweight, fragrance free, for all skin types."
        ),
        "videoSceneInfoList": [
            {
                "mediaId": f"9f0c{seq:028x}",
                "seq": seq,
                "mediaType": "video",
                "sceneAnalyseDesc": "Close-up of the dropper releasing serum onto a fingertip.",
                "sceneFileName": f"scene_{seq}.mp4",
                "videoSceneCoverUrl": f"{_CDN}/scenes/{seq}.jpg{_SIGNED}",
                "start": seq * 2500,
                "end": seq * 2500 + 2400,
            }
            for seq in range(3)
        ],
        "imageSceneInfoList": [
            {
                "mediaId": f"7a1e{index:028x}",
                "mediaType": "image",
                "sceneAnalyseDesc": "Product bottle on a marble counter in morning light.",
                "sceneFileName": f"image_{index}.jpg",
                "imageSceneUrl": f"{_CDN}/images/{index}.jpg{_SIGNED}",
            }
            for index in range(2)
        ],
    }


def envelope(result: object) -> bytes:
    """The ``{code, message, result}`` envelope Topview wraps every answer in."""
    return json.dumps(
        {"code": "200", "message": "Success", "result": result}, separators=(",", ":")
    ).encode()


M2V_QUERY_ENVELOPE = envelope(m2v_result())
CHECK_ENVELOPE = envelope(True)


def credential_envelope(file_id: str, upload_url: str, fmt: str) -> bytes:
    """A ``getUploadCredential`` answer."""
    return envelope(
        {"fileId": file_id, "uploadUrl": upload_url, "fileName": f"{file_id}.{fmt}", "format": fmt}
    )
