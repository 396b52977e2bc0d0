"""Which files a finished task produced, and saving them all: ``task.download(dest_dir)``.

Each kind of task puts its output somewhere else (``exportVideos[].videoUrl``,
``outputVideoUrl``, ``videos[].originVideo.filePath``, ...). One table here knows where, so the
rest of the SDK never does. Fields that the reference marks UNCONFIRMED are read under every
name the sources use.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import anyio
import httpx

from ._names import safe_destination
from ._status import read_field
from .downloads import download_many


@dataclass(frozen=True, slots=True)
class ResultFile:
    """One output file of a task: where it is, and the name to save it under."""

    url: str
    name: str


def _items(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else []


def _url(item: object, *fields: tuple[str, str]) -> str | None:
    if isinstance(item, str):
        return item or None
    for python_name, wire_name in fields:
        value = read_field(item, python_name, wire_name)
        if isinstance(value, str) and value:
            return value
    return None


def _m2v(result: object, script_id: int | None) -> list[str | None]:
    exports = _items(read_field(result, "export_videos", "exportVideos"))
    videos = exports or _items(read_field(result, "preview_videos", "previewVideos"))
    if script_id is not None and exports:
        wanted = [
            v for v in exports if str(read_field(v, "script_id", "scriptId")) == str(script_id)
        ]
        videos = wanted or videos
    return [_url(video, ("video_url", "videoUrl")) for video in videos]


def _single(*fields: tuple[str, str]) -> Callable[[object, int | None], list[str | None]]:
    return lambda result, _script_id: [_url(result, *fields)]


def _each(
    list_field: tuple[str, str], *fields: tuple[str, str]
) -> Callable[[object, int | None], list[str | None]]:
    return lambda result, _script_id: [
        _url(item, *fields) for item in _items(read_field(result, *list_field))
    ]


def _image_to_video(result: object, _script_id: int | None) -> list[str | None]:
    return [
        _url(read_field(video, "origin_video", "originVideo"), ("file_path", "filePath"))
        for video in _items(read_field(result, "videos", "videos"))
    ]


def _scraper(result: object, _script_id: int | None) -> list[str | None]:
    media = _items(read_field(result, "product_images", "productImages"))
    media += _items(read_field(result, "product_videos", "productVideos"))
    return [_url(item, ("file_url", "fileUrl")) for item in media]


def _wire_paths(*paths: str) -> Callable[[object, int | None], list[str | None]]:
    """URLs at ``x-topview-task.resultFiles`` wire paths: dots nest, ``[]`` is every item."""

    def extract(result: object, _script_id: int | None) -> list[str | None]:
        found: list[str | None] = []
        for path in paths:
            values: list[object] = [result]
            for part in path.split("."):
                name = part.removesuffix("[]")
                python_name = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
                values = [read_field(value, python_name, name) for value in values]
                if part.endswith("[]"):
                    values = [item for value in values for item in _items(value)]
            found += [value if isinstance(value, str) else None for value in values]
        return found

    return extract


_VIDEOS: Final = _wire_paths("videos[].filePath")
_IMAGES: Final = _wire_paths("images[].filePath")
_VOICE: Final = _wire_paths("voice.demoAudioUrl")

_URL_FIELDS: Final = (("url", "url"), ("file_url", "fileUrl"), ("file_path", "filePath"))

RESULT_FILES: Final[Mapping[str, Callable[[object, int | None], list[str | None]]]] = {
    "m2v": _m2v,
    "m2v_export": _m2v,
    "video_avatar": _single(("output_video_url", "outputVideoUrl")),
    "product_avatar_image_replace": _each(
        ("product_replace_result", "productReplaceResult"), ("url", "url")
    ),
    "product_avatar_image_to_video": _single(
        ("finished_video_url", "finishedVideoUrl"), ("video_url", "videoUrl")
    ),
    "anyshoot": _each(("images", "images"), *_URL_FIELDS, ("image_url", "imageUrl")),
    "image_to_video": _image_to_video,
    "scraper": _scraper,
    "image_to_video_v2": _VIDEOS,
    "text_to_video": _VIDEOS,
    "omni_reference": _VIDEOS,
    "storyboard": _VIDEOS,
    "text_to_image": _IMAGES,
    "image_edit": _IMAGES,
    "anyshoot_product_model": _IMAGES,
    "remove_background": _wire_paths("bgRemovedImagePath", "maskImagePath"),
    "photo_avatar": _wire_paths("finishedVideoUrl"),
    "product_avatar_image_to_video_v2": _wire_paths("finishedVideoUrl"),
    "product_avatar_image_replace_v3": _wire_paths("replaceProductResult[].url"),
    "text_to_speech": _VOICE,
    "voice_clone": _VOICE,
    "board_download": _wire_paths("downloadUrl"),
}
"""Per task kind: the URLs of the files a finished result points to."""


def result_files(
    kind: str, task_id: str, result: object, *, script_id: int | None = None
) -> list[ResultFile]:
    """The output files of a finished task, each with a default name ``<task id>-<n>.<ext>``."""
    extract = RESULT_FILES.get(kind)
    if extract is None:
        raise ValueError(f"no known result files for task kind {kind!r}")
    urls = [url for url in extract(result, script_id) if url]
    files = []
    for index, url in enumerate(urls, start=1):
        suffix = Path(httpx.URL(url).path).suffix
        name = f"{task_id}-{index}{suffix}" if len(urls) > 1 else f"{task_id}{suffix}"
        files.append(ResultFile(url=url, name=name))
    return files


async def download_result_files(
    http: httpx.AsyncClient,
    files: Sequence[ResultFile],
    dest_dir: str | os.PathLike[str],
    *,
    concurrency: int = 4,
) -> list[Path]:
    """Save ``files`` into ``dest_dir`` (created if needed) and return the paths, in order.

    Names go through :func:`safe_destination`, so nothing from a URL can escape ``dest_dir``,
    and an existing file is never overwritten (a ``-1`` suffix is added instead).
    """

    def plan() -> list[Path]:
        directory = Path(dest_dir)
        directory.mkdir(parents=True, exist_ok=True)
        taken: list[Path] = []
        for item in files:
            taken.append(safe_destination(directory, item.name, taken=taken))
        return taken

    # The file system look-ups are quick but blocking: keep them off the event loop.
    taken = await anyio.to_thread.run_sync(plan)
    return await download_many(
        http,
        [(item.url, path) for item, path in zip(files, taken, strict=True)],
        concurrency=concurrency,
    )
