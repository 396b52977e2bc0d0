"""The aiohttp transport against a real loopback server: failures mapped by how far they got."""

from __future__ import annotations

import httpx
import pytest

from topview_async._client import AsyncTopview
from topview_async._config import RetryPolicy
from topview_async._exceptions import (
    APIConnectionError,
    APITimeoutError,
    SubmitOutcomeUnknownError,
)
from topview_async._transport import AiohttpTransport

from .helpers import API_KEY, READ, SUBMIT, UID, call
from .loopback import BIG_BODY_SIZE, SLOW_REPLY, refused_url, serve

pytestmark = pytest.mark.anyio

RETRY = RetryPolicy(attempts=3, wait_jitter=False)


@pytest.fixture(params=["direct", "through httpx"])
def route(request: pytest.FixtureRequest) -> str:
    """How Topview calls reach aiohttp: the SDK's direct path, or a user-given transport
    called through ``httpx.AsyncClient.send``. Both must behave the same."""
    return str(request.param)


def client_for(url: str, route: str = "direct", **kwargs: object) -> AsyncTopview:
    if route == "through httpx":
        kwargs["transport"] = AiohttpTransport()
    return AsyncTopview(api_key=API_KEY, uid=UID, base_url=url, retry=RETRY, **kwargs)  # type: ignore[arg-type]


async def test_success_reuses_one_keep_alive_connection(route: str) -> None:
    async with serve() as server, client_for(server.url, route) as client:
        assert await call(client, READ, query={"taskId": "a b"}) == {"ok": 1}
        assert await call(client, SUBMIT, body={"productName": "shoe"}) == {"ok": 1}
        assert (client._direct is not None) == (route == "direct")
    assert server.connections == 1
    first, second = server.requests
    assert first.target == "/v1/thing?taskId=a+b"
    assert first.headers["authorization"] == f"Bearer {API_KEY}"
    assert first.headers["topview-uid"] == UID
    assert second.body == b'{"productName":"shoe"}'


async def test_connect_refused_is_a_connect_error_and_a_submit_is_retried(
    sleeps: list[float], route: str
) -> None:
    async with client_for(refused_url(), route) as client:
        with pytest.raises(APIConnectionError) as caught:
            await call(client, SUBMIT, body={"productName": "shoe"})
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert len(sleeps) == 2  # three attempts: nothing ever reached a server


async def test_dropped_after_request_is_outcome_unknown_and_sent_once(
    sleeps: list[float], route: str
) -> None:
    async with serve("drop") as server, client_for(server.url, route) as client:
        with pytest.raises(SubmitOutcomeUnknownError) as caught:
            await call(client, SUBMIT, body={"productName": "shoe"})
    assert len(server.requests) == 1
    assert sleeps == []
    cause = caught.value.__cause__
    assert isinstance(cause, APIConnectionError)
    assert isinstance(cause.__cause__, httpx.RemoteProtocolError | httpx.ReadError)
    assert caught.value.request.body == {"productName": "shoe"}
    assert caught.value.request.url == f"{server.url}{SUBMIT.path}"


async def test_dropped_read_is_retried(route: str) -> None:
    async with serve("drop") as server, client_for(server.url, route) as client:
        with pytest.raises(APIConnectionError):
            await call(client, READ)
    assert len(server.requests) == 3


async def test_read_timeout_maps_to_read_timeout(route: str) -> None:
    async with serve("stall") as server, client_for(server.url, route, timeout=0.2) as client:
        with pytest.raises(APITimeoutError) as caught:
            await call(client, READ)
        with pytest.raises(SubmitOutcomeUnknownError):
            await call(client, SUBMIT, body={})
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert len(server.requests) == 4  # three reads, one submit


async def test_read_bounds_the_wait_for_the_response_not_connect_plus_read(route: str) -> None:
    """Issue 21.4: a reply slower than ``read`` times out, however long ``connect`` is."""
    timeout = httpx.Timeout(5.0, read=0.3)
    async with serve("slow") as server, client_for(server.url, route, timeout=timeout) as client:
        with pytest.raises(APITimeoutError) as caught:
            await call(client, READ)
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert len(server.requests) == 3


async def test_connect_does_not_bound_the_wait_for_the_response(route: str) -> None:
    timeout = httpx.Timeout(0.3, read=30.0)
    async with serve("slow") as server, client_for(server.url, route, timeout=timeout) as client:
        assert await call(client, READ) == {"ok": 1}
    assert timeout.connect is not None
    assert timeout.connect < SLOW_REPLY


async def test_a_connection_that_never_comes_is_a_connect_timeout_and_retried(
    monkeypatch: pytest.MonkeyPatch, sleeps: list[float]
) -> None:
    """Issue 21.4: getting a connection (DNS, TCP, TLS) is bounded by ``connect`` on the
    direct path too, and a submit stuck there provably sent nothing: it is retried."""
    import asyncio

    import aiohttp

    attempts = 0

    async def never_connects(*args: object, **kwargs: object) -> object:
        nonlocal attempts
        attempts += 1
        await asyncio.Event().wait()  # a resolver or handshake that never answers
        raise AssertionError("unreachable")

    monkeypatch.setattr(aiohttp.TCPConnector, "connect", never_connects)
    timeout = httpx.Timeout(30.0, connect=0.05)
    async with serve() as server, client_for(server.url, timeout=timeout) as client:
        with pytest.raises(APITimeoutError) as caught:
            await call(client, SUBMIT, body={"productName": "shoe"})
    assert isinstance(caught.value.__cause__, httpx.ConnectTimeout)
    assert attempts == 3
    assert server.requests == []


async def test_gzip_bodies_are_decoded_exactly_once(route: str) -> None:
    async with serve("gzip") as server, client_for(server.url, route) as client:
        assert await call(client, READ) == {"ok": 1}


async def test_both_routes_send_the_same_request() -> None:
    query = {"taskId": "a b/ü", "q": "x&y=z+~%41", "flag": True, "ids": ["1", "2"], "no": None}
    body = {"productName": "Schuh ü", "count": 2, "skip": None}
    async with serve() as server:
        for route in ("direct", "through httpx"):
            async with client_for(server.url, route) as client:
                await call(client, READ, query=query)
                await call(client, SUBMIT, body=body)
    direct_read, direct_submit, httpx_read, httpx_submit = server.requests
    for direct, through_httpx in ((direct_read, httpx_read), (direct_submit, httpx_submit)):
        assert direct.method == through_httpx.method
        assert direct.target == through_httpx.target
        assert direct.body == through_httpx.body
        assert direct.headers == through_httpx.headers
        assert direct.raw == through_httpx.raw
    assert (
        direct_read.target
        == "/v1/thing?taskId=a+b%2F%C3%BC&q=x%26y%3Dz%2B~%2541&flag=true&ids=1&ids=2"
    )
    assert direct_submit.body == '{"productName":"Schuh ü","count":2}'.encode()
    assert direct_submit.headers["content-type"] == "application/json"


async def test_direct_pool_wait_beyond_pool_timeout_is_a_pool_timeout() -> None:
    transport = AiohttpTransport(max_connections=1)
    timeouts = httpx.Timeout(5.0, pool=0.05).as_dict()
    async with (
        serve("big") as server,
        httpx.AsyncClient(transport=transport) as http,
        http.stream("GET", server.url),  # holds the only connection
    ):
        with pytest.raises(httpx.PoolTimeout) as caught:
            await transport.send_bytes("GET", f"{server.url}/v1/x", {}, None, timeouts)
    assert str(caught.value.request.url) == f"{server.url}/v1/x"


async def test_downloads_stream_in_chunks() -> None:
    async with serve("big") as server, client_for(server.url) as client:
        storage = client._storage_http
        async with storage.stream("GET", f"{server.url}/video.mp4") as response:
            sizes = [len(chunk) async for chunk in response.aiter_raw()]
    assert sum(sizes) == BIG_BODY_SIZE
    assert len(sizes) > 1
    assert "authorization" not in server.requests[0].headers


async def test_streamed_upload_keeps_explicit_content_length() -> None:
    parts = [b"a" * 1000, b"b" * 500]

    async def body():  # type: ignore[no-untyped-def]
        for part in parts:
            yield part

    async with serve() as server, client_for(server.url) as client:
        response = await client._storage_http.put(
            f"{server.url}/bucket/key?X-Amz-Signature=a%2Fb",
            content=body(),
            headers={"Content-Length": "1500"},
        )
    assert response.status_code == 200
    received = server.requests[0]
    assert received.body == b"".join(parts)
    assert received.target == "/bucket/key?X-Amz-Signature=a%2Fb"  # not re-encoded
    assert "transfer-encoding" not in received.headers
    assert "topview-uid" not in received.headers


async def test_pool_wait_beyond_pool_timeout_is_a_pool_timeout() -> None:
    transport = AiohttpTransport(max_connections=1)
    async with (
        serve("big") as server,
        httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(5.0, pool=0.05)) as http,
        http.stream("GET", server.url),  # holds the only connection
    ):
        with pytest.raises(httpx.PoolTimeout):
            await http.get(server.url)
