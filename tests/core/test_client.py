"""Client construction, lifecycle, request building and result decoding."""

from __future__ import annotations

import asyncio
import enum
import json
from typing import Any
from urllib.parse import urlencode

import anyio
import httpx
import pytest
from pydantic import Field

from topview_async._client import AsyncTopview
from topview_async._config import DEFAULT_BASE_URL
from topview_async._exceptions import (
    APIError,
    ClientClosedError,
    ConfigurationError,
    InvalidInputError,
    ResponseValidationError,
    WrongEventLoopError,
)
from topview_async._http import USER_AGENT
from topview_async._models import TopviewModel
from topview_async._operation import Operation
from topview_async._transport import AiohttpTransport
from topview_async._version import __version__
from topview_async._wire import query_string

from .helpers import API_KEY, BASE_URL, SUBMIT, UID, Recorder, call, make_client, ok

pytestmark = pytest.mark.anyio


class Item(TopviewModel):
    item_id: str = Field(alias="itemId")
    count: int | None = None


class Style(enum.Enum):
    BOLD = "bold"


class Caption(TopviewModel):
    caption_style: Style | None = Field(default=None, alias="captionStyle")


class SubmitBody(TopviewModel):
    product_name: str = Field(alias="productName")
    duration: int = Field(gt=0)
    caption: Caption | None = None


# -- configuration -------------------------------------------------------------------------


async def test_environment_is_read_at_construction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOPVIEW_API_KEY", API_KEY)
    monkeypatch.setenv("TOPVIEW_UID", UID)
    monkeypatch.setenv("TOPVIEW_BASE_URL", "http://localhost:9999/")
    recorder = Recorder(ok(True))
    async with AsyncTopview(transport=httpx.MockTransport(recorder)) as client:
        assert await call(client, result_type=bool) is True
    request = recorder.requests[0]
    assert str(request.url) == "http://localhost:9999/v1/thing"
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.headers["Topview-Uid"] == UID


def test_arguments_beat_environment_and_default_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOPVIEW_API_KEY", "from-env")
    monkeypatch.setenv("TOPVIEW_UID", "uid-from-env")
    client = AsyncTopview(api_key=API_KEY)
    assert client._credentials.api_key == API_KEY
    assert client._credentials.uid == "uid-from-env"
    assert str(client.base_url) == DEFAULT_BASE_URL


def test_missing_uid_names_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="TOPVIEW_UID"):
        AsyncTopview(api_key=API_KEY)


@pytest.mark.parametrize("base_url", ["ftp://example.com", "not a url"])
def test_bad_base_url_is_rejected(base_url: str) -> None:
    with pytest.raises(ConfigurationError, match="base_url"):
        AsyncTopview(api_key=API_KEY, uid=UID, base_url=base_url)


def test_http_client_and_transport_are_exclusive() -> None:
    with pytest.raises(ConfigurationError):
        AsyncTopview(
            api_key=API_KEY,
            uid=UID,
            http_client=httpx.AsyncClient(),
            transport=httpx.MockTransport(Recorder(ok())),
        )


def test_repr_masks_credentials() -> None:
    client = AsyncTopview(api_key=API_KEY, uid=UID)
    text = f"{client!r} {vars(client)!r}"
    assert API_KEY not in text
    assert UID not in text
    assert "sk-...TKEY" in repr(client)


# -- lifecycle -----------------------------------------------------------------------------


async def test_closed_client_refuses_calls() -> None:
    client = make_client(Recorder(ok()))
    async with client:
        await call(client)
    assert client.is_closed
    await client.aclose()  # idempotent
    with pytest.raises(ClientClosedError):
        await call(client)
    with pytest.raises(ClientClosedError):
        async with client:
            pass


async def test_injected_http_client_is_used_and_left_open() -> None:
    recorder = Recorder(ok({"itemId": "a"}))
    http_client = httpx.AsyncClient(transport=httpx.MockTransport(recorder))
    async with AsyncTopview(
        api_key=API_KEY, uid=UID, base_url=BASE_URL, http_client=http_client
    ) as client:
        assert await call(client, result_type=Item) == Item(itemId="a")
        assert client._storage_http is http_client
    assert not http_client.is_closed
    assert recorder.requests[0].headers["Topview-Uid"] == UID
    await http_client.aclose()


async def test_injected_transport_is_closed_once_and_shared_with_storage() -> None:
    closed: list[int] = []

    class Closing(httpx.MockTransport):
        async def aclose(self) -> None:
            closed.append(1)

    recorder = Recorder(ok())
    client = AsyncTopview(api_key=API_KEY, uid=UID, base_url=BASE_URL, transport=Closing(recorder))
    async with client:
        await call(client)
        await client._storage_http.get("https://bucket.s3.test/object")
    assert closed == [1]
    assert len(recorder.requests) == 2


def _use_in_new_loop(client: AsyncTopview) -> Any:
    return asyncio.run(call(client))


def test_wrong_event_loop_raises_instead_of_hanging() -> None:
    client = make_client(Recorder(ok("first")))
    assert _use_in_new_loop(client) == "first"
    with pytest.raises(WrongEventLoopError, match="different event loop"):
        _use_in_new_loop(client)
    assert isinstance(WrongEventLoopError("x"), RuntimeError)


async def test_default_transport_is_aiohttp_on_asyncio() -> None:
    async with AsyncTopview(api_key=API_KEY, uid=UID, max_connections=7) as client:
        http, limiter = client._connection()
        assert isinstance(http._transport, AiohttpTransport)
        # Topview calls go straight to the transport the SDK made, whose slots are the one cap.
        assert client._direct is http._transport
        assert limiter is None
        assert http._transport._max_connections == 7
        assert isinstance(client._storage_http._transport, AiohttpTransport)
        assert client._storage_http._transport is not http._transport


def test_default_transport_falls_back_to_httpx_on_trio() -> None:
    async def main() -> None:
        async with AsyncTopview(api_key=API_KEY, uid=UID) as client:
            http, _ = client._connection()
            assert isinstance(http._transport, httpx.AsyncHTTPTransport)

    anyio.run(main, backend="trio")


# -- request building ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "pairs",
    [
        [("taskId", "176bd1a50ba8437db36af5eb8fd9e5ca")],
        [("a b", "ü/ö&=+~%41"), ("k", ""), ("n", "²"), ("x", "-._~"), ("y", "A9")],
    ],
)
def test_query_strings_match_what_httpx_sends(pairs: list[tuple[str, str]]) -> None:
    # httpx encodes params with urllib.parse.urlencode; the direct path must send the same.
    assert query_string(pairs) == urlencode(pairs)
    assert (
        str(httpx.URL("https://x.test/p", params=pairs)) == f"https://x.test/p?{urlencode(pairs)}"
    )


async def test_headers_on_topview_requests() -> None:
    recorder = Recorder(ok())
    async with make_client(recorder) as client:
        await call(client)
    headers = recorder.requests[0].headers
    assert headers["Authorization"] == f"Bearer {API_KEY}"
    assert headers["Topview-Uid"] == UID
    assert headers["User-Agent"] == USER_AGENT
    assert f"topview-async/{__version__}" in USER_AGENT


async def test_credentials_never_go_to_another_host() -> None:
    recorder = Recorder(ok())
    async with make_client(recorder) as client:
        foreign = Operation(
            operation_id="elsewhere",
            method="GET",
            path="/v1/x",
            kind="read",
            resource="x",
        )
        # An origin that differs only by port or scheme is another origin too.
        client._base_prefix = "https://api.topview.test:8443"
        headers = client._request_headers(str(client._url_for(foreign.path)), has_body=False)
        assert "Authorization" not in headers
        assert "Topview-Uid" not in headers
        client._base_prefix = BASE_URL
        await client._storage_http.put(
            "https://bucket.s3.test/up?X-Amz-Signature=abc", content=b"x"
        )
        await client._storage_http.get("https://cdn.test/video.mp4")
    for sent in recorder.requests:
        assert "Authorization" not in sent.headers
        assert "Topview-Uid" not in sent.headers
        assert API_KEY not in str(sent.headers)
        assert UID not in str(sent.headers)


async def test_redirects_are_not_followed_for_topview_calls() -> None:
    recorder = Recorder(httpx.Response(302, headers={"Location": "https://evil.test/steal"}))
    async with make_client(recorder) as client:
        with pytest.raises(Exception, match="HTTP 302"):
            await call(client)
    assert len(recorder.requests) == 1


async def test_query_encoding() -> None:
    recorder = Recorder(ok())
    async with make_client(recorder) as client:
        await call(
            client,
            query={
                "taskId": "t1",
                "needCloudFrontUrl": True,
                "x": False,
                "gone": None,
                "ids": [1, 2],
            },
        )
    assert recorder.requests[0].url.query == b"taskId=t1&needCloudFrontUrl=true&x=false&ids=1&ids=2"


async def test_body_is_validated_and_sent_by_wire_names() -> None:
    recorder = Recorder(ok({"taskId": "t"}))
    async with make_client(recorder) as client:
        await call(
            client,
            SUBMIT,
            body={
                "productName": "shoe",
                "duration": 15,
                "caption": Caption(captionStyle=Style.BOLD),
                "noticeUrl": None,
            },
            body_model=SubmitBody,
        )
    assert recorder.bodies() == [
        {"productName": "shoe", "duration": 15, "caption": {"captionStyle": "bold"}}
    ]
    assert recorder.requests[0].headers["Content-Type"] == "application/json"


async def test_invalid_body_raises_before_anything_is_sent() -> None:
    recorder = Recorder(ok())
    async with make_client(recorder) as client:
        with pytest.raises(InvalidInputError) as caught:
            await call(client, SUBMIT, body={"duration": -1}, body_model=SubmitBody)
    assert recorder.requests == []
    message = str(caught.value)
    assert "productName" in message
    assert "duration" in message
    assert isinstance(caught.value, ValueError)


# -- results -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("result_type", "result", "expected"),
    [
        (Item, {"itemId": "a", "extra": 1}, Item(itemId="a", extra=1)),
        (list[Item], [{"itemId": "a"}], [Item(itemId="a")]),
        (bool, True, True),
        (Item | list[Item], [{"itemId": "b"}], [Item(itemId="b")]),
        (Item | None, None, None),
    ],
)
async def test_results_are_validated_into_the_result_type(
    result_type: Any, result: Any, expected: Any
) -> None:
    async with make_client(Recorder(ok(result))) as client:
        assert await call(client, result_type=result_type) == expected
        assert result_type in client._pipeline._adapters


@pytest.mark.parametrize("success_code", ["200", 200, " 200 "])
async def test_success_code_spellings_all_return_the_result(success_code: object) -> None:
    answer = httpx.Response(200, json={"code": success_code, "result": {"itemId": "a"}})
    async with make_client(Recorder(answer)) as client:
        assert await call(client, result_type=Item) == Item(itemId="a")


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"code": True, "result": {"itemId": "a"}}, ResponseValidationError),  # not a code
        ([{"code": "200", "result": {"itemId": "a"}}], ResponseValidationError),
        ({"code": 200.0, "result": {"itemId": "a"}}, APIError),  # "200.0" is not "200"
    ],
)
async def test_near_envelopes_are_not_taken_for_success(body: object, error: type) -> None:
    async with make_client(Recorder(httpx.Response(200, json=body))) as client:
        with pytest.raises(error):
            await call(client, result_type=Item)


async def test_result_mismatch_raises_with_raw_body() -> None:
    response = ok({"count": "many"})
    async with make_client(Recorder(response)) as client:
        with pytest.raises(ResponseValidationError) as caught:
            await call(client, result_type=Item)
    assert json.loads(caught.value.body) == json.loads(response.content)
    assert "itemId" in str(caught.value)


async def test_lenient_mode_returns_the_declared_model(caplog: pytest.LogCaptureFixture) -> None:
    # More cases in test_lenient.py.
    async with make_client(Recorder(ok({"count": "many"})), strict_responses=False) as client:
        item = await call(client, result_type=Item)
    assert type(item) is Item
    assert (item.item_id, item.count) == (None, "many")
    assert "does not match the spec" in caplog.text


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])  # two limiter kinds
async def test_in_flight_requests_are_capped_by_max_connections() -> None:
    in_flight = 0
    peak = 0
    release = anyio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        if in_flight >= 3:
            release.set()
        await release.wait()
        in_flight -= 1
        return ok()

    client = AsyncTopview(
        api_key=API_KEY,
        uid=UID,
        base_url=BASE_URL,
        max_connections=3,
        transport=httpx.MockTransport(handler),
    )
    async with client, anyio.create_task_group() as group:
        for _ in range(10):
            group.start_soon(call, client)
    assert peak == 3
