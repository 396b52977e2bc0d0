"""Which failures of a Topview call may be retried, and the typed error each one raises.

The request pipeline (:mod:`._pipeline`) asks this module about every failed attempt and
gets a :class:`Failure` back: the error to raise and whether another attempt is allowed. How
many attempts and how long to wait between them is the client's :class:`RetryPolicy`.

Retry rules (the reason this module exists once):

* ``read`` calls retry on connection failures, timeouts, HTTP 429/502/503/504 and business codes
  5000, 5001, 5003, 5004.
* ``submit`` and ``write`` calls retry only when the request provably never reached processing:
  it could not connect (connect error, connect or pool timeout), HTTP 429/503, business code 5003.
* A ``submit`` whose response was lost after sending (read timeout, dropped connection, a 5xx
  other than 503, a body that is not an envelope) raises :class:`SubmitOutcomeUnknownError` and is
  never sent again: a second submit could create, and charge for, a second task.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from ._exceptions import (
    APIConnectionError,
    APITimeoutError,
    HTTPStatusError,
    ResponseValidationError,
    SubmitOutcomeUnknownError,
    SubmittedRequest,
    TopviewError,
    exception_class_for_code,
)
from ._wire import SUCCESS_CODE, Call, Reply, parse_envelope

__all__ = ["Failure", "transport_failure", "unwrap_reply"]

_READ_RETRY_CODES = frozenset({"5000", "5001", "5003", "5004"})
_UNPROCESSED_CODES = frozenset({"5003"})
_READ_RETRY_STATUSES = frozenset({429, 502, 503, 504})
_UNPROCESSED_STATUSES = frozenset({429, 503})
# Failures that happen before any byte of the request reached the server.
_NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Failures after the request may have been (partly) received: the outcome is unknown.
_MAYBE_SENT_ERRORS = (
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
    httpx.DecodingError,
)


@dataclass(frozen=True, slots=True)
class Failure:
    """A failed attempt: the error to raise, and whether another attempt is allowed."""

    error: TopviewError
    retryable: bool
    reason: str
    retry_after: str | None = None


def transport_failure(call: Call, exc: httpx.RequestError) -> Failure:
    """The failure of an attempt that got no HTTP response at all."""
    kind = call.operation.kind
    error_class = APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
    reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    error = error_class(f"{reason} calling {call.operation}", **call.ids())
    error.__cause__ = exc
    if isinstance(exc, _NOT_SENT_ERRORS):
        return Failure(error, retryable=True, reason=reason)
    if isinstance(exc, _MAYBE_SENT_ERRORS):
        if kind == "read":
            return Failure(error, retryable=True, reason=reason)
        if kind == "submit":
            return Failure(_outcome_unknown(call, error), False, reason)
    return Failure(error, retryable=False, reason=reason)


def unwrap_reply(call: Call, reply: Reply) -> Failure | tuple[str, object]:
    """The ``(message, result)`` of a successful envelope, or the failure to report."""
    kind = call.operation.kind
    envelope = parse_envelope(reply.content)
    status = reply.status
    if not 200 <= status < 300:
        error: TopviewError = HTTPStatusError(
            f"HTTP {status} from Topview",
            status_code=status,
            body=reply.text,
            code=envelope[0] if envelope else None,
            **call.ids(),
        )
        reason = f"HTTP {status}"
        if status in _UNPROCESSED_STATUSES or (kind == "read" and status in _READ_RETRY_STATUSES):
            return Failure(error, True, reason, reply.retry_after)
        if kind == "submit" and status >= 500:
            return Failure(_outcome_unknown(call, error), False, reason)
        return Failure(error, False, reason)
    if envelope is None:
        error = ResponseValidationError(
            f"response of {call.operation} is not a Topview envelope",
            body=reply.text,
            **call.ids(),
        )
        if kind == "submit":
            error = _outcome_unknown(call, error)
        return Failure(error, False, "malformed body")
    code, message, result = envelope
    if code == SUCCESS_CODE:
        return message, result
    error = exception_class_for_code(code)(message or "Topview error", code=code, **call.ids())
    retryable = code in (_READ_RETRY_CODES if kind == "read" else _UNPROCESSED_CODES)
    return Failure(error, retryable, f"code {code}", reply.retry_after)


def _outcome_unknown(call: Call, cause: TopviewError) -> SubmitOutcomeUnknownError:
    error = SubmitOutcomeUnknownError(
        f"{call.operation} was sent but its response was lost ({cause.message}); Topview may "
        "have created the task. It was not resubmitted: check for the task before retrying.",
        request=SubmittedRequest(call.operation.method, call.url, call.json_body),
        operation=call.operation,
        code=cause.code,
    )
    error.__cause__ = cause
    return error
