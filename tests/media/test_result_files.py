"""Every task kind's output files are found, named safely, and saved inside dest_dir."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest

from topview_async._exceptions import InvalidInputError
from topview_async._generated import models
from topview_async._generated.task_kinds import TASK_KINDS
from topview_async.lib._media import download_result_files, result_files

TASK = "176bd1a50ba8437db36af5eb8fd9e5ca"
CASES = {
    "m2v": (
        models.M2vTaskResult,
        {
            "taskId": TASK,
            "status": "success",
            "exportVideos": [
                {"scriptId": 1, "videoUrl": "https://cdn.test/a/1.mp4"},
                {"scriptId": 2, "videoUrl": "https://cdn.test/a/2.mp4"},
            ],
            "previewVideos": [{"scriptId": 1, "videoUrl": "https://cdn.test/p/1.mp4"}],
        },
        ["https://cdn.test/a/1.mp4", "https://cdn.test/a/2.mp4"],
    ),
    "m2v_export": (
        models.M2vTaskResult,
        {
            "taskId": TASK,
            "status": "success",
            "exportVideos": [
                {"scriptId": 1, "videoUrl": "https://cdn.test/a/1.mp4"},
                {"scriptId": 2, "videoUrl": "https://cdn.test/a/2.mp4"},
            ],
        },
        ["https://cdn.test/a/2.mp4"],  # script 2 was exported (see the test)
    ),
    "video_avatar": (
        models.VideoAvatarTaskResult,
        {"taskId": TASK, "status": "success", "outputVideoUrl": "https://s3.test/out.mp4?sig=1"},
        ["https://s3.test/out.mp4?sig=1"],
    ),
    "product_avatar_image_replace": (
        models.ProductAvatarImageReplaceResult,
        {
            "taskId": TASK,
            "taskStatus": "success",
            "productReplaceResult": [
                {"key": "k1", "url": "https://s3.test/r1.jpg"},
                {"key": "k2", "url": "https://s3.test/r2.jpg"},
            ],
        },
        ["https://s3.test/r1.jpg", "https://s3.test/r2.jpg"],
    ),
    "product_avatar_image_to_video": (
        models.ProductAvatarImageToVideoResult,
        {"taskId": TASK, "status": "success", "videoUrl": "https://s3.test/v.mp4"},
        ["https://s3.test/v.mp4"],
    ),
    "anyshoot": (
        models.AnyShootTaskResult,
        {
            "taskId": TASK,
            "status": "success",
            "images": ["https://s3.test/1.png", {"url": "https://s3.test/2.png"}],
        },
        ["https://s3.test/1.png", "https://s3.test/2.png"],
    ),
    "image_to_video": (
        models.ImageToVideoTaskResult,
        {
            "taskId": TASK,
            "status": "success",
            "videos": [
                {"originVideo": {"filePath": "https://s3.test/i2v.mp4", "width": 1, "height": 1}}
            ],
        },
        ["https://s3.test/i2v.mp4"],
    ),
    "scraper": (
        models.ScraperTaskResult,
        {
            "taskId": TASK,
            "status": "success",
            "productImages": [{"fileId": "f1", "fileUrl": "https://s3.test/img.jpg"}],
            "productVideos": [{"fileId": "f2", "fileUrl": "https://s3.test/vid.mp4"}],
        },
        ["https://s3.test/img.jpg", "https://s3.test/vid.mp4"],
    ),
}


def _case(model: type, fields: dict[str, object], urls: list[str]) -> tuple[type, dict, list]:  # type: ignore[type-arg]
    return (model, {"taskId": TASK, "status": "success", **fields}, urls)


_VIDEOS = {
    "videos": [{"filePath": "https://s3.test/g1.mp4"}, {"filePath": "https://s3.test/g2.mp4"}]
}
_IMAGES = {
    "images": [{"filePath": "https://s3.test/g1.png"}, {"filePath": "https://s3.test/g2.png"}]
}
_VOICE = {"voice": {"voiceId": "v", "demoAudioUrl": "https://s3.test/v.mp3"}}
CASES |= {
    kind: _case(
        models.GenerativeVideoTaskResult,
        _VIDEOS,
        ["https://s3.test/g1.mp4", "https://s3.test/g2.mp4"],
    )
    for kind in ("image_to_video_v2", "text_to_video", "omni_reference")
}
CASES |= {
    kind: _case(
        models.ImageGenerationTaskResult,
        _IMAGES,
        ["https://s3.test/g1.png", "https://s3.test/g2.png"],
    )
    for kind in ("text_to_image", "image_edit", "storyboard")
}
CASES |= {
    "anyshoot_product_model": _case(
        models.AnyShootProductModelResult,
        _IMAGES,
        ["https://s3.test/g1.png", "https://s3.test/g2.png"],
    ),
    "remove_background": _case(
        models.RemoveBackgroundTaskResult,
        {"bgRemovedImagePath": "https://s3.test/cut.png", "maskImagePath": "https://s3.test/m.png"},
        ["https://s3.test/cut.png", "https://s3.test/m.png"],
    ),
    "photo_avatar": _case(
        models.PhotoAvatarTaskResult,
        {
            "finishedVideoUrl": "https://s3.test/p.mp4",
            "finishedVideoCoverUrl": "https://s3.test/p.jpg",
        },
        ["https://s3.test/p.mp4"],
    ),
    "product_avatar_image_to_video_v2": _case(
        models.ProductAvatarImageToVideoV2Result,
        {"finishedVideoUrl": "https://s3.test/pa2.mp4"},
        ["https://s3.test/pa2.mp4"],
    ),
    "product_avatar_image_replace_v3": _case(
        models.ProductAvatarImageReplaceV3Result,
        {"replaceProductResult": [{"imageId": "i1", "url": "https://s3.test/r1.jpg"}]},
        ["https://s3.test/r1.jpg"],
    ),
    "text_to_speech": _case(models.VoiceTaskResult, _VOICE, ["https://s3.test/v.mp3"]),
    "voice_clone": _case(models.VoiceTaskResult, _VOICE, ["https://s3.test/v.mp3"]),
    "board_download": _case(
        models.BoardDownloadResult,
        {"downloadUrl": "https://s3.test/b.zip"},
        ["https://s3.test/b.zip"],
    ),
    "ai_music": _case(
        models.AiMusicTaskResult,
        {"outputs": [{"fileId": "f", "url": "https://s3.test/m.mp3"}]},
        ["https://s3.test/m.mp3"],
    ),
    "image_translate": _case(
        models.ImageTranslateTaskResult,
        {
            "content": [
                {"type": "Italian", "translationList": [{"origin": "a", "translation": "b"}]}
            ]
        },
        [],
    ),
    "image_mask_drawing": _case(
        models.ImageMaskDrawingTaskResult, {"mask": "iVBORw0KGgo=", "protectMask": "iVBO"}, []
    ),
    "video_object_remove": _case(
        models.VideoObjectRemoveTaskResult,
        {"outputVideoUrl": "https://s3.test/c.mp4", "outputCoverUrl": "https://s3.test/c.jpg"},
        ["https://s3.test/c.mp4"],
    ),
    "video_process": _case(
        models.VideoProcessTaskResult,
        {"resizedVideoUrl": "https://s3.test/r.mp4"},
        ["https://s3.test/r.mp4"],
    ),
    "video_mask_drawing": _case(
        models.VideoMaskDrawingTaskResult,
        {
            "maskVideoPath": "https://s3.test/m.mp4",
            "protectMaskVideoPath": "https://s3.test/p.mp4",
            "trackingVideoPath": "https://s3.test/t.mp4",
        },
        ["https://s3.test/m.mp4", "https://s3.test/p.mp4", "https://s3.test/t.mp4"],
    ),
    "video_character_swap": _case(
        models.VideoCharacterSwapTaskResult,
        {"outputVideoUrl": "https://s3.test/s.mp4"},
        ["https://s3.test/s.mp4"],
    ),
    "video_to_ai_avatar": _case(
        models.VideoToAiAvatarTaskResult,
        {"aiAvatar": {"aiavatarId": "a", "previewVideoUrl": "https://s3.test/a.mp4"}},
        ["https://s3.test/a.mp4"],
    ),
}
_TRANSLATIONS = {
    "details": [
        {"language": "Italian", "finishedImageUrl": "https://s3.test/it.png"},
        {"language": "Hindi", "finishedImageUrl": "https://s3.test/hi.png"},
    ]
}
CASES |= {
    kind: _case(
        models.ImageGenerateTaskResult,
        _TRANSLATIONS,
        ["https://s3.test/it.png", "https://s3.test/hi.png"],
    )
    for kind in ("image_translate_generate", "image_translate_batch")
}
NO_FILE_KINDS = {"image_translate", "image_mask_drawing"}
"""Kinds whose result is data (translated text, base64 masks), not files ([DOCS])."""


def test_every_task_kind_has_result_file_paths_and_a_case() -> None:
    assert set(TASK_KINDS) == set(CASES)
    assert {kind for kind, facts in TASK_KINDS.items() if not facts.result_files} == NO_FILE_KINDS


@pytest.mark.parametrize("kind", sorted(CASES))
@pytest.mark.parametrize("as_model", [True, False], ids=["model", "raw-dict"])
def test_result_files_per_kind(kind: str, as_model: bool) -> None:
    model, raw, expected = CASES[kind]
    result = model.model_validate(raw) if as_model else raw
    script_id = 2 if kind == "m2v_export" else None
    files = result_files(kind, TASK, result, script_id=script_id)
    assert [f.url for f in files] == expected
    assert len({f.name for f in files}) == len(files)
    assert all(f.name.startswith(TASK) for f in files)


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="no known result files"):
        result_files("brand_new_kind", TASK, {})


@pytest.mark.anyio
async def test_download_result_files_stays_inside_dest_dir(tmp_path: Path) -> None:
    bodies = {"/a/evil.mp4": b"one" * 1000, "/b/evil.mp4": b"two" * 1000}

    def serve(request: httpx.Request) -> httpx.Response:
        body = bodies[request.url.path]
        assert "authorization" not in request.headers
        return httpx.Response(
            200, stream=httpx.ByteStream(body), headers={"Content-Length": str(len(body))}
        )

    files = result_files(
        "anyshoot",
        "../../etc/passwd",  # even a hostile task id cannot steer the path
        {"images": ["https://cdn.test/a/evil.mp4", "https://cdn.test/b/evil.mp4"]},
    )
    dest = tmp_path / "out"
    async with httpx.AsyncClient(transport=httpx.MockTransport(serve)) as http:
        paths = await download_result_files(http, files, dest)

    assert [p.parent for p in paths] == [dest, dest]
    assert len(set(paths)) == 2
    digests = sorted(hashlib.sha256(p.read_bytes()).hexdigest() for p in paths)
    assert digests == sorted(hashlib.sha256(b).hexdigest() for b in bodies.values())
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == sorted(
        p.name for p in paths
    )
