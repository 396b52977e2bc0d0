"""The one request pipeline every Topview call goes through.

Per call: validate the body locally, then per attempt build the request (credentials only for
the Topview origin), send it under the in-flight limit, unwrap ``{code, message, result}``,
map failures to typed errors, and decide whether to retry.

Two send paths lead to the same decisions: when the client uses the aiohttp transport it made
itself, a request goes straight to :meth:`AiohttpTransport.send_bytes` (prepared headers, the
URL and JSON body encoded once per call exactly as httpx would); a user's ``transport`` or
``http_client`` is called through ``httpx.AsyncClient.send``. A successful body is parsed and
validated in one pass (:class:`_Envelope`); everything else is decided step by step.

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

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import quote_plus

import httpx
import pydantic
import pydantic_core

from . import _sleep
from ._exceptions import (
    APIConnectionError,
    APITimeoutError,
    HTTPStatusError,
    InvalidInputError,
    ResponseValidationError,
    SubmitOutcomeUnknownError,
    SubmittedRequest,
    TopviewError,
    exception_class_for_code,
)
from ._logging import logger
from ._models import TopviewModel
from ._operation import Operation

if TYPE_CHECKING:
    from ._client import AsyncTopview
    from ._transport import AiohttpTransport

__all__ = ["RequestPipeline"]

_T = TypeVar("_T")

SUCCESS_CODE = "200"
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


@dataclass(slots=True)
class _Call:
    """Everything about one call that stays the same across attempts."""

    operation: Operation
    url: str
    """Absolute and percent-encoded, query included (as httpx would have built it)."""
    json_body: dict[str, object] | None
    task_id: str | None
    file_id: str | None

    def ids(self) -> dict[str, Any]:
        return {"operation": self.operation, "task_id": self.task_id, "file_id": self.file_id}


@dataclass(frozen=True, slots=True)
class _Failure:
    """A failed attempt: the error to raise, and whether another attempt is allowed."""

    error: TopviewError
    retryable: bool
    reason: str
    retry_after: str | None = None


class _Reply:
    """What an attempt got back, from either send path."""

    __slots__ = ("content", "response", "retry_after", "status")

    def __init__(
        self,
        status: int,
        retry_after: str | None,
        content: bytes,
        response: httpx.Response | None = None,
    ) -> None:
        self.status = status
        self.retry_after = retry_after
        self.content = content
        self.response = response

    @property
    def text(self) -> str:
        """The body as text, for error messages only.

        Through httpx: httpx's decoding (charset of the response). Direct: UTF-8, which is
        what Topview sends; undecodable bytes are replaced, never raised.
        """
        if self.response is not None:
            return self.response.text
        return self.content.decode("utf-8", errors="replace")


class _Envelope(pydantic.BaseModel, Generic[_T]):
    """``{code, result}`` parsed and validated from the body's bytes in one pass.

    Only the success path uses it, as a shortcut: anything it does not accept (another
    code, a missing or invalid result, a body that is not an envelope) is decided by the
    step-by-step path (:func:`_parse_envelope`, then the result's ``TypeAdapter``).
    """

    code: Any = None
    result: _T


class RequestPipeline:
    """Builds, sends, retries and decodes every Topview request of one :class:`AsyncTopview`."""

    def __init__(self, client: AsyncTopview) -> None:
        self._client = client
        self._adapters: dict[object, pydantic.TypeAdapter[Any]] = {}
        self._envelopes: dict[object, type[_Envelope[Any]] | None] = {}

    async def request(
        self,
        operation: Operation,
        *,
        query: Mapping[str, object] | None,
        body: Mapping[str, object] | None,
        body_model: type[TopviewModel] | None,
        result_type: Any,
        context: Mapping[str, str | None] | None,
    ) -> Any:
        """Call ``operation`` and return its ``result`` validated as ``result_type``."""
        client = self._client
        client._check_usable()
        url = client._base_prefix + operation.path
        if query:
            pairs = _encode_query(query)
            if pairs:
                url = f"{url}?{_query_string(pairs)}"
        context = context or {}
        call = _Call(
            operation=operation,
            url=url,
            json_body=None if body is None else validate_body(operation, body, body_model),
            task_id=context.get("task_id"),
            file_id=context.get("file_id"),
        )
        adapter = self._adapter(result_type)
        envelope = self._envelope(result_type)
        policy = client.retry
        attempt = 1
        while True:
            outcome = await self._attempt(call, adapter, envelope, attempt)
            if not isinstance(outcome, _Failure):
                return outcome
            if not outcome.retryable or attempt >= policy.attempts:
                raise outcome.error
            wait = policy.wait_for_retry(attempt, outcome.retry_after)
            logger.debug(
                "retrying %s after %s (attempt %d of %d failed), waiting %.2fs",
                operation.operation_id,
                outcome.reason,
                attempt,
                policy.attempts,
                wait,
            )
            await _sleep.sleep(wait)
            attempt += 1

    async def _attempt(
        self,
        call: _Call,
        adapter: pydantic.TypeAdapter[Any],
        envelope: type[_Envelope[Any]] | None,
        attempt: int,
    ) -> Any | _Failure:
        client = self._client
        http, limiter = client._connection()
        direct = client._direct
        started = time.perf_counter()
        async with limiter:
            try:
                if direct is not None:
                    reply = await self._send_direct(direct, call)
                else:
                    reply = await self._send(http, call)
            except httpx.RequestError as exc:
                self._log(call, attempt, started, f"failed: {type(exc).__name__}")
                return self._transport_failure(call, exc)
        if envelope is not None and 200 <= reply.status < 300:
            try:
                parsed = envelope.model_validate_json(reply.content)
            except ValueError:  # pydantic.ValidationError included: decided step by step
                pass
            else:
                code = parsed.code
                if code == SUCCESS_CODE or (type(code) is int and code == 200):
                    if logger.isEnabledFor(logging.INFO):
                        self._log(call, attempt, started, f"{reply.status} code={SUCCESS_CODE}")
                    return parsed.result
        outcome = self._unwrap(call, reply)
        if logger.isEnabledFor(logging.INFO):
            code = outcome.error.code if isinstance(outcome, _Failure) else SUCCESS_CODE
            self._log(call, attempt, started, f"{reply.status} code={code}")
        if isinstance(outcome, _Failure):
            return outcome
        return self._validate_result(call, adapter, outcome, reply)

    async def _send_direct(self, transport: AiohttpTransport, call: _Call) -> _Reply:
        """Straight to the SDK's own aiohttp transport: the fast path for Topview calls."""
        body = call.json_body
        status, retry_after, content = await transport.send_bytes(
            call.operation.method,
            call.url,
            self._client._direct_headers(has_body=body is not None),
            None if body is None else _json_bytes(body),
            self._client._timeouts,
        )
        return _Reply(status, retry_after, content)

    async def _send(self, http: httpx.AsyncClient, call: _Call) -> _Reply:
        """Through ``httpx.AsyncClient.send``: a user's transport or ``http_client``."""
        request = self._client._build_request(
            call.operation.method, call.url, params=None, json_body=call.json_body
        )
        response = await http.send(request, follow_redirects=False)
        return _Reply(
            response.status_code, response.headers.get("Retry-After"), response.content, response
        )

    def _log(self, call: _Call, attempt: int, started: float, what: str) -> None:
        logger.info(
            "%s %s %s attempt=%d %.0fms",
            call.operation.method,
            call.operation.path,
            what,
            attempt,
            (time.perf_counter() - started) * 1000,
        )

    def _transport_failure(self, call: _Call, exc: httpx.RequestError) -> _Failure:
        kind = call.operation.kind
        error_class = (
            APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
        )
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        error = error_class(f"{reason} calling {call.operation}", **call.ids())
        error.__cause__ = exc
        if isinstance(exc, _NOT_SENT_ERRORS):
            return _Failure(error, retryable=True, reason=reason)
        if isinstance(exc, _MAYBE_SENT_ERRORS):
            if kind == "read":
                return _Failure(error, retryable=True, reason=reason)
            if kind == "submit":
                return _Failure(_outcome_unknown(call, error), False, reason)
        return _Failure(error, retryable=False, reason=reason)

    def _unwrap(self, call: _Call, reply: _Reply) -> _Failure | tuple[str, object]:
        """The ``(message, result)`` of a successful envelope, or the failure to report."""
        kind = call.operation.kind
        envelope = _parse_envelope(reply.content)
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
            if status in _UNPROCESSED_STATUSES or (
                kind == "read" and status in _READ_RETRY_STATUSES
            ):
                return _Failure(error, True, reason, reply.retry_after)
            if kind == "submit" and status >= 500:
                return _Failure(_outcome_unknown(call, error), False, reason)
            return _Failure(error, False, reason)
        if envelope is None:
            error = ResponseValidationError(
                f"response of {call.operation} is not a Topview envelope",
                body=reply.text,
                **call.ids(),
            )
            if kind == "submit":
                error = _outcome_unknown(call, error)
            return _Failure(error, False, "malformed body")
        code, message, result = envelope
        if code == SUCCESS_CODE:
            return message, result
        error = exception_class_for_code(code)(message or "Topview error", code=code, **call.ids())
        retryable = code in (_READ_RETRY_CODES if kind == "read" else _UNPROCESSED_CODES)
        return _Failure(error, retryable, f"code {code}", reply.retry_after)

    def _validate_result(
        self,
        call: _Call,
        adapter: pydantic.TypeAdapter[Any],
        envelope: tuple[str, object],
        reply: _Reply,
    ) -> Any:
        result = envelope[1]
        try:
            return adapter.validate_python(result)
        except pydantic.ValidationError as exc:
            summary = _summarise(exc)
            if not self._client.strict_responses:
                # Lenient mode: hand back the JSON as received rather than a half-valid model.
                logger.warning(
                    "result of %s does not match the spec, returning raw data: %s",
                    call.operation.operation_id,
                    summary,
                )
                return result
            raise ResponseValidationError(
                f"result of {call.operation} does not match the spec: {summary}",
                body=reply.text,
                code=SUCCESS_CODE,
                **call.ids(),
            ) from exc

    def _envelope(self, result_type: Any) -> type[_Envelope[Any]] | None:
        """The one-pass envelope model for ``result_type``; ``None``: go step by step."""
        try:
            return self._envelopes[result_type]
        except KeyError:
            pass
        except TypeError:  # an unhashable type form: not worth a model per call
            return None
        try:
            model: type[_Envelope[Any]] | None = _Envelope[result_type]
        except (TypeError, pydantic.PydanticUserError):  # the TypeAdapter path will say why
            model = None
        self._envelopes[result_type] = model
        return model

    def _adapter(self, result_type: Any) -> pydantic.TypeAdapter[Any]:
        try:
            adapter = self._adapters.get(result_type)
        except TypeError:  # an unhashable type form: build it every time
            return pydantic.TypeAdapter(result_type)
        if adapter is None:
            adapter = self._adapters.setdefault(result_type, pydantic.TypeAdapter(result_type))
        return adapter


def _json_bytes(body: dict[str, object]) -> bytes:
    """The request body exactly as httpx's ``json=`` encodes it."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def _outcome_unknown(call: _Call, cause: TopviewError) -> SubmitOutcomeUnknownError:
    error = SubmitOutcomeUnknownError(
        f"{call.operation} was sent but its response was lost ({cause.message}); Topview may "
        "have created the task. It was not resubmitted: check for the task before retrying.",
        request=SubmittedRequest(call.operation.method, call.url, call.json_body),
        operation=call.operation,
        code=cause.code,
    )
    error.__cause__ = cause
    return error


def validate_body(
    operation: Operation, body: Mapping[str, object], body_model: type[TopviewModel] | None
) -> dict[str, object]:
    """Validate a request body locally and return its wire JSON; nothing is sent.

    Raises :class:`InvalidInputError`. The pipeline calls it for every request; the task
    layer also calls it before uploading a submit's local files, so a bad argument never
    costs an upload.
    """
    cleaned: dict[str, object] = pydantic_core.to_jsonable_python(
        {key: value for key, value in body.items() if value is not None},
        by_alias=True,
        exclude_none=True,
    )
    if body_model is None:
        return cleaned
    try:
        model = body_model.model_validate(cleaned)
    except pydantic.ValidationError as exc:
        raise InvalidInputError(
            f"invalid arguments for {operation}: {_summarise(exc)}", operation=operation
        ) from exc
    return model.to_wire()


def _encode_query(query: Mapping[str, object] | None) -> list[tuple[str, str]]:
    """Query pairs: ``None`` dropped, bools as ``true``/``false``, list items repeated."""
    pairs: list[tuple[str, str]] = []
    for name, value in (query or {}).items():
        values = value if isinstance(value, list | tuple) else [value]
        pairs.extend((name, _query_value(item)) for item in values if item is not None)
    return pairs


def _query_string(pairs: list[tuple[str, str]]) -> str:
    """``urllib.parse.urlencode(pairs)``, which is what httpx sends, minus its cost for the
    usual plain ASCII ids (they need no quoting)."""
    return "&".join(f"{_quote(name)}={_quote(value)}" for name, value in pairs)


def _quote(text: str) -> str:
    return text if text.isascii() and text.isalnum() else quote_plus(text)


def _query_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return _query_value(value.value)
    return str(value)


def _parse_envelope(content: bytes) -> tuple[str, str, object] | None:
    """``(code, message, result)`` when ``content`` is a JSON object with a ``code``."""
    try:
        data = json.loads(content)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("code") is None or isinstance(data["code"], bool):
        return None
    message = data.get("message")
    return (
        str(data["code"]).strip(),
        message if isinstance(message, str) else "",
        data.get("result"),
    )


def _summarise(exc: pydantic.ValidationError, limit: int = 5) -> str:
    """``field.sub: message; ...`` without the offending values (they may be large)."""
    parts = [
        f"{'.'.join(str(part) for part in error['loc']) or '<root>'}: {error['msg']}"
        for error in exc.errors(include_url=False, include_input=False)[:limit]
    ]
    if exc.error_count() > limit:
        parts.append(f"and {exc.error_count() - limit} more")
    return "; ".join(parts)
