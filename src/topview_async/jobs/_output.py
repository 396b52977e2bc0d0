"""The output directory of a batch: each job's files named by its key, and the manifest.

Files are downloaded into ``OUT/.staging/<key>/`` (named after the task id, as
``task.download`` names them) and moved in place, whole, as ``OUT/<key><suffix>`` once
every file of the job is there; the manifest is replaced atomically.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._model import JobRecord, JobStatus

__all__ = [
    "MANIFEST_NAME",
    "STAGING_NAME",
    "manifest_line",
    "outcome_request",
    "place_files",
    "prepare_staging",
    "remove_empty_staging",
]

MANIFEST_NAME = "manifest.jsonl"
STAGING_NAME = ".staging"


def staging_dir(out_dir: Path, key: str) -> Path:
    return out_dir / STAGING_NAME / key


def prepare_staging(staging: Path) -> None:
    """Create ``staging``; remove whole files an earlier run left there (they are fetched
    again under the same names), keep ``.part`` files and their ``.part.json`` sidecars:
    the resumable download of the same file continues them."""
    staging.mkdir(parents=True, exist_ok=True)
    for path in staging.iterdir():
        if not path.name.endswith((".part", ".part.json")):
            path.unlink()


def place_files(
    paths: Sequence[Path], task_id: str, key: str, out_dir: Path, staging: Path
) -> list[dict[str, Any]]:
    """Move the downloaded ``paths`` to ``out_dir/<key><suffix>``; return their manifest
    entries (``path`` relative to ``out_dir``, ``sha256``, ``size``)."""
    files = []
    for path in paths:
        name = path.name
        suffix = name[len(task_id) :] if name.startswith(task_id) else path.suffix
        final = out_dir / f"{key}{suffix}"
        digest, size = _sha256(path)
        os.replace(path, final)
        files.append({"path": final.name, "sha256": digest, "size": size})
    # Every file is in place: what is left are the .part files of downloads a crash
    # interrupted, which nothing will resume now.
    shutil.rmtree(staging, ignore_errors=True)
    return files


def remove_empty_staging(out_dir: Path) -> None:
    """Remove ``OUT/.staging`` once a run is over, if no job left anything in it.

    Only here, never while jobs run: their folders come and go under it concurrently."""
    with contextlib.suppress(OSError):  # missing, or a job's resumable .part files remain
        (out_dir / STAGING_NAME).rmdir()


def write_manifest(path: Path, records: Sequence[JobRecord]) -> None:
    """``path`` (JSON Lines, one line per job), replaced atomically."""
    text = "".join(json.dumps(manifest_line(r), ensure_ascii=False) + "\n" for r in records)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    with partial.open("w", encoding="utf-8") as stream:
        stream.write(text)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(partial, path)


def manifest_line(record: JobRecord) -> dict[str, Any]:
    line: dict[str, Any] = {
        "key": record.key,
        "kind": record.kind,
        "params": record.params,
        "task_id": record.task_id,
        "status": record.status.value,
        "files": record.files,
        "credits": record.credits,
        "error": record.error,
    }
    if record.status is JobStatus.OUTCOME_UNKNOWN:
        line["request"] = outcome_request(record)
    if record.earlier_tasks:
        line["earlier_tasks"] = record.earlier_tasks
    return line


def _sha256(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def outcome_request(record: JobRecord) -> dict[str, Any] | None:
    """For an ``outcome_unknown`` job, the request its submit sent (``None`` otherwise).

    The journal keeps the request when the submit itself reported an unknown outcome. A run
    that stopped with the submit in flight could not: the request is then rebuilt from what
    the runner sends, the kind's submit operation with the job's params (``attempt`` says
    which submit of the job it was).
    """
    if record.status is not JobStatus.OUTCOME_UNKNOWN:
        return None
    if record.request:
        return record.request
    from .._generated.task_kinds import TASK_KINDS

    spec = TASK_KINDS.get(record.kind)
    request: dict[str, Any] = {"params": record.params, "attempt": record.attempt}
    if spec is not None:
        operation = spec.submit_operation
        request = {"method": operation.method, "path": operation.path, **request}
    return request
