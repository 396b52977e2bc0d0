"""What crosses the Temporal boundary: the workflow's input and state, activity inputs and
results, and the signals.

Plain dataclasses of JSON data, so Temporal's default data converter carries them and a
history stays readable in the Temporal UI; no pydantic model crosses the boundary (task
results stay inside the activities). A job's state is the batch runner's own
:class:`~topview_async.jobs.JobRecord`, so manifests and progress look the same whichever
engine ran the job. Secrets never enter a history: the worker adds the notice URL (with its
token) to the submit, and the request kept for an unknown outcome has it masked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ..jobs import DEFAULT_ENGINE_SETTINGS as _DEFAULTS
from ..jobs import EngineSettings, Job, JobRecord, TaskCheck

__all__ = [
    "DownloadInput",
    "FinishResult",
    "JobInput",
    "JobOptions",
    "JobState",
    "ReconcileInput",
    "ReconcileResult",
    "SubmitInput",
    "SubmitResult",
    "TaskCheck",
    "TaskNoticeSignal",
    "TaskRef",
    "UploadInput",
]


@dataclass
class JobOptions:
    """How a job's workflow paces itself (seconds). The defaults suit the real API."""

    heartbeat_timeout: float = 30.0
    """A worker silent this long is taken as gone: its activity runs again on another worker
    (a submit in flight is reconciled instead, never sent again blindly)."""
    poll_interval: float = 60.0
    """Safety-net poll of a task waited on by callback (a worker with a notice URL)."""
    busy_wait: float = _DEFAULTS.busy_wait
    """First wait after 4007 (too many unfinished tasks) or 5003 before submitting again;
    it doubles on each repeat, up to ``busy_wait_max``, with jitter (the local runner's
    :class:`~topview_async.jobs.EngineSettings`, the same defaults)."""
    busy_wait_max: float = _DEFAULTS.busy_wait_max
    retry_wait: float = _DEFAULTS.retry_wait
    """First wait after a submit that never reached Topview (doubles up to 60 s)."""
    retry_attempts: int = _DEFAULTS.retry_attempts
    """Submits that never left before the job waits for the ``resubmit`` signal."""
    submit_timeout: float = 300.0
    """Bound of one submit attempt; an attempt that does not report back in time has an
    unknown outcome."""
    transfer_timeout: float = 3600.0
    """Bound of one upload or download attempt."""
    reconcile_grace: float | None = _DEFAULTS.reconcile_grace
    """After this long, an M2V submit of unknown outcome that the complete M2V task list does
    not show is taken as never received and sent again; ``None``: never, ask the user."""
    reconcile_interval: float = _DEFAULTS.reconcile_interval
    """Seconds between two looks at the M2V task list while reconciling."""

    def settings(self) -> EngineSettings:
        """The engine settings these options amount to (what :func:`transition` reads)."""
        return EngineSettings(
            busy_wait=self.busy_wait,
            busy_wait_max=self.busy_wait_max,
            retry_wait=self.retry_wait,
            retry_wait_max=_DEFAULTS.retry_wait_max,
            retry_attempts=self.retry_attempts,
            reconcile_grace=self.reconcile_grace,
            reconcile_interval=self.reconcile_interval,
        )


CURRENT_VERSION = 2
"""The step layout new workflows use (see :attr:`JobInput.version`)."""


@dataclass
class JobInput:
    """The input of :class:`~topview_async.temporal.JobWorkflow`: one job (the batch runner's
    key, task kind and submit keyword arguments) and the directory its files go to, as the
    workers see it (a path on a volume every worker mounts)."""

    key: str
    kind: str
    params: dict[str, Any]
    out_dir: str
    options: JobOptions = field(default_factory=JobOptions)
    version: int = 1
    """The workflow's step layout: 2 (what :meth:`from_job` starts) waits and downloads in one
    activity; 1 (histories started before) in two. Read from the input, so replaying an old
    history takes its old steps without a marker in every new one."""
    earlier_tasks: list[dict[str, Any]] = field(default_factory=list)
    """Tasks of this job's earlier runs (``topview temporal retry``, a failure before any
    task), the way the journal keeps them: this run is a new paid task if any is listed."""

    @classmethod
    def from_job(
        cls, job: Job, out_dir: str | os.PathLike[str], options: JobOptions | None = None
    ) -> JobInput:
        return cls(
            key=job.key,
            kind=job.kind,
            params=dict(job.params),
            out_dir=os.fspath(out_dir),
            options=options or JobOptions(),
            version=CURRENT_VERSION,
        )


@dataclass
class JobState:
    """What the workflow reports (its ``state`` query, and its result).

    ``record`` is the job as the batch runner would journal it. ``needs_decision`` says why
    the workflow waits for you, if it does: signal ``attach_task(task_id)`` or ``resubmit()``
    (``topview temporal resolve``).
    """

    record: JobRecord
    needs_decision: str | None = None

    @property
    def settled(self) -> bool:
        """Finished, or waiting for a decision only a person can make."""
        return self.record.status.finished or self.needs_decision is not None


@dataclass
class UploadInput:
    kind: str
    params: dict[str, Any]


@dataclass
class SubmitInput:
    key: str
    kind: str
    params: dict[str, Any]
    attempt: int
    """Which submit of the job this is; the notice URL names it (``?job=&attempt=``)."""


@dataclass
class SubmitResult:
    task_id: str
    callbacks: bool
    """Whether the submit carried a notice URL (the worker has one), so a callback will come."""


@dataclass
class TaskRef:
    kind: str
    task_id: str


@dataclass
class DownloadInput:
    key: str
    kind: str
    task_id: str
    out_dir: str


@dataclass
class FinishResult:
    """How the task ended, and its files when it succeeded (the ``finish`` activity)."""

    check: TaskCheck
    files: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ReconcileInput:
    key: str
    params: dict[str, Any]
    intent_at: float
    grace: float | None
    kind: str = "m2v"
    task_id: str | None = None
    """The task id the submit's reply named although it did not validate: confirm it."""


@dataclass
class ReconcileResult:
    task_id: str | None = None
    """The task the M2V task list shows for this submit, when exactly one fits."""
    resubmit: bool = False
    """The complete list shows no such task and the grace period has passed."""
    note: str | None = None


@dataclass
class TaskNoticeSignal:
    """A callback for a task of this job (sent by :class:`TemporalNoticeApp`)."""

    task_id: str
    attempt: int | None = None
    """The submit the notice URL named (``?attempt=``), if any."""
    status: str | None = None
