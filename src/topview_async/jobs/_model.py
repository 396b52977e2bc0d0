"""What a job is, and what the journal knows about it.

A :class:`Job` is the user's intent: a key, a task kind and the submit's keyword arguments.
A :class:`JobRecord` is the journal's view of that job at one moment: which step it reached,
the task id once known, the request sent when its outcome is unknown, the files saved.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._exceptions import InvalidInputError

__all__ = ["Job", "JobRecord", "JobStatus", "read_jobs"]

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
"""Keys name files in the output directory: no separators, no leading dot, bounded length."""


class JobStatus(enum.StrEnum):
    """Where a job stands. Every change is one journal transaction."""

    PENDING = "pending"
    """Not submitted (or refused with nothing created): the runner may submit it."""
    SUBMITTING = "submitting"
    """The intent to submit is durable; the request may be on its way. Found at start-up,
    it means a crash hit a submit in flight: the job is reconciled, never resubmitted blindly."""
    OUTCOME_UNKNOWN = "outcome_unknown"
    """The submit may have created a paid task that could not be found yet. The user decides:
    ``resolve --task-id`` or ``resolve --resubmit``."""
    RUNNING = "running"
    """The task id is known: wait for the task, then download its files."""
    DOWNLOADED = "downloaded"
    """Finished: every result file is in the output directory, with its sha256."""
    FAILED = "failed"
    """Topview refused the submit, or the task failed. ``error`` says why."""

    @property
    def finished(self) -> bool:
        return self in (JobStatus.DOWNLOADED, JobStatus.FAILED)


@dataclass(frozen=True)
class Job:
    """One unit of work: ``params`` are the keyword arguments of the kind's submit method
    (``client.marketing_videos.submit(**params)`` for ``kind="m2v"``); local paths are fine,
    the submit uploads them."""

    key: str
    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not _KEY.match(self.key):
            raise InvalidInputError(
                f"job key {self.key!r} must be 1-128 letters, digits, '.', '_' or '-' "
                "(it names the job's files), not starting with '.' or '-'"
            )
        if not isinstance(self.params, Mapping):
            raise InvalidInputError(f"job {self.key}: params must be an object")


@dataclass
class JobRecord:
    """The journal's row for one job."""

    key: str
    kind: str
    params: dict[str, Any]
    status: JobStatus = JobStatus.PENDING
    attempt: int = 0
    """Submits sent (or possibly sent) for this job so far."""
    task_id: str | None = None
    intent_at: float | None = None
    """Wall-clock time the last submit intent was recorded (epoch seconds)."""
    request: dict[str, Any] | None = None
    """For ``outcome_unknown``: what was sent (method, url, body; never credentials)."""
    error: str | None = None
    files: list[dict[str, Any]] = field(default_factory=list)
    """``{"path", "sha256", "size"}`` of every saved file, ``path`` relative to the output."""
    credits: float | None = None
    """``costCredit`` Topview reported for the task, when it does."""
    earlier_tasks: list[dict[str, Any]] = field(default_factory=list)
    """``{"task_id", "error", "credits"}`` of each task of this job that failed at Topview
    before ``topview batch retry`` sent the job again (each one a paid task of its own)."""

    def copy(self) -> JobRecord:
        return dataclasses.replace(
            self,
            params=dict(self.params),
            files=[dict(f) for f in self.files],
            earlier_tasks=[dict(t) for t in self.earlier_tasks],
        )

    def to_json(self) -> dict[str, Any]:
        # By hand, not dataclasses.asdict: this runs for every journal write. The JSON
        # encoder copies nothing, so sharing params/files/request here is safe.
        return {
            "key": self.key,
            "kind": self.kind,
            "params": self.params,
            "status": self.status.value,
            "attempt": self.attempt,
            "task_id": self.task_id,
            "intent_at": self.intent_at,
            "request": self.request,
            "error": self.error,
            "files": self.files,
            "credits": self.credits,
            "earlier_tasks": self.earlier_tasks,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobRecord:
        values = {f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data}
        values["status"] = JobStatus(values.get("status", JobStatus.PENDING.value))
        return cls(**values)


def read_jobs(path: str | Path) -> list[Job]:
    """The jobs of a JSON Lines file: one ``{"key", "kind", "params"}`` object a line.

    Blank lines and lines starting with ``#`` are skipped. Raises :class:`InvalidInputError`
    naming the line for anything malformed, and for a key used twice.
    """
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return list(_parse(lines, str(path)))


def _parse(lines: Iterable[str], source: str) -> Iterator[Job]:
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        where = f"{source}:{number}"
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"{where}: not valid JSON ({exc.msg})") from None
        if not isinstance(data, dict) or not {"key", "kind"} <= data.keys():
            raise InvalidInputError(f'{where}: expected an object with "key", "kind", "params"')
        unknown = data.keys() - {"key", "kind", "params"}
        if unknown:
            raise InvalidInputError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        try:
            job = Job(str(data["key"]), str(data["kind"]), data.get("params") or {})
        except InvalidInputError as exc:
            raise InvalidInputError(f"{where}: {exc.message}") from None
        if job.key in seen:
            raise InvalidInputError(f"{where}: key {job.key!r} is used twice")
        seen.add(job.key)
        yield job
