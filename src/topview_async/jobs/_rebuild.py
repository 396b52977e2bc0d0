"""A new journal for a batch whose journal was lost, built from its manifest.

The manifest (``OUT/manifest.jsonl``, written at the end of every run) names each job's
task id and status. Rebuilding trusts it, and errs on the side of never paying twice:

* a job with a task keeps it: ``downloaded`` if all its files are still in OUT with their
  size, else ``running`` (the next run waits for the task and downloads again); ``failed``
  stays failed (``topview batch retry`` decides);
* a job whose submit had an unknown outcome stays ``outcome_unknown`` (reconciled, or
  decided with ``topview batch resolve``);
* a job without a task is ``pending``, unless files named after it are in OUT: then a run
  the manifest does not know about may have paid for it, and it is ``outcome_unknown``;
* an M2V job without a task is ``outcome_unknown`` as if its submit had been sent when the
  manifest was written: a run that crashed after it may have created its task, and the M2V
  task list (which the next run reads) shows it; if the list shows none and the grace period
  (``--reconcile-grace``) has passed since, the job is submitted.

The unusable journal is moved aside (``journal.sqlite3.unusable-<time>``), never deleted.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio.to_thread

from .._exceptions import InvalidInputError
from ._lock import DirectoryLock
from ._model import Job, JobRecord, JobStatus
from ._output import MANIFEST_NAME
from ._sqlite import JOURNAL_NAME, SqliteJournal, journal_problem
from ._steps import reconcilable

__all__ = ["rebuild_journal", "record_from_manifest"]

REBUILT = "journal rebuilt from the manifest"


def record_from_manifest(
    line: Mapping[str, Any],
    params: Mapping[str, Any],
    out_dir: Path,
    *,
    has_files: bool,
    written_at: float | None = None,
) -> JobRecord:
    """The journal record of one manifest ``line`` (see the module docstring);
    ``has_files``: files named after the job are in ``out_dir``; ``written_at``: when the
    manifest was written (epoch seconds)."""
    key, kind = str(line["key"]), str(line["kind"])
    task_id = line.get("task_id") or None
    status = str(line.get("status") or JobStatus.PENDING.value)
    files = [dict(f) for f in line.get("files") or [] if isinstance(f, Mapping)]
    record = JobRecord(key, kind, dict(params), task_id=None if task_id is None else str(task_id))
    record.credits = line.get("credits")
    record.files = files
    record.earlier_tasks = [dict(t) for t in line.get("earlier_tasks") or []]
    record.error = line.get("error")
    if record.task_id is not None:
        record.attempt = 1
        if status == JobStatus.FAILED.value:
            record.status = JobStatus.FAILED
        elif status == JobStatus.DOWNLOADED.value and _files_in_place(files, out_dir):
            record.status = JobStatus.DOWNLOADED
        else:
            record.status, record.files = JobStatus.RUNNING, []
            record.error = f"{REBUILT}: waiting for the task and its files again"
    elif status in (JobStatus.OUTCOME_UNKNOWN.value, JobStatus.SUBMITTING.value):
        record.status, record.attempt = JobStatus.OUTCOME_UNKNOWN, 1
        record.request = line.get("request")
        record.error = f"{REBUILT}: the outcome of its submit is unknown"
    elif status == JobStatus.FAILED.value:
        record.status = JobStatus.FAILED  # refused before any task existed
    elif has_files:
        record.status, record.attempt = JobStatus.OUTCOME_UNKNOWN, 1
        record.error = (
            f"{REBUILT}: it shows no task but files named {key}.* are in {out_dir}; "
            "a later run may have paid for it"
        )
    elif reconcilable(kind) and written_at is not None:  # its task list may show it
        record.status, record.attempt, record.intent_at = JobStatus.OUTCOME_UNKNOWN, 1, written_at
        record.error = f"{REBUILT}: looking for a task a lost run may have made, before submitting"
    else:
        record.status = JobStatus.PENDING
    return record


def _files_in_place(files: Sequence[Mapping[str, Any]], out_dir: Path) -> bool:
    if not files:
        return False
    for entry in files:
        path = out_dir / str(entry.get("path", ""))
        try:
            if not path.is_file() or path.stat().st_size != entry.get("size"):
                return False
        except OSError:
            return False
    return True


def _keys_with_files(keys: Sequence[str], out_dir: Path) -> set[str]:
    """The keys that files in ``out_dir`` are named after (``<key>`` or ``<key>.<suffix>``;
    the longest key wins, as ``a.b.mp4`` belongs to ``a.b`` rather than ``a``)."""
    known = set(keys)
    owners: set[str] = set()
    for path in out_dir.iterdir():
        name = path.name
        candidates = [name] + [name[:i] for i, c in enumerate(name) if c == "."]
        owner = max((k for k in candidates if k in known), key=len, default=None)
        if owner is not None:
            owners.add(owner)
    return owners


def _read_manifest(path: Path) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
        if not isinstance(line, dict) or not {"key", "kind"} <= line.keys():
            raise InvalidInputError(f'{path}:{number}: expected an object with "key", "kind"')
        lines.append(line)
    return lines


def _move_aside(out_dir: Path) -> list[Path]:
    stamp = time.strftime("%Y%m%dT%H%M%S")
    moved = []
    for suffix in ("", "-wal", "-shm", "-journal"):
        path = out_dir / (JOURNAL_NAME + suffix)
        if path.exists():
            target = path.with_name(f"{JOURNAL_NAME}.unusable-{stamp}{suffix}")
            os.replace(path, target)
            moved.append(target)
    return moved


async def rebuild_journal(
    out_dir: str | os.PathLike[str], *, jobs: Sequence[Job] | None = None
) -> list[JobRecord]:
    """Write a new journal for the batch in ``out_dir`` from its manifest; return its records.

    Refused (:class:`InvalidInputError`) while the journal is usable, and without a manifest.
    ``jobs`` (the batch's jobs file) supply the params of a manifest written before manifests
    carried them. Holds the directory's lock while it works.
    """
    out = Path(out_dir)
    with DirectoryLock(out):
        problem = await anyio.to_thread.run_sync(journal_problem, out)
        if problem is None:
            raise InvalidInputError(
                f"the journal of {out} is usable (or nothing ran there): nothing to rebuild"
            )
        manifest = out / MANIFEST_NAME
        if not manifest.is_file():
            raise InvalidInputError(f"no {MANIFEST_NAME} in {out}: nothing to rebuild from")
        lines = await anyio.to_thread.run_sync(_read_manifest, manifest)
        written_at = manifest.stat().st_mtime
        given = {job.key: job for job in jobs or ()}
        with_files = await anyio.to_thread.run_sync(
            _keys_with_files, [str(line["key"]) for line in lines], out
        )
        records = []
        missing = []
        for line in lines:
            params = line.get("params")
            job = given.get(str(line["key"]))
            if job is not None:
                params = _plain(job.params)
            if not isinstance(params, Mapping):
                missing.append(str(line["key"]))
                continue
            has_files = str(line["key"]) in with_files
            records.append(
                record_from_manifest(line, params, out, has_files=has_files, written_at=written_at)
            )
        if missing:
            raise InvalidInputError(
                f"the manifest does not carry the params of {', '.join(missing[:3])}"
                f"{' and more' if len(missing) > 3 else ''}: give the batch's jobs file "
                "(topview batch rebuild OUT --jobs JOBS_FILE)"
            )
        await anyio.to_thread.run_sync(_move_aside, out)
        journal = SqliteJournal(out / JOURNAL_NAME)  # the lock is ours already
        try:
            await journal.save(records)
        finally:
            await journal.aclose()
    return records


def _plain(params: Mapping[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(json.dumps(dict(params), default=str))
    return result
