"""From the SDK's errors to Temporal's: which failures an activity may repeat.

An activity raises :class:`~temporalio.exceptions.ApplicationError` whose ``type`` is the
SDK's exception class name and whose ``non_retryable`` says whether repeating can help:

* a **submit** may be repeated only when the SDK says the request never reached Topview
  (connection refused, 429/503, 5003 busy, 4007 too many unfinished tasks: nothing was
  created). :class:`~topview_async.SubmitOutcomeUnknownError` becomes a non-retryable
  ``SubmitOutcomeUnknownError`` carrying the request that was sent (notice token masked);
  a refusal (4xxx, bad input) a non-retryable one with the SDK's type. A server error
  (5000-5005 but 5003: the task may have been stored first) and anything the SDK did not
  classify are unknown outcomes too, since they may have come after the task was created.
* a **read** (upload, task query, download, task list) is safe to repeat: only errors that
  repeating cannot fix (bad input, unknown task) are non-retryable.
"""

from __future__ import annotations

from temporalio.exceptions import ApplicationError

from .._exceptions import (
    APIConnectionError,
    APIError,
    ClientStateError,
    ConfigurationError,
    HTTPStatusError,
    InvalidInputError,
    InvalidRequestError,
    NotFoundError,
    ResponseValidationError,
    ServerBusyError,
    ServerError,
    SubmitOutcomeUnknownError,
    TransferError,
    UnfinishedTaskError,
)

__all__ = [
    "BUSY_TYPES",
    "OUTCOME_UNKNOWN",
    "never_sent",
    "read_failure",
    "refused",
    "submit_failure",
]

OUTCOME_UNKNOWN = SubmitOutcomeUnknownError.__name__
"""``type`` of the failure of a submit that may have created a task."""
BUSY_TYPES = frozenset({UnfinishedTaskError.__name__, ServerBusyError.__name__})
"""Types after which the workflow waits long (a running task must finish first)."""
_UNPROCESSED_STATUSES = frozenset({429, 503})


def _describe(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return text or type(exc).__name__


def _error(exc: BaseException, *details: object, non_retryable: bool) -> ApplicationError:
    return ApplicationError(
        _describe(exc), *details, type=type(exc).__name__, non_retryable=non_retryable
    )


def never_sent(exc: BaseException) -> bool:
    """Whether the SDK says a submit that raised ``exc`` was not processed by Topview."""
    if isinstance(exc, InvalidInputError):
        return False  # refused locally: sending again sends the same bad input
    if isinstance(exc, UnfinishedTaskError | ServerBusyError):
        return True
    if isinstance(exc, HTTPStatusError):
        return exc.status_code in _UNPROCESSED_STATUSES
    # The pipeline raises APIConnectionError for a submit only when nothing left (a request
    # that may have left raises SubmitOutcomeUnknownError); an upload of a local file, or a
    # client being closed, happens before the submit is sent.
    return isinstance(exc, APIConnectionError | TransferError | ClientStateError)


def refused(exc: BaseException) -> bool:
    """Whether Topview (or the SDK, before sending) refused the submit: no task exists."""
    if isinstance(exc, HTTPStatusError):
        return exc.status_code < 500
    if isinstance(exc, ServerError):
        return False  # 5000-5005 (but 5003): the task may have been stored before the failure
    return isinstance(exc, APIError | InvalidInputError | ConfigurationError | TypeError)


def submit_failure(exc: BaseException, request: dict[str, object] | None) -> ApplicationError:
    """The activity failure for a submit that raised ``exc``.

    ``request`` is what was sent, for an unknown outcome (JSON data, no credentials).
    """
    if isinstance(exc, SubmitOutcomeUnknownError):
        return _error(exc, request, non_retryable=True)
    if never_sent(exc):
        return _error(exc, non_retryable=False)
    if refused(exc):
        return _error(exc, non_retryable=True)
    # Not classified by the SDK (a bug, an unexpected reply): it may have come after the
    # request left, so the outcome is unknown and the job is reconciled, not resubmitted.
    return ApplicationError(
        f"{type(exc).__name__}: {_describe(exc)}",
        request,
        type=OUTCOME_UNKNOWN,
        non_retryable=True,
    )


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
