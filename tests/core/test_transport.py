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
from .loopback import BIG_BODY_SIZE, refused_url, serve

pytestmark = pytest.mark.anyio

RETRY = RetryPolicy(attempts=3, wait_jitter=False)


def client_for(url: str, **kwargs: object) -> AsyncTopview:
    return AsyncTopview(api_key=API_KEY, uid=UID, base_url=url, retry=RETRY, **kwargs)  # type: ignore[arg-type]


async def test_success_reuses_one_keep_alive_connection() -> None:
    async with serve() as server, client_for(server.url) as client:
        assert await call(client, READ, query={"taskId": "a b"}) == {"ok": 1}
        assert await call(client, SUBMIT, body={"productName": "shoe"}) == {"ok": 1}
    assert server.connections == 1
    first, second = server.requests
    assert first.target == "/v1/thing?taskId=a+b"
    assert first.headers["authorization"] == f"Bearer {API_KEY}"
    assert first.headers["topview-uid"] == UID
    assert second.body == b'{"productName":"shoe"}'


async def test_connect_refused_is_a_connect_error_and_a_submit_is_retried(
    sleeps: list[float],
) -> None:
    async with client_for(refused_url()) as client:
        with pytest.raises(APIConnectionError) as caught:
            await call(client, SUBMIT, body={"productName": "shoe"})
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert len(sleeps) == 2  # three attempts: nothing ever reached a server


async def test_dropped_after_request_is_outcome_unknown_and_sent_once(
    sleeps: list[float],
) -> None:
    async with serve("drop") as server, client_for(server.url) as client:
        with pytest.raises(SubmitOutcomeUnknownError) as caught:
            await call(client, SUBMIT, body={"productName": "shoe"})
    assert len(server.requests) == 1
    assert sleeps == []
    cause = caught.value.__cause__
    assert isinstance(cause, APIConnectionError)
    assert isinstance(cause.__cause__, httpx.RemoteProtocolError | httpx.ReadError)
    assert caught.value.request.body == {"productName": "shoe"}


async def test_dropped_read_is_retried() -> None:
    async with serve("drop") as server, client_for(server.url) as client:
        with pytest.raises(APIConnectionError):
            await call(client, READ)
    assert len(server.requests) == 3


async def test_read_timeout_maps_to_read_timeout() -> None:
    async with serve("stall") as server, client_for(server.url, timeout=0.2) as client:
        with pytest.raises(APITimeoutError) as caught:
            await call(client, READ)
        with pytest.raises(SubmitOutcomeUnknownError):
            await call(client, SUBMIT, body={})
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert len(server.requests) == 4  # three reads, one submit


async def test_gzip_bodies_are_decoded_exactly_once() -> None:
    async with serve("gzip") as server, client_for(server.url) as client:
        assert await call(client, READ) == {"ok": 1}


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
