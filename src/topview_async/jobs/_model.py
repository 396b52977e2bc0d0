"""What a job is, and what the journal knows about it.

A :class:`Job` is the user's intent: a key, a task kind and the submit's keyword arguments.
A :class:`JobRecord` is the journal's view of that job at one moment: which step it reached,
the task id once known, the request sent when its outcome is unknown, the files saved.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import json
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._exceptions import InvalidInputError, JobsFileError

if TYPE_CHECKING:
    from .._client import AsyncTopview

__all__ = ["KEY_RULE", "Job", "JobRecord", "JobStatus", "load_jobs", "read_jobs"]

_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
"""Keys name files in the output directory: no separators, no leading dot, bounded length.
Always ``fullmatch``: ``$`` would let a trailing newline through."""

KEY_RULE = (
    "a key is 1-128 letters, digits, '.', '_' or '-' (it names the job's files), "
    "not starting with '.', '_' or '-'"
)


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
        if not isinstance(self.key, str) or not _KEY.fullmatch(self.key):
            raise InvalidInputError(f"job key {self.key!r}: {KEY_RULE}")
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

    Blank lines and lines starting with ``#`` are skipped. The whole file is read before
    anything is returned: UTF-8 text, JSON objects, keys (strings following the key rule,
    each used once), kinds the SDK knows, ``params`` an object. Raises
    :class:`~topview_async._exceptions.JobsFileError` listing every bad line with its number.
    :func:`load_jobs` also checks each job's params as its submit would.
    """
    source = Path(path)
    numbered, problems = _read(source)
    if problems:
        raise JobsFileError(str(source), [text for _, text in problems])
    return [job for _, job in numbered]


async def load_jobs(
    path: str | Path, client: AsyncTopview | None = None, *, submitted: Collection[str] = ()
) -> list[Job]:
    """:func:`read_jobs`, and every job's params checked as its submit checks them before
    sending (``client.tasks.check_submit``: argument names, types, enums, the spec's
    cross-field rules, local files); nothing is sent.

    ``client`` decides how local paths are told from file ids (``local_files``); without one,
    a client with the default settings is used for the checks only. The params of the jobs
    whose keys are in ``submitted`` are not checked: a resumed batch sends them no more (their
    local files may be gone). Raises
    :class:`~topview_async._exceptions.JobsFileError` listing every bad line, whatever is
    wrong with it, in file order.
    """
    source = Path(path)
    numbered, problems = _read(source)
    unsent = [(number, job) for number, job in numbered if job.key not in submitted]
    if client is None:
        from .. import AsyncTopview

        # Only checks: nothing is sent, so no credentials are needed.
        async with AsyncTopview(api_key="unused", uid="unused") as checker:
            problems += await _check_params(checker, source, unsent)
    else:
        problems += await _check_params(client, source, unsent)
    if problems:
        raise JobsFileError(str(source), [text for _, text in sorted(problems)])
    return [job for _, job in numbered]


async def _check_params(
    client: AsyncTopview, source: Path, numbered: list[tuple[int, Job]]
) -> list[tuple[int, str]]:
    problems: list[tuple[int, str]] = []
    for number, job in numbered:
        try:
            await client.tasks.check_submit(job.kind, job.params)
        except InvalidInputError as exc:
            problems.append((number, f"{source}:{number}: {job.key}: {exc.message}"))
    return problems


def _read(path: Path) -> tuple[list[tuple[int, Job]], list[tuple[int, str]]]:
    """The good jobs and the bad lines of a file, each with its line number."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return [], [(line, f"{path}:{line}: not UTF-8 text (byte {data[exc.start]:#04x})")]
    return _parse(text.removeprefix("\ufeff").split("\n"), str(path))


def _parse(
    lines: Iterable[str], source: str
) -> tuple[list[tuple[int, Job]], list[tuple[int, str]]]:
    from ._submit import task_kinds

    kinds = set(task_kinds())
    seen: dict[str, int] = {}
    jobs: list[tuple[int, Job]] = []
    problems: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        errors = _line_errors(text, kinds)
        if isinstance(errors, Job):
            job = errors
            if job.key in seen:
                errors = [f"key {job.key!r} is used twice (first on line {seen[job.key]})"]
            else:
                seen[job.key] = number
                jobs.append((number, job))
                continue
        problems.append((number, f"{source}:{number}: {'; '.join(errors)}"))
    return jobs, problems


def _line_errors(text: str, kinds: set[str]) -> Job | list[str]:
    """The job on a line, or what is wrong with it."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return [f"not valid JSON ({exc.msg}, column {exc.colno})"]
    if not isinstance(data, dict):
        return [f'expected an object {{"key", "kind", "params"}}, got {_json_type(data)}']
    errors: list[str] = []
    missing = [name for name in ("key", "kind") if name not in data]
    if missing:
        errors.append(f"missing {' and '.join(repr(name) for name in missing)}")
    unknown = data.keys() - {"key", "kind", "params"}
    if unknown:
        errors.append(f"unknown field(s) {', '.join(sorted(unknown))}")
    key, kind, params = data.get("key"), data.get("kind"), data.get("params", {})
    if "key" in data:
        if not isinstance(key, str):
            errors.append(f"key must be a string, got {_json_type(key)}")
        elif not _KEY.fullmatch(key):
            errors.append(f"key {key!r}: {KEY_RULE}")
    if "kind" in data:
        if not isinstance(kind, str):
            errors.append(f"kind must be a string, got {_json_type(kind)}")
        elif kind not in kinds:
            close = difflib.get_close_matches(kind, sorted(kinds), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            errors.append(f"unknown task kind {kind!r}{hint}")
    if not isinstance(params, dict):
        errors.append(f"params must be an object, got {_json_type(params)}")
    if errors or not isinstance(key, str) or not isinstance(kind, str):
        return errors
    return Job(key, kind, params)


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value!r}"
    return "an array" if isinstance(value, list) else "an object"
