"""From the SDK's errors to Temporal's: which failures an activity may repeat.

An activity raises :class:`~temporalio.exceptions.ApplicationError` whose ``type`` is the
SDK's exception class name and whose ``non_retryable`` says whether repeating can help:

* a **submit**'s failure carries the decision of
  :func:`~topview_async.jobs.decide_submit_failure` (the one both engines use) as its first
  detail; the workflow moves the job as :func:`~topview_async.jobs.transition` says. A
  failure that may have created a task has the type ``SubmitOutcomeUnknownError``.
* a **read** (upload, task query, download, task list) is safe to repeat: only errors that
  repeating cannot fix (bad input, unknown task) are non-retryable.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from temporalio.exceptions import ApplicationError

from .._exceptions import (
    ConfigurationError,
    InvalidInputError,
    InvalidRequestError,
    NotFoundError,
    ResponseValidationError,
    SubmitOutcomeUnknownError,
)
from ..jobs import Delivery, SubmitDecision, SubmitReason, SubmitVerdict, decide_submit_failure
from ..jobs._decide import lost_attempt

__all__ = [
    "OUTCOME_UNKNOWN",
    "decision_of",
    "read_failure",
    "submit_failure",
]

OUTCOME_UNKNOWN = SubmitOutcomeUnknownError.__name__
"""``type`` of the failure of a submit that may have created a task."""


def _describe(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return text or type(exc).__name__


def _error(exc: BaseException, *details: object, non_retryable: bool) -> ApplicationError:
    return ApplicationError(
        _describe(exc), *details, type=type(exc).__name__, non_retryable=non_retryable
    )


def submit_failure(exc: BaseException, *, callbacks: bool | None = None) -> ApplicationError:
    """The activity failure for a submit that raised ``exc``: the decision as its detail.

    ``callbacks``: whether the submit carried a notice URL.
    """
    decision = decide_submit_failure(exc)
    detail: dict[str, Any] = dataclasses.asdict(decision)
    detail["callbacks"] = callbacks
    unknown = decision.verdict is SubmitVerdict.OUTCOME_UNKNOWN
    return ApplicationError(
        _describe(exc)
        if not unknown or isinstance(exc, SubmitOutcomeUnknownError)
        else f"{type(exc).__name__}: {_describe(exc)}",
        detail,
        type=OUTCOME_UNKNOWN if unknown else type(exc).__name__,
        non_retryable=decision.verdict is not SubmitVerdict.RETRY,
    )


def decision_of(failure: BaseException | None) -> tuple[SubmitDecision, bool | None]:
    """The decision a submit activity's failure carries, and whether it had a notice URL.

    A failure without one (the attempt never reported back: its worker died, or it overran
    ``submit_timeout``) may have created a task: ``outcome_unknown``.
    """
    details = failure.details if isinstance(failure, ApplicationError) else ()
    detail = details[0] if details and isinstance(details[0], dict) else None
    if detail is None or "verdict" not in detail:
        text = _describe(failure) if failure is not None else "the submit never reported back"
        return lost_attempt(f"submit outcome unknown: {text}"), None
    decision = SubmitDecision(
        verdict=SubmitVerdict(detail["verdict"]),
        reason=SubmitReason(detail["reason"]),
        delivery=Delivery(detail["delivery"]),
        message=str(detail.get("message") or ""),
        task_id=detail.get("task_id"),
        request=detail.get("request"),
    )
    callbacks = detail.get("callbacks")
    return decision, callbacks if isinstance(callbacks, bool) else None


def read_failure(exc: BaseException) -> ApplicationError:
    """The activity failure for a read (upload, query, list, download) that raised ``exc``.

    Bad input, an unknown task and a reply that breaks the spec end the activity; anything
    else (connection trouble, 5xx, busy, an expired credential being fixed) is retried with
    Temporal's backoff.
    """
    permanent = (
        InvalidInputError,
        ConfigurationError,
        NotFoundError,
        InvalidRequestError,
        ResponseValidationError,
        TypeError,
    )
    return _error(exc, non_retryable=isinstance(exc, permanent))
