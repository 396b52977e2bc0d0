"""No raised exception lets a caller reach the API key or uid (issue 11.10).

Error trackers serialise an exception's whole graph: attributes, ``args``, ``__cause__``,
``__context__``, and the request/response objects hanging off httpx's exceptions. This walks
that graph for every failure path on both send paths and looks for the credentials anywhere.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from types import FunctionType, ModuleType

import httpx
import pytest

from topview_async._client import AsyncTopview
from topview_async._config import RetryPolicy
from topview_async._exceptions import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    HTTPStatusError,
    ResponseValidationError,
    SubmitOutcomeUnknownError,
    TopviewError,
)
from topview_async._transport import AiohttpTransport

from .helpers import API_KEY, READ, SUBMIT, UID, WRITE, call
from .loopback import refused_url, serve

pytestmark = pytest.mark.anyio

RETRY = RetryPolicy(attempts=2, wait_jitter=False)
SECRETS = (API_KEY, UID, API_KEY[-12:])
_MAX_OBJECTS = 20_000


def _children(obj: object) -> list[object]:
    """Everything reachable from ``obj`` that a serialiser could look at."""
    found: list[object] = []
    if isinstance(obj, BaseException):
        found += [
            obj.args,
            obj.__cause__,
            obj.__context__,
            obj.__notes__ if hasattr(obj, "__notes__") else None,
        ]
        if isinstance(obj, BaseExceptionGroup):
            found.append(obj.exceptions)
        if isinstance(obj, httpx.RequestError | httpx.HTTPStatusError):
            with suppress(RuntimeError):
                found.append(obj.request)
        if isinstance(obj, httpx.HTTPStatusError):
            found.append(obj.response)
    if isinstance(obj, httpx.Request):
        found += [str(obj.url), list(obj.headers.raw), obj.extensions]
        if isinstance(obj.stream, httpx.ByteStream):
            found.append(obj.content)
    if isinstance(obj, httpx.Response):
        found += [list(obj.headers.raw), obj.extensions]
        with suppress(RuntimeError):
            found.append(obj.request)
    if isinstance(obj, dict):
        found += list(obj.keys()) + list(obj.values())
    elif isinstance(obj, list | tuple | set | frozenset | deque):
        found += list(obj)
    if hasattr(obj, "__dict__") and not isinstance(obj, type):
        found.append(dict(vars(obj)))
    for cls in type(obj).__mro__:
        for slot in getattr(cls, "__slots__", ()):
            if isinstance(slot, str) and hasattr(obj, slot):
                found.append(getattr(obj, slot))
    return found


def assert_no_secret_reachable(error: BaseException) -> int:
    """Walk the exception graph; fail if any text in it holds a credential. Returns its size."""
    seen: set[int] = set()
    queue: deque[object] = deque([error])
    while queue:
        obj = queue.popleft()
        if obj is None or id(obj) in seen or isinstance(obj, type | ModuleType | FunctionType):
            continue
        seen.add(id(obj))
        assert len(seen) < _MAX_OBJECTS, "exception graph unexpectedly large"
        texts: list[str] = []
        if isinstance(obj, bytes | bytearray):
            texts.append(bytes(obj).decode("latin-1"))
        elif isinstance(obj, str):
            texts.append(obj)
        else:
            texts += [repr(obj), str(obj)]
        for text in texts:
            for secret in SECRETS:
                assert secret not in text, (
                    f"credential reachable via {type(obj).__name__}: {text[:200]}"
                )
        if not isinstance(obj, str | bytes | bytearray | int | float):
            queue.extend(_children(obj))
    return len(seen)


Answer = Callable[[bytes], bytes]


def _http(status: int, body: bytes, content_type: str = "application/json") -> bytes:
    return (
        f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def echo_headers(status: int) -> Answer:
    """A misbehaving proxy: answers ``status`` with the request head (credentials!) as body."""
    return lambda head: _http(status, head, "text/plain")


def envelope(code: str, message: str = "nope") -> Answer:
    body = json.dumps({"code": code, "message": message, "result": None}).encode()
    return lambda head: _http(200, body)


def garbage_with_headers(head: bytes) -> bytes:
    return _http(200, b"<html>" + head + b"</html>", "text/html")


def bad_result(head: bytes) -> bytes:
    return _http(200, json.dumps({"code": "200", "message": "ok", "result": "x"}).encode())


@asynccontextmanager
async def answering(answer: Answer) -> AsyncIterator[str]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                await reader.readexactly(length)
                writer.write(answer(head))
                await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}"
        server.close()


@pytest.fixture(params=["direct", "through httpx"])
def route(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def client_for(url: str, route: str, **kwargs: object) -> AsyncTopview:
    if route == "through httpx":
        kwargs["transport"] = AiohttpTransport()
    return AsyncTopview(api_key=API_KEY, uid=UID, base_url=url, retry=RETRY, **kwargs)  # type: ignore[arg-type]


async def _raised(client: AsyncTopview, operation: object, **kwargs: object) -> TopviewError:
    body = None if operation is READ else {"productName": "shoe"}
    with pytest.raises(TopviewError) as caught:
        await call(client, operation, body=body, **kwargs)  # type: ignore[arg-type]
    # The client's own transport sends directly; a user-given one goes through httpx.
    assert (client._direct is not None) == (client._user_transport is None)
    return caught.value


async def test_connect_error(route: str) -> None:
    async with client_for(refused_url(), route) as client:
        for operation in (READ, SUBMIT):
            error = await _raised(client, operation)
            assert isinstance(error, APIConnectionError)
            assert isinstance(error.__cause__, httpx.ConnectError)  # the type is kept
            assert_no_secret_reachable(error)


async def test_timeout_and_dropped_connection(route: str) -> None:
    for behaviour, expected in (("stall", APITimeoutError), ("drop", APIConnectionError)):
        async with serve(behaviour) as server, client_for(server.url, route, timeout=0.2) as client:  # type: ignore[arg-type]
            read_error = await _raised(client, READ)
            submit_error = await _raised(client, SUBMIT)
        assert isinstance(read_error, expected)
        # The submit's chain is one level deeper: outcome unknown -> connection error -> httpx.
        assert isinstance(submit_error, SubmitOutcomeUnknownError)
        assert isinstance(submit_error.__cause__, expected)
        assert isinstance(submit_error.__cause__.__cause__, httpx.TransportError)
        for error in (read_error, submit_error):
            assert_no_secret_reachable(error)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (echo_headers(400), HTTPStatusError),
        (echo_headers(401), HTTPStatusError),
        (echo_headers(502), HTTPStatusError),
        (envelope("4004"), APIError),
        (envelope("401", "Unauthorized, need to login again"), AuthenticationError),
        (garbage_with_headers, ResponseValidationError),
    ],
)
async def test_replies_that_fail(route: str, answer: Answer, expected: type[TopviewError]) -> None:
    async with answering(answer) as url, client_for(url, route) as client:
        for operation in (READ, WRITE, SUBMIT):
            error = await _raised(client, operation)
            cause = error.__cause__ if isinstance(error, SubmitOutcomeUnknownError) else error
            assert isinstance(cause, expected)
            assert_no_secret_reachable(error)


async def test_result_validation_error(route: str) -> None:
    async with answering(bad_result) as url, client_for(url, route) as client:
        error = await _raised(client, READ, result_type=int)
    assert isinstance(error, ResponseValidationError)
    assert_no_secret_reachable(error)


async def test_the_walker_finds_a_credential_in_a_cause() -> None:
    # The walk itself must bite: the httpx exception as the transport raises it holds the key.
    request = httpx.Request("GET", "https://x.test", headers={"Authorization": f"Bearer {API_KEY}"})
    error = APIConnectionError("boom")
    error.__cause__ = httpx.ConnectError("refused", request=request)
    with pytest.raises(AssertionError, match="credential reachable"):
        assert_no_secret_reachable(error)
