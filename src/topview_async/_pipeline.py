"""The one request pipeline every Topview call goes through.

Per call: validate the body locally and encode the URL once (:mod:`._wire`), then per attempt
build the request (credentials only for the Topview origin), send it under the in-flight limit,
unwrap ``{code, message, result}``, and let :mod:`._retrying` map a failure to its typed error
and say whether it may be retried; :class:`~._retry_loop.RetryLoop` (the SDK's one retry
loop) decides whether another attempt starts, and waits.

Two send paths lead to the same decisions and send the same bytes: when the client uses the
aiohttp transport it made itself, a request goes straight to
:meth:`AiohttpTransport.send_bytes`; a user's ``transport`` or ``http_client`` (and httpx's
own transport on trio) is called through ``httpx.AsyncClient.send``. Both take their headers
from :meth:`HTTPConnections._request_headers` and the URL and JSON body encoded once per call.
A successful body is parsed and validated in one pass (:class:`Envelope`); everything else is
decided step by step.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pydantic

from ._config import NotGiven, RetryPolicy
from ._exceptions import InvalidInputError, ResponseValidationError
from ._logging import logger
from ._models import TopviewModel
from ._operation import Operation
from ._options import RequestOptions
from ._retry_loop import RetryLoop
from ._retrying import Failure, outcome_unknown, transport_failure, unwrap_reply
from ._wire import (
    SUCCESS_CODE,
    Call,
    Envelope,
    Reply,
    encode_query,
    json_bytes,
    query_string,
    summarise_validation_error,
    validate_body,
)

# httpx only for the httpx send path and failed attempts: a call on the direct aiohttp path
# never imports it (cold start, see _pool.py).
if TYPE_CHECKING:
    import httpx

    from ._client import AsyncTopview
    from ._pool import AiohttpPool
    from ._response import RawResponse

__all__ = ["RequestPipeline"]


def _headers(client: AsyncTopview, call: Call) -> dict[str, str]:
    """The SDK's headers of ``call``, with its ``extra_headers`` on top (names compared
    without case, so ``authorization`` replaces ``Authorization`` instead of doubling it)."""
    headers = client._request_headers(call.url, has_body=call.json_body is not None)
    extra = call.extra_headers
    if not extra:
        return headers
    replaced = {name.lower() for name in extra}
    merged = {name: value for name, value in headers.items() if name.lower() not in replaced}
    merged.update(extra)
    return merged


def _raw_response(call: Call, result: Any) -> RawResponse[Any]:
    from ._response import RawResponse

    reply = call.reply
    assert reply is not None
    assert reply.response is not None, "a raw call goes through httpx"
    return RawResponse(reply.response, result, operation=call.operation)


class RequestPipeline:
    """Builds, sends, retries and decodes every Topview request of one :class:`AsyncTopview`."""

    def __init__(self, client: AsyncTopview) -> None:
        self._client = client
        self._adapters: dict[object, pydantic.TypeAdapter[Any]] = {}
        self._envelopes: dict[object, type[Envelope[Any]] | None] = {}

    async def request(
        self,
        operation: Operation,
        *,
        query: Mapping[str, object] | None,
        body: Mapping[str, object] | None,
        body_model: type[TopviewModel] | None,
        result_type: Any,
        context: Mapping[str, str | None] | None,
        options: RequestOptions | None = None,
        raw: bool = False,
    ) -> Any:
        """Call ``operation`` and return its ``result`` validated as ``result_type``.

        ``options``: this call's :class:`RequestOptions` (over the client's ``with_options``
        defaults). ``raw``: return a :class:`RawResponse` of the final reply instead.
        """
        client = self._client
        client._check_usable()
        defaults = client._default_options
        if defaults is not None:
            options = defaults.merged(options)
        url = client._base_prefix + operation.path
        extra_query = None if options is None else options.extra_query
        if query or extra_query:
            pairs = encode_query(query)
            if extra_query:
                pairs += encode_query(extra_query)
            if pairs:
                url = f"{url}?{query_string(pairs)}"
        context = context or {}
        json_body = None if body is None else validate_body(operation, body, body_model)
        policy: RetryPolicy | None = client.retry
        timeouts = client._timeouts
        extra_headers = None
        if options is not None:
            if options.extra_body:
                if json_body is None:
                    raise InvalidInputError(
                        f"extra_body= given for {operation}, which sends no JSON body",
                        operation=operation,
                    )
                json_body = {**json_body, **options.extra_body}
            if not isinstance(options.retry, NotGiven):
                policy = options.retry
            if not isinstance(options.timeouts, NotGiven):
                timeouts = options.timeouts
            extra_headers = options.extra_headers
        call = Call(
            operation=operation,
            url=url,
            json_body=json_body,
            task_id=context.get("task_id"),
            file_id=context.get("file_id"),
            secrets=client._credentials.secrets,
            timeouts=timeouts,
            extra_headers=extra_headers,
            raw=raw,
        )
        adapter = self._adapter(result_type)
        envelope = self._envelope(result_type)
        async for attempt in RetryLoop(policy, operation.operation_id):
            outcome = await self._attempt(call, result_type, adapter, envelope, attempt.number)
            if not isinstance(outcome, Failure):
                if raw:
                    return _raw_response(call, outcome)
                return outcome
            if not outcome.retryable:
                raise outcome.error
            attempt.failed(outcome.error, retry_after=outcome.retry_after)
        raise AssertionError("a RetryLoop ends by raising the last failure")

    async def _attempt(
        self,
        call: Call,
        result_type: Any,
        adapter: pydantic.TypeAdapter[Any],
        envelope: type[Envelope[Any]] | None,
        attempt: int,
    ) -> Any | Failure:
        client = self._client
        direct = None if call.raw else client._direct_pool()
        started = time.perf_counter()
        try:
            if direct is not None:
                reply = await self._send_direct(direct, call)
            else:
                http, limiter = client._connection()
                if limiter is None:
                    reply = await self._send(http, call)
                else:
                    async with limiter:
                        reply = await self._send(http, call)
        except Exception as exc:
            import httpx

            if not isinstance(exc, httpx.RequestError):
                raise
            self._log(call, attempt, started, f"failed: {type(exc).__name__}")
            return transport_failure(call, exc)
        call.reply = reply
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
        outcome = unwrap_reply(call, reply)
        if logger.isEnabledFor(logging.INFO):
            code = outcome.error.code if isinstance(outcome, Failure) else SUCCESS_CODE
            self._log(call, attempt, started, f"{reply.status} code={code}")
        if isinstance(outcome, Failure):
            return outcome
        return self._validate_result(call, result_type, adapter, outcome, reply)

    async def _send_direct(self, transport: AiohttpPool, call: Call) -> Reply:
        """Straight to the SDK's own aiohttp transport: the fast path for Topview calls."""
        body = call.json_body
        status, retry_after, content = await transport.send_bytes(
            call.operation.method,
            call.url,
            _headers(self._client, call),
            None if body is None else json_bytes(body),
            call.timeouts or {},
        )
        return Reply(status, retry_after, content)

    async def _send(self, http: httpx.AsyncClient, call: Call) -> Reply:
        """Through ``httpx.AsyncClient.send``: a user's transport or ``http_client``, or trio."""
        import httpx

        body = call.json_body
        client = self._client
        request = http.build_request(
            call.operation.method,
            call.url,
            content=None if body is None else json_bytes(body),
            headers=_headers(client, call),
            timeout=httpx.USE_CLIENT_DEFAULT
            if call.timeouts is None
            else client._timeout
            if call.timeouts is client._timeouts
            else httpx.Timeout(**call.timeouts),
        )
        response = await http.send(request, follow_redirects=False)
        return Reply(
            response.status_code, response.headers.get("Retry-After"), response.content, response
        )

    def _log(self, call: Call, attempt: int, started: float, what: str) -> None:
        logger.info(
            "%s %s %s attempt=%d %.0fms",
            call.operation.method,
            call.operation.path,
            what,
            attempt,
            (time.perf_counter() - started) * 1000,
        )

    def _validate_result(
        self,
        call: Call,
        result_type: Any,
        adapter: pydantic.TypeAdapter[Any],
        envelope: tuple[str, object],
        reply: Reply,
    ) -> Any:
        result = envelope[1]
        try:
            return adapter.validate_python(result)
        except pydantic.ValidationError as exc:
            summary = summarise_validation_error(exc)
            if not self._client.strict_responses:
                # Lenient mode: still the declared type (so the signature holds), built
                # without validation where the data does not fit; see _lenient.py.
                from ._lenient import build_leniently

                built, mismatch = build_leniently(result_type, result)
                if mismatch is not None:
                    # Not even the outer shape fits: no honest value of the declared type.
                    summary = f"{summary} (not buildable leniently either: {mismatch})"
                else:
                    logger.warning(
                        "result of %s does not match the spec, returning it unvalidated: %s",
                        call.operation.operation_id,
                        summary,
                    )
                    return built
            error = ResponseValidationError(
                f"result of {call.operation} does not match the spec: {summary}",
                body=reply.text,
                code=SUCCESS_CODE,
                **call.ids(),
            )
            if call.operation.kind == "submit":
                # Code 200: the task was created, whatever the result looks like. Never
                # "not sent": keep the task id when the result names one.
                raise outcome_unknown(call, error, task_id=_task_id_of(result)) from exc
            raise error from exc

    def _envelope(self, result_type: Any) -> type[Envelope[Any]] | None:
        """The one-pass envelope model for ``result_type``; ``None``: go step by step."""
        try:
            return self._envelopes[result_type]
        except KeyError:
            pass
        except TypeError:  # an unhashable type form: not worth a model per call
            return None
        try:
            model: type[Envelope[Any]] | None = Envelope[result_type]
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


def _task_id_of(result: object) -> str | None:
    """``result.taskId`` of a submit reply that did not validate, when it is readable."""
    task_id = result.get("taskId") if isinstance(result, Mapping) else None
    return str(task_id) if isinstance(task_id, str | int) and str(task_id) else None
