"""Which files a finished task produced, and saving them all: ``task.download(dest_dir)``.

Each kind of task puts its output somewhere else (``exportVideos[].videoUrl``,
``outputVideoUrl``, ``videos[].originVideo.filePath``, ...). The spec says where, in each
submit's ``x-topview-task.resultFiles``, and the generated ``TASK_KINDS`` carries it here.
Fields that the reference marks UNCONFIRMED are listed there under every name the sources use.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

import anyio
import httpx

from .._exceptions import InvalidInputError
from .._generated.task_kinds import TASK_KINDS
from .._operation import ResultPath, ResultStep, TaskKindSpec
from ._names import safe_destination
from ._status import read_field
from .downloads import download_many

if TYPE_CHECKING:
    from .._config import RetryPolicy


@dataclass(frozen=True, slots=True)
class ResultFile:
    """One output file of a finished task (``await task.result_files()``)."""

    url: str
    """Where to fetch it: a storage or CDN URL, fetched without credentials
    (``await client.download(file.url, dest)``)."""
    name: str
    """The default file name: ``<task id><suffix>``, or ``<task id>-<n><suffix>`` when the
    task produced several files (the suffix comes from the URL's path)."""


def _items(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else []


def _step(value: object, step: ResultStep) -> list[object]:
    """One step of a path from ``value``: the first spelling present, every item of a list."""
    for wire_name, python_name in step.names:
        found = read_field(value, python_name, wire_name)
        if found is not None:
            return _items(found) if step.each else [found]
    return []


def _follow(result: object, path: ResultPath) -> list[str | None]:
    """Every string at the end of ``path``; a string met where an object was expected (a list
    of plain URLs instead of objects: UNCONFIRMED shapes) ends that branch as it is."""
    values: list[object] = [result]
    for step in path:
        following: list[object] = []
        for value in values:
            if isinstance(value, str):
                following.append(value)
            else:
                following.extend(_step(value, step))
        values = following
    return [value for value in values if isinstance(value, str)]


def _by_paths(kind: TaskKindSpec, result: object, _script_id: int | None) -> list[str | None]:
    """Every URL at every ``resultFiles`` path of the spec, in path order, without repeats."""
    urls = [url for path in kind.result_files for url in _follow(result, path)]
    return list(dict.fromkeys(urls))


def _m2v(kind: TaskKindSpec, result: object, script_id: int | None) -> list[str | None]:
    """Exports (the first path) if any, else previews; of one script when it is known."""
    exports_path, *other_paths = kind.result_files
    export_list = exports_path[0].names[0]
    exports = _items(read_field(result, export_list[1], export_list[0]))
    if script_id is not None and exports:
        wanted = [
            v for v in exports if str(read_field(v, "script_id", "scriptId")) == str(script_id)
        ]
        if wanted:
            return _follow({export_list[0]: wanted}, exports_path)
    for path in (exports_path, *other_paths):
        urls = _follow(result, path)
        if urls:
            return urls
    return []


Extractor = Callable[[TaskKindSpec, object, int | None], list[str | None]]

RESULT_FILE_RULES: Final[Mapping[str, Extractor]] = {
    "m2v": _m2v,
    "m2v_export": _m2v,
}
"""Kinds whose files are not simply every URL at their ``resultFiles`` paths (the spec's
``x-topview-task``): an M2V task's exports replace its previews, and an export is one script's."""


def result_files(
    kind: str, task_id: str, result: object, *, script_id: int | None = None
) -> list[ResultFile]:
    """The output files of a finished task, each with a default name ``<task id>-<n>.<ext>``."""
    facts = TASK_KINDS.get(kind)
    if facts is None:
        known = ", ".join(sorted(TASK_KINDS))
        raise InvalidInputError(f"no known result files for task kind {kind!r}; known: {known}")
    extract = RESULT_FILE_RULES.get(kind, _by_paths)
    urls = [url for url in extract(facts, result, script_id) if url]
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
    retry: RetryPolicy | None = None,
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
        retry=retry,
    )
