"""The one request pipeline every Topview call goes through.

Per call: validate the body locally, then per attempt build the request (credentials only for
the Topview origin), send it under the in-flight limit, unwrap ``{code, message, result}``,
map failures to typed errors, and decide whether to retry.

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
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

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

__all__ = ["RequestPipeline"]

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


@dataclass(frozen=True, slots=True)
class _Call:
    """Everything about one call that stays the same across attempts."""

    operation: Operation
    url: httpx.URL
    params: list[tuple[str, str]]
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


class RequestPipeline:
    """Builds, sends, retries and decodes every Topview request of one :class:`AsyncTopview`."""

    def __init__(self, client: AsyncTopview) -> None:
        self._client = client
        self._adapters: dict[object, pydantic.TypeAdapter[Any]] = {}

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
        self._client._check_usable()
        context = context or {}
        call = _Call(
            operation=operation,
            url=self._client._url_for(operation.path),
            params=_encode_query(query),
            json_body=None,
            task_id=context.get("task_id"),
            file_id=context.get("file_id"),
        )
        if body is not None:
            call = _replace_body(call, _prepare_body(call, body, body_model))
        adapter = self._adapter(result_type)
        policy = self._client.retry
        attempt = 1
        while True:
            outcome = await self._attempt(call, adapter, attempt)
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
        self, call: _Call, adapter: pydantic.TypeAdapter[Any], attempt: int
    ) -> Any | _Failure:
        http, limiter = self._client._connection()
        request = self._client._build_request(
            call.operation.method, call.url, params=call.params, json_body=call.json_body
        )
        started = time.perf_counter()
        async with limiter:
            try:
                response = await http.send(request, follow_redirects=False)
            except httpx.RequestError as exc:
                self._log(call, attempt, started, f"failed: {type(exc).__name__}")
                return self._transport_failure(call, request, exc)
        failure_or_envelope = self._unwrap(call, request, response)
        code = (
            failure_or_envelope.error.code if isinstance(failure_or_envelope, _Failure) else "200"
        )
        self._log(call, attempt, started, f"{response.status_code} code={code}")
        if isinstance(failure_or_envelope, _Failure):
            return failure_or_envelope
        return self._validate_result(call, adapter, failure_or_envelope, response.text)

    def _log(self, call: _Call, attempt: int, started: float, what: str) -> None:
        logger.info(
            "%s %s %s attempt=%d %.0fms",
            call.operation.method,
            call.operation.path,
            what,
            attempt,
            (time.perf_counter() - started) * 1000,
        )

    def _transport_failure(
        self, call: _Call, request: httpx.Request, exc: httpx.RequestError
    ) -> _Failure:
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
                return _Failure(_outcome_unknown(call, request, error), False, reason)
        return _Failure(error, retryable=False, reason=reason)

    def _unwrap(
        self, call: _Call, request: httpx.Request, response: httpx.Response
    ) -> _Failure | tuple[str, object]:
        """The ``(message, result)`` of a successful envelope, or the failure to report."""
        kind = call.operation.kind
        retry_after = response.headers.get("Retry-After")
        envelope = _parse_envelope(response.content)
        status = response.status_code
        if not 200 <= status < 300:
            error: TopviewError = HTTPStatusError(
                f"HTTP {status} from Topview",
                status_code=status,
                body=response.text,
                code=envelope[0] if envelope else None,
                **call.ids(),
            )
            reason = f"HTTP {status}"
            if status in _UNPROCESSED_STATUSES or (
                kind == "read" and status in _READ_RETRY_STATUSES
            ):
                return _Failure(error, True, reason, retry_after)
            if kind == "submit" and status >= 500:
                return _Failure(_outcome_unknown(call, request, error), False, reason)
            return _Failure(error, False, reason)
        if envelope is None:
            error = ResponseValidationError(
                f"response of {call.operation} is not a Topview envelope",
                body=response.text,
                **call.ids(),
            )
            if kind == "submit":
                error = _outcome_unknown(call, request, error)
            return _Failure(error, False, "malformed body")
        code, message, result = envelope
        if code == SUCCESS_CODE:
            return message, result
        error = exception_class_for_code(code)(message or "Topview error", code=code, **call.ids())
        retryable = code in (_READ_RETRY_CODES if kind == "read" else _UNPROCESSED_CODES)
        return _Failure(error, retryable, f"code {code}", retry_after)

    def _validate_result(
        self,
        call: _Call,
        adapter: pydantic.TypeAdapter[Any],
        envelope: tuple[str, object],
        raw_body: str,
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
                body=raw_body,
                code=SUCCESS_CODE,
                **call.ids(),
            ) from exc

    def _adapter(self, result_type: Any) -> pydantic.TypeAdapter[Any]:
        try:
            adapter = self._adapters.get(result_type)
        except TypeError:  # an unhashable type form: build it every time
            return pydantic.TypeAdapter(result_type)
        if adapter is None:
            adapter = self._adapters.setdefault(result_type, pydantic.TypeAdapter(result_type))
        return adapter


def _replace_body(call: _Call, json_body: dict[str, object]) -> _Call:
    return _Call(call.operation, call.url, call.params, json_body, call.task_id, call.file_id)


def _outcome_unknown(
    call: _Call, request: httpx.Request, cause: TopviewError
) -> SubmitOutcomeUnknownError:
    error = SubmitOutcomeUnknownError(
        f"{call.operation} was sent but its response was lost ({cause.message}); Topview may "
        "have created the task. It was not resubmitted: check for the task before retrying.",
        request=SubmittedRequest(request.method, str(request.url), call.json_body),
        operation=call.operation,
        code=cause.code,
    )
    error.__cause__ = cause
    return error


def _prepare_body(
    call: _Call, body: Mapping[str, object], body_model: type[TopviewModel] | None
) -> dict[str, object]:
    """Wire JSON: ``None`` dropped, models dumped by alias, validated against ``body_model``."""
    return validate_body(call.operation, body, body_model)


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
