"""Per-call options, ``with_options``, ``client.request`` and raw responses.

The every-operation check of the generated stubs is ``tests/contract/test_call_options.py``;
here are the semantics, on both send paths (``httpx.MockTransport`` and the direct aiohttp
path against a loopback server).
"""

from __future__ import annotations

import json

import anyio
import httpx
import pytest

from topview_async import (
    APITimeoutError,
    AsyncTopview,
    ConfigurationError,
    InvalidInputError,
    Operation,
    RawResponse,
    RequestOptions,
    RetryPolicy,
    ServerBusyError,
)

from .helpers import READ, SUBMIT, Recorder, code, make_client, ok
from .loopback import serve

pytestmark = pytest.mark.anyio


async def test_options_reach_the_wire_on_the_direct_path() -> None:
    async with (
        serve() as server,
        AsyncTopview(api_key="k", uid="u", base_url=server.url) as client,
    ):
        result = await client.request(
            SUBMIT,
            result_type=dict,
            query={"a": "1"},
            body={"name": "x"},
            extra_headers={"X-Trace": "t1", "user-agent": "mine/1"},
            extra_query={"trace": "q"},
            extra_body={"futureField": True},
        )
    assert result == {"ok": 1}
    (received,) = server.requests
    assert received.target == "/v1/thing/submit?a=1&trace=q"
    assert received.headers["x-trace"] == "t1"
    assert received.headers["user-agent"] == "mine/1"  # replaced, not doubled
    assert received.raw.lower().count(b"user-agent:") == 1
    assert received.headers["authorization"] == "Bearer k"
    assert json.loads(received.body) == {"name": "x", "futureField": True}


async def test_per_call_timeout_holds_on_the_direct_path() -> None:
    # The client's own read timeout is an hour: only the call's ends this wait.
    async with (
        serve("stall") as server,
        AsyncTopview(api_key="k", uid="u", base_url=server.url, timeout=3600, retry=None) as client,
    ):
        with anyio.fail_after(30), pytest.raises(APITimeoutError):
            await client.request(READ, result_type=dict, timeout=0.2)


async def test_retry_none_and_a_policy_per_call() -> None:
    recorder = Recorder(code("5003"))
    async with make_client(recorder) as client:
        with pytest.raises(ServerBusyError):
            await client.request(READ, result_type=object, retry=None)
        assert len(recorder.requests) == 1
        with pytest.raises(ServerBusyError):
            await client.request(READ, result_type=object, retry=RetryPolicy(attempts=5))
        assert len(recorder.requests) == 6
        with pytest.raises(ServerBusyError):
            await client.request(READ, result_type=object)  # the client's policy: 3
        assert len(recorder.requests) == 9


async def test_timeout_per_call_on_the_httpx_path() -> None:
    recorder = Recorder(ok({"x": 1}))
    async with make_client(recorder, timeout=30) as client:
        await client.request(READ, result_type=dict, timeout=httpx.Timeout(2.0, read=0.5))
        await client.request(READ, result_type=dict)
    first, second = recorder.requests
    assert first.extensions["timeout"] == httpx.Timeout(2.0, read=0.5).as_dict()
    assert second.extensions["timeout"] == httpx.Timeout(30).as_dict()


async def test_extra_body_on_an_operation_without_a_body_is_refused_before_sending() -> None:
    recorder = Recorder(ok())
    async with make_client(recorder) as client:
        with pytest.raises(InvalidInputError, match="extra_body"):
            await client.request(READ, result_type=object, extra_body={"x": 1})
    assert recorder.requests == []


@pytest.mark.parametrize(
    "arguments",
    [
        {"retry": 3},
        {"extra_headers": {"X-Number": 1}},
        {"extra_query": ["a"]},
        {"timeout": "soon"},
    ],
)
async def test_bad_options_are_a_configuration_error(arguments: dict[str, object]) -> None:
    recorder = Recorder(ok())
    async with make_client(recorder) as client:
        with pytest.raises(ConfigurationError):
            await client.request(READ, result_type=object, **arguments)  # type: ignore[arg-type]
    assert recorder.requests == []


async def test_with_options_shares_the_pool_and_layers_defaults() -> None:
    recorder = Recorder(code("5003"))
    async with make_client(recorder) as client:
        quick = client.with_options(
            retry=None, timeout=1.5, default_headers={"X-Tenant": "a"}, default_query={"t": "1"}
        )
        tagged = quick.with_options(default_headers={"X-Extra": "b"})
        with pytest.raises(ServerBusyError):
            await tagged.request(READ, result_type=object, extra_headers={"X-Tenant": "c"})
        assert tagged.retry == RetryPolicy.disabled()
        assert client.retry != tagged.retry
        assert tagged._connection()[0] is client._connection()[0]  # one pool
        await tagged.aclose()  # closes nothing: the connections are the client's
        assert not client.is_closed
    assert tagged.is_closed  # closed with its root
    (request,) = recorder.requests
    assert request.headers["X-Tenant"] == "c"
    assert request.headers["X-Extra"] == "b"
    assert request.url.params["t"] == "1"
    assert request.extensions["timeout"] == httpx.Timeout(1.5).as_dict()


async def test_with_options_client_uses_the_roots_direct_pool() -> None:
    async with (
        serve() as server,
        AsyncTopview(api_key="k", uid="u", base_url=server.url) as client,
    ):
        derived = client.with_options(retry=None)
        await derived.request(READ, result_type=dict)
        await client.request(READ, result_type=dict)
        assert derived._direct_pool() is client._direct_pool()
    assert server.connections == 1  # the second call reused the first one's connection


async def test_request_options_object_and_keywords_merge() -> None:
    recorder = Recorder(ok({"x": 1}))
    options = RequestOptions.build(extra_headers={"A": "1", "B": "1"}, extra_query={"q": "1"})
    async with make_client(recorder) as client:
        await client.request(READ, result_type=dict, options=options, extra_headers={"B": "2"})
    (request,) = recorder.requests
    assert (request.headers["A"], request.headers["B"], request.url.params["q"]) == ("1", "2", "1")


async def test_raw_response_gives_status_headers_request_id_and_parse() -> None:
    recorder = Recorder(ok({"x": 1}, **{"X-Request-Id": "req-42", "X-Other": "o"}))
    async with make_client(recorder) as client:
        raw = await client.request(READ, result_type=dict, raw=True)
    assert isinstance(raw, RawResponse)
    assert raw.status_code == 200
    assert raw.request_id == "req-42"
    assert raw.headers["x-other"] == "o"
    assert raw.parse() == {"x": 1}
    assert raw.json()["code"] == "200"
    assert raw.operation is READ


async def test_raw_response_on_the_asyncio_default_transport() -> None:
    async with (
        serve() as server,
        AsyncTopview(api_key="k", uid="u", base_url=server.url) as client,
    ):
        raw = await client.request(READ, result_type=dict, raw=True)
        plain = await client.request(READ, result_type=dict)
    assert raw.status_code == 200
    assert raw.headers["content-type"] == "application/json"
    assert raw.request_id is None  # the loopback server sends none
    assert raw.parse() == plain == {"ok": 1}


async def test_an_error_reply_still_raises_in_raw_mode() -> None:
    recorder = Recorder(code("5003"))
    async with make_client(recorder, retry=None) as client:
        with pytest.raises(ServerBusyError):
            await client.request(READ, result_type=dict, raw=True)


async def test_user_operation_through_request() -> None:
    recorder = Recorder(ok([1, 2]))
    mine = Operation("listMine", "GET", "/v9/mine", "read", "custom")
    async with make_client(recorder) as client:
        values = await client.request(mine, result_type=list[int], query={"n": 2})
    assert values == [1, 2]
    assert recorder.requests[0].url.path == "/v9/mine"
