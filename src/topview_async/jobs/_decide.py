"""The decisions every job engine takes the same way: pure functions, no I/O.

* :func:`decide_submit_failure`: may a submit that raised this be sent again? From what the
  request pipeline knows of the request: it never left, it may have arrived (the reply was
  lost), or it arrived (a reply came and was read). The answer is one of
  :class:`SubmitVerdict`: ``retry`` (nothing was created; sending again is safe),
  ``failed`` (refused: no task exists) or ``outcome_unknown`` (a task may exist; never sent
  again before it is reconciled).
* :func:`transition`: a job's state change, ``(status, event) -> Step`` (the new status and
  the action the engine takes next), with one :class:`EngineSettings` for the waits.

The local runner (:class:`~topview_async.jobs.JobRunner`) and the Temporal workflow
(:mod:`topview_async.temporal`) both call these; an engine moves state and runs steps, it
never decides on its own (``tests/jobs/test_decide.py`` feeds every failure through both).
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any

from .._exceptions import (
    APIConnectionError,
    APIError,
    ClientStateError,
    ConfigurationError,
    HTTPStatusError,
    InsufficientCreditError,
    InvalidInputError,
    ResponseValidationError,
    ServerBusyError,
    ServerError,
    SubmitOutcomeUnknownError,
    TransferError,
    UnfinishedTaskError,
)
from ._model import JobStatus

__all__ = [
    "DEFAULT_ENGINE_SETTINGS",
    "Action",
    "Delivery",
    "EngineSettings",
    "Event",
    "FilesSaved",
    "Interrupted",
    "NotReceived",
    "Step",
    "SubmitAccepted",
    "SubmitDecision",
    "SubmitFailed",
    "SubmitIntent",
    "SubmitReason",
    "SubmitVerdict",
    "TaskEnded",
    "TaskFound",
    "decide_submit_failure",
    "lost_attempt",
    "transition",
]

_UNPROCESSED_STATUSES = frozenset({429, 503})
"""HTTP statuses that say the request was not processed (rate limit, unavailable)."""


class Delivery(enum.StrEnum):
    """How far a submit got, as the request pipeline knows it."""

    NEVER_LEFT = "never_left"
    """Refused locally, or failed before a byte was sent (connect error, an upload first)."""
    MAY_HAVE_ARRIVED = "may_have_arrived"
    """Sent, but no reply was read (read timeout, dropped connection, a gateway's 5xx)."""
    ARRIVED = "arrived"
    """Topview (or a proxy in front of it) replied."""


class SubmitVerdict(enum.StrEnum):
    """May this submit be sent again?"""

    RETRY = "retry"
    """Nothing was created: sending again is safe (after a wait, or once credit is back)."""
    FAILED = "failed"
    """Refused: no task exists, and sending the same request again gets the same refusal."""
    OUTCOME_UNKNOWN = "outcome_unknown"
    """A task may exist (and be paid for): reconcile before anything is sent again."""


class SubmitReason(enum.StrEnum):
    """Why, in a word an engine can act on (the wait after ``busy`` is long)."""

    NOT_SENT = "not_sent"
    BUSY = "busy"
    """4007 (too many unfinished tasks) or 5003: a running task must finish first."""
    NO_CREDIT = "no_credit"
    """4100: nothing was created; a retry waits for a top-up (the user's decision)."""
    INVALID_INPUT = "invalid_input"
    REFUSED = "refused"
    REPLY_LOST = "reply_lost"
    REPLY_UNREADABLE = "reply_unreadable"
    """A reply came, but it does not say what was created (no valid result, no taskId)."""
    SERVER_ERROR = "server_error"
    """A 5xx (HTTP or business code) after the request arrived: it may have been stored."""
    UNCLASSIFIED = "unclassified"


@dataclass(frozen=True)
class SubmitDecision:
    """The answer of :func:`decide_submit_failure`."""

    verdict: SubmitVerdict
    reason: SubmitReason
    delivery: Delivery
    message: str
    """One line naming the error (``ServerError: internal``)."""
    task_id: str | None = None
    """For ``outcome_unknown``: the task id the reply names, when one is readable."""
    request: dict[str, Any] | None = None
    """For ``outcome_unknown``: what was sent (method, url, body; no credentials)."""


def decide_submit_failure(exc: BaseException) -> SubmitDecision:
    """May the submit that raised ``exc`` be sent again? The one answer both engines use.

    ``exc`` is what the submit call (``client.tasks.submit``, uploads of its local files
    included) raised. Anything that may have created a task is ``outcome_unknown``, never
    ``retry``: a reply lost after sending, a 5xx, a code-200 reply whose result does not
    validate or lacks ``taskId``, and any failure the SDK did not classify.
    """
    message = _line(exc)
    if isinstance(exc, SubmitOutcomeUnknownError):
        cause = exc.__cause__
        arrived = isinstance(cause, HTTPStatusError | ResponseValidationError | APIError)
        return SubmitDecision(
            SubmitVerdict.OUTCOME_UNKNOWN,
            SubmitReason.REPLY_UNREADABLE if arrived else SubmitReason.REPLY_LOST,
            Delivery.ARRIVED if arrived else Delivery.MAY_HAVE_ARRIVED,
            message,
            task_id=exc.task_id,
            request=submitted_request(exc),
        )
    if isinstance(exc, ResponseValidationError):
        # A reply came but says nothing usable: a code-200 result may name the task.
        return SubmitDecision(
            SubmitVerdict.OUTCOME_UNKNOWN,
            SubmitReason.REPLY_UNREADABLE,
            Delivery.ARRIVED,
            message,
            task_id=exc.task_id or task_id_in_body(exc.body),
        )
    if isinstance(exc, UnfinishedTaskError | ServerBusyError):
        return SubmitDecision(SubmitVerdict.RETRY, SubmitReason.BUSY, Delivery.ARRIVED, message)
    if isinstance(exc, InsufficientCreditError):
        return SubmitDecision(
            SubmitVerdict.RETRY, SubmitReason.NO_CREDIT, Delivery.ARRIVED, message
        )
    if isinstance(exc, ServerError):
        # 5000-5005 but 5003: Topview may have stored the task before failing.
        return SubmitDecision(
            SubmitVerdict.OUTCOME_UNKNOWN, SubmitReason.SERVER_ERROR, Delivery.ARRIVED, message
        )
    if isinstance(exc, APIError):
        return SubmitDecision(SubmitVerdict.FAILED, SubmitReason.REFUSED, Delivery.ARRIVED, message)
    if isinstance(exc, HTTPStatusError):
        if exc.status_code in _UNPROCESSED_STATUSES:
            return SubmitDecision(
                SubmitVerdict.RETRY, SubmitReason.NOT_SENT, Delivery.ARRIVED, message
            )
        if exc.status_code >= 500:
            return SubmitDecision(
                SubmitVerdict.OUTCOME_UNKNOWN, SubmitReason.SERVER_ERROR, Delivery.ARRIVED, message
            )
        return SubmitDecision(SubmitVerdict.FAILED, SubmitReason.REFUSED, Delivery.ARRIVED, message)
    if isinstance(exc, InvalidInputError | ConfigurationError | TypeError):
        # Refused before sending (InvalidFileError included): the same input fails again.
        return SubmitDecision(
            SubmitVerdict.FAILED, SubmitReason.INVALID_INPUT, Delivery.NEVER_LEFT, message
        )
    if isinstance(exc, APIConnectionError | TransferError | ClientStateError):
        # The pipeline raises APIConnectionError for a submit only when nothing left (else
        # SubmitOutcomeUnknownError); uploads and a closing client come before the submit.
        return SubmitDecision(
            SubmitVerdict.RETRY, SubmitReason.NOT_SENT, Delivery.NEVER_LEFT, message
        )
    if isinstance(exc, OSError) and not isinstance(exc, TimeoutError | ConnectionError):
        # A local file could not be read (the pipeline wraps network errors): nothing sent.
        return SubmitDecision(
            SubmitVerdict.FAILED, SubmitReason.INVALID_INPUT, Delivery.NEVER_LEFT, message
        )
    return SubmitDecision(
        SubmitVerdict.OUTCOME_UNKNOWN,
        SubmitReason.UNCLASSIFIED,
        Delivery.MAY_HAVE_ARRIVED,
        message,
        task_id=getattr(exc, "task_id", None) if isinstance(exc, Exception) else None,
    )


def lost_attempt(message: str) -> SubmitDecision:
    """The decision for a submit attempt that never reported back (its worker died, or it
    overran its deadline): it may have arrived."""
    return SubmitDecision(
        SubmitVerdict.OUTCOME_UNKNOWN, SubmitReason.REPLY_LOST, Delivery.MAY_HAVE_ARRIVED, message
    )


def task_id_in_body(body: str | None) -> str | None:
    """The ``result.taskId`` of a reply body, when it is readable JSON that names one."""
    if not body:
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    result = data.get("result") if isinstance(data, dict) else None
    task_id = result.get("taskId") if isinstance(result, dict) else None
    return str(task_id) if isinstance(task_id, str | int) and str(task_id) else None


def submitted_request(exc: SubmitOutcomeUnknownError) -> dict[str, Any]:
    """What a submit of unknown outcome sent, as JSON data (the notice URL's token masked)."""
    from ._reconcile import submitted_request as _submitted

    return _submitted(exc)


# -- the transition function ---------------------------------------------------------------


@dataclass(frozen=True)
class EngineSettings:
    """How long an engine waits before it acts again (seconds); one set for both engines.

    A wait that doubles starts at its ``*_wait``, doubles on each repeat up to its
    ``*_wait_max`` and is spread by jitter (x0.5 to x1.5).
    """

    busy_wait: float = 10.0
    """After 4007 (too many unfinished tasks) or 5003 (busy): the local runner submits again
    when one of its tasks finishes, or after this long, whichever is first."""
    busy_wait_max: float = 300.0
    retry_wait: float = 1.0
    """After a submit that never left (connection refused, an upload failed, 429/503)."""
    retry_wait_max: float = 60.0
    retry_attempts: int = 8
    """Submits that never left before the job is held (``pending``) for a later run, or for
    the ``resubmit`` signal: the network is down, not busy."""
    reconcile_grace: float | None = 300.0
    """After this long, a submit of unknown outcome that the kind's complete task list does
    not show is taken as never received and sent again; ``None``: never, ask the user."""
    reconcile_interval: float = 30.0
    """Between two looks at the task list while reconciling."""

    def backoff(self, reason: SubmitReason, repeat: int, jitter: float = 0.5) -> float:
        """The wait before the ``repeat``-th (1, 2, ...) retry after a ``reason`` failure.

        ``jitter`` in ``[0, 1)`` (0.5: no spread) comes from the engine's random source.
        """
        if reason is SubmitReason.BUSY:
            first, most = self.busy_wait, self.busy_wait_max
        else:
            first, most = self.retry_wait, self.retry_wait_max
        base = min(first * 2 ** max(repeat - 1, 0), most)
        return float(base * (0.5 + jitter))


DEFAULT_ENGINE_SETTINGS = EngineSettings()


class Action(enum.StrEnum):
    """What the engine does next."""

    SEND = "send"
    """Send the submit now (the intent is journaled first)."""
    SUBMIT = "submit"
    """Submit (again) after ``Step.delay``."""
    WAIT = "wait"
    """Wait for the task to finish."""
    DOWNLOAD = "download"
    RECONCILE = "reconcile"
    """Look for the task a submit of unknown outcome may have created."""
    HOLD = "hold"
    """Nothing automatic: a later run, or the user (top-up, ``resolve``, a signal)."""
    DONE = "done"


@dataclass(frozen=True)
class Step:
    """The result of :func:`transition`."""

    status: JobStatus
    action: Action
    delay: float = 0.0
    error: str | None = None
    task_id: str | None = None


@dataclass(frozen=True)
class SubmitIntent:
    """About to send a submit (its intent is made durable first)."""


@dataclass(frozen=True)
class SubmitAccepted:
    task_id: str


@dataclass(frozen=True)
class SubmitFailed:
    decision: SubmitDecision
    repeat: int = 1
    """How many times in a row a submit failed for this ``decision.reason``."""
    jitter: float = 0.5


@dataclass(frozen=True)
class Interrupted:
    """A ``submitting`` job found at start-up: the run died while the submit was in flight."""


@dataclass(frozen=True)
class TaskFound:
    """The task of a submit of unknown outcome: reconciliation, a callback, or the user."""

    task_id: str


@dataclass(frozen=True)
class NotReceived:
    """Reconciliation: the complete task list shows no such task after the grace period."""

    note: str | None = None


@dataclass(frozen=True)
class TaskEnded:
    succeeded: bool
    error: str | None = None


@dataclass(frozen=True)
class FilesSaved:
    pass


Event = (
    SubmitIntent
    | SubmitAccepted
    | SubmitFailed
    | Interrupted
    | TaskFound
    | NotReceived
    | TaskEnded
    | FilesSaved
)


def transition(
    status: JobStatus, event: Event, settings: EngineSettings = DEFAULT_ENGINE_SETTINGS
) -> Step:
    """A job's next status and the engine's next action, for ``event`` in ``status``.

    Raises :class:`ValueError` for an event that cannot happen in ``status`` (an engine bug).
    """
    S = JobStatus
    if isinstance(event, SubmitIntent) and status is S.PENDING:
        return Step(S.SUBMITTING, Action.SEND)
    if isinstance(event, SubmitAccepted) and status is S.SUBMITTING:
        return Step(S.RUNNING, Action.WAIT, task_id=event.task_id)
    if isinstance(event, SubmitFailed) and status is S.SUBMITTING:
        return _after_failed_submit(event, settings)
    if isinstance(event, Interrupted) and status is S.SUBMITTING:
        return Step(
            S.OUTCOME_UNKNOWN,
            Action.RECONCILE,
            error="the run stopped while this submit was in flight",
        )
    if isinstance(event, TaskFound) and status in (S.OUTCOME_UNKNOWN, S.SUBMITTING, S.PENDING):
        return Step(S.RUNNING, Action.WAIT, task_id=event.task_id)
    if isinstance(event, NotReceived) and status is S.OUTCOME_UNKNOWN:
        return Step(S.PENDING, Action.SUBMIT, error=event.note)
    if isinstance(event, TaskEnded) and status is S.RUNNING:
        if event.succeeded:
            return Step(S.RUNNING, Action.DOWNLOAD)
        return Step(S.FAILED, Action.DONE, error=event.error or "the task failed")
    if isinstance(event, FilesSaved) and status is S.RUNNING:
        return Step(S.DOWNLOADED, Action.DONE)
    raise ValueError(f"no transition from {status.value} on {type(event).__name__}")


def _after_failed_submit(event: SubmitFailed, settings: EngineSettings) -> Step:
    decision = event.decision
    S = JobStatus
    if decision.verdict is SubmitVerdict.FAILED:
        return Step(S.FAILED, Action.DONE, error=decision.message)
    if decision.verdict is SubmitVerdict.OUTCOME_UNKNOWN:
        # A task id the reply names is kept: reconciliation checks it first.
        return Step(
            S.OUTCOME_UNKNOWN, Action.RECONCILE, error=decision.message, task_id=decision.task_id
        )
    if decision.reason is SubmitReason.NO_CREDIT:
        return Step(S.PENDING, Action.HOLD, error=decision.message)
    if decision.reason is not SubmitReason.BUSY and event.repeat > settings.retry_attempts:
        return Step(
            S.PENDING,
            Action.HOLD,
            error=f"{decision.message} (not sent after {event.repeat} attempts)",
        )
    delay = settings.backoff(decision.reason, event.repeat, event.jitter)
    return Step(S.PENDING, Action.SUBMIT, delay=delay, error=decision.message)


def _line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
