"""Which failures of a Topview call may be retried, and the typed error each one raises.

The request pipeline (:mod:`._pipeline`) asks this module about every failed attempt and
gets a :class:`Failure` back: the error to raise and whether another attempt is allowed. How
many attempts and how long to wait between them is the client's :class:`RetryPolicy`.

Retry rules (the reason this module exists once):

* ``read`` calls retry on connection failures, timeouts, HTTP 429/500/502/503/504, a complete
  2xx reply that is not a Topview envelope (malformed JSON, a proxy's HTML page), and the
  business codes whose spec entry says ``retry: read`` or ``retry: always``.
* ``submit`` and ``write`` calls retry only when the request provably never reached processing:
  it could not connect (connect error, connect or pool timeout), HTTP 429/503, and the business
  codes whose spec entry says ``retry: always`` (5003 busy).
* A ``submit`` whose response was lost after sending (read timeout, dropped connection, a 5xx
  other than 503, a body that is not an envelope, a code-200 reply whose result does not
  validate) raises :class:`SubmitOutcomeUnknownError` and is never sent again: a second
  submit could create, and charge for, a second task.

The business codes and their ``retry`` rule come only from the spec's ``x-topview-error-codes``
(:mod:`._generated.error_codes`); an unlisted code is never retried.

Errors never reach the API key or uid: a transport failure is chained to a copy of httpx's
exception whose ``request`` carries no credential headers and that has no further chain, and
reply bodies kept in errors are scrubbed of both values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ._exceptions import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    HTTPStatusError,
    ResponseValidationError,
    SubmitOutcomeUnknownError,
    SubmittedRequest,
    TopviewError,
)
from ._wire import SUCCESS_CODE, Call, Reply, parse_envelope

# httpx only once an attempt failed without a response: the direct aiohttp path of a call
# that succeeds never imports it (cold start, see _pool.py).
if TYPE_CHECKING:
    import httpx

__all__ = [
    "Failure",
    "code_is_retried",
    "exception_class_for_code",
    "outcome_unknown",
    "transport_failure",
    "unwrap_reply",
]

_READ_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_UNPROCESSED_STATUSES = frozenset({429, 503})
_AUTH_STATUSES = frozenset({401, 403})


@cache
def _sent_errors() -> tuple[tuple[type[Exception], ...], tuple[type[Exception], ...]]:
    """httpx's failures before any byte reached the server, and those after it may have."""
    import httpx

    not_sent = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
    maybe_sent = (
        httpx.ReadTimeout,
        httpx.WriteTimeout,
        httpx.ReadError,
        httpx.WriteError,
        httpx.RemoteProtocolError,
        httpx.DecodingError,
    )
    return not_sent, maybe_sent


_CREDENTIAL_HEADERS = frozenset({b"authorization", b"topview-uid", b"proxy-authorization"})
_EXCERPT_LIMIT = 200
"""How many characters of a non-2xx body go into the message (the scrubbed body is ``.body``)."""
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s\"',;]+")


@dataclass(frozen=True, slots=True)
class Failure:
    """A failed attempt: the error to raise, and whether another attempt is allowed."""

    error: TopviewError
    retryable: bool
    reason: str
    retry_after: str | None = None


def code_is_retried(code: str, kind: str) -> bool:
    """Whether the pipeline repeats a call of ``kind`` that got business ``code`` (spec rule)."""
    # Imported at the first error, not with the pipeline: the table costs ~3 ms to build,
    # and a first call that succeeds never reads it.
    from ._generated.error_codes import ERROR_CODES

    info = ERROR_CODES.get(code)
    if info is None:
        return False
    return info.retry == "always" or (info.retry == "read" and kind == "read")


def exception_class_for_code(code: str | int) -> type[APIError]:
    """The exception class raised for a business ``code``; :class:`APIError` when unknown."""
    from ._generated.error_codes import ERROR_CODES  # at the first error (see code_is_retried)

    info = ERROR_CODES.get(str(code).strip())
    return APIError if info is None else info.exception


def transport_failure(call: Call, exc: httpx.RequestError) -> Failure:
    """The failure of an attempt that got no HTTP response at all."""
    import httpx

    not_sent, maybe_sent = _sent_errors()
    kind = call.operation.kind
    error_class = APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
    reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    error = error_class(f"{reason} calling {call.operation}", **call.ids())
    error.__cause__ = _credential_free(exc)
    if isinstance(exc, not_sent):
        return Failure(error, retryable=True, reason=reason)
    if isinstance(exc, maybe_sent):
        if kind == "read":
            return Failure(error, retryable=True, reason=reason)
        if kind == "submit":
            return Failure(outcome_unknown(call, error), False, reason)
    return Failure(error, retryable=False, reason=reason)


def unwrap_reply(call: Call, reply: Reply) -> Failure | tuple[str, object]:
    """The ``(message, result)`` of a successful envelope, or the failure to report."""
    kind = call.operation.kind
    envelope = parse_envelope(reply.content)
    status = reply.status
    if not 200 <= status < 300:
        body = _scrub(reply.text, call.secrets)
        host = urlsplit(call.url).netloc
        excerpt = " ".join(body.split())
        if len(excerpt) > _EXCERPT_LIMIT:
            excerpt = excerpt[:_EXCERPT_LIMIT] + "..."
        message = f"HTTP {status} from {host}" + (f": {excerpt}" if excerpt else " (empty body)")
        error: TopviewError = HTTPStatusError(
            message,
            status_code=status,
            body=body,
            code=envelope[0] if envelope else None,
            **call.ids(),
        )
        if status in _AUTH_STATUSES:
            error.hint = _credentials_hint(call)
        reason = f"HTTP {status}"
        if status in _UNPROCESSED_STATUSES or (kind == "read" and status in _READ_RETRY_STATUSES):
            return Failure(error, True, reason, reply.retry_after)
        if kind == "submit" and status >= 500:
            return Failure(outcome_unknown(call, error), False, reason)
        return Failure(error, False, reason)
    if envelope is None:
        error = ResponseValidationError(
            f"response of {call.operation} is not a Topview envelope",
            body=_scrub(reply.text, call.secrets),
            **call.ids(),
        )
        if kind == "submit":
            return Failure(outcome_unknown(call, error), False, "malformed body")
        # A read is safe to repeat, and a garbled reply (a proxy's page, a cut body) is
        # usually transient. A write may have been applied: report it.
        return Failure(error, kind == "read", "malformed body", reply.retry_after)
    code, message, result = envelope
    if code == SUCCESS_CODE:
        return message, result
    error_class = exception_class_for_code(code)
    # ``message`` is Topview's own words; the SDK's advice goes to ``hint`` (shown by str()).
    error = error_class(message or "Topview error", code=code, **call.ids())
    if issubclass(error_class, AuthenticationError):
        error.hint = _credentials_hint(call)
    return Failure(error, code_is_retried(code, kind), f"code {code}", reply.retry_after)


def _credentials_hint(call: Call) -> str:
    return (
        "check TOPVIEW_API_KEY and TOPVIEW_UID (or api_key= and uid=) are the key and uid of "
        f"the account for {_base_url(call)}"
    )


def _base_url(call: Call) -> str:
    """The client's base URL as far as the call shows it (never credentials: there are none)."""
    url = call.url.split("?", 1)[0]
    if url.endswith(call.operation.path):
        return url[: len(url) - len(call.operation.path)]
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _scrub(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with the API key, the uid and any bearer token masked (a proxy may echo them)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return _BEARER.sub(r"\1***", text)


def _credential_free(exc: httpx.RequestError) -> BaseException:
    """A copy of ``exc`` safe to chain: no credential headers, no chain of its own.

    httpx's exceptions hold the request, headers included, and their own ``__cause__`` (an
    aiohttp or httpcore error) can hold more of it; error trackers serialise all of that.
    The copy keeps the type (callers may test it) and the message; the original is dropped.
    """
    import httpx

    try:
        request: httpx.Request | None = exc.request
    except RuntimeError:  # raised without a request (a hand-made transport)
        request = None
    clean_request = None
    if request is not None:
        headers = [
            (name, value)
            for name, value in request.headers.raw
            if name.lower() not in _CREDENTIAL_HEADERS
        ]
        clean_request = httpx.Request(request.method, request.url, headers=headers)
    message = str(exc)
    try:
        copy: BaseException = type(exc)(message, request=clean_request)
    except TypeError:  # a subclass with another constructor: keep the facts, not the type
        copy = httpx.TransportError(f"{type(exc).__name__}: {message}", request=clean_request)
    copy.__suppress_context__ = True
    return copy


def outcome_unknown(
    call: Call, cause: TopviewError, *, task_id: str | None = None
) -> SubmitOutcomeUnknownError:
    """The error of a submit that may have created a task (``cause`` says why)."""
    error = SubmitOutcomeUnknownError(
        f"{call.operation} was sent but its response was lost ({cause.message}); Topview may "
        "have created the task. It was not resubmitted: check for the task before retrying.",
        request=SubmittedRequest(call.operation.method, call.url, call.json_body),
        operation=call.operation,
        code=cause.code,
        task_id=task_id,
    )
    error.__cause__ = cause
    return error
