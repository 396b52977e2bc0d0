"""Issue 21.5: every user-caused error is a TopviewError, messages say where a value comes from,
``message`` is Topview's own, and a closed client leaves nothing open.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from pathlib import Path

import aiohttp
import httpx
import pytest

from topview_async import (
    APIConnectionError,
    AsyncTopview,
    AuthenticationError,
    ClientClosedError,
    ConfigurationError,
    HTTPStatusError,
    InvalidArgumentTypeError,
    InvalidInputError,
    PollPolicy,
    ResponseValidationError,
    RetryPolicy,
    TopviewError,
)
from topview_async._network import ProxyRoutes
from topview_async._pool import AiohttpPool
from topview_async.lib.downloads import download
from topview_async.lib.pagination import paginate
from topview_async.lib.polling import PollScheduler
from topview_async.lib.uploads import upload_many
from topview_async.testing import set_testing
from topview_async.webhooks import build_acknowledgement

from .helpers import API_KEY, READ, SUBMIT, UID, Recorder, call, code, make_client
from .loopback import refused_url

pytestmark = pytest.mark.anyio

CONFIGURATION: list[tuple[str, Callable[[], object], type[Exception]]] = [
    ("retry attempts", lambda: RetryPolicy(attempts=0), ValueError),
    ("retry waits", lambda: RetryPolicy(wait_initial=-1), ValueError),
    ("retry jitter", lambda: RetryPolicy(wait_jitter=2.0), ValueError),
    ("retry base", lambda: RetryPolicy(wait_exp_base=0.5), ValueError),
    ("retry timeout", lambda: RetryPolicy(timeout=0), ValueError),
    ("poll waits", lambda: PollPolicy(wait_min=5, wait_max=1), ValueError),
    ("poll timeout", lambda: PollPolicy(timeout=-1), ValueError),
    ("scheduler in flight", lambda: PollScheduler(max_in_flight=0), ValueError),
    ("scheduler rate", lambda: PollScheduler(rate=0), ValueError),
    ("testing attempts", lambda: set_testing(True, attempts=0), ValueError),
    ("pool connections", lambda: AiohttpPool(max_connections=0), ValueError),
    ("proxy scheme", lambda: ProxyRoutes("ftp://p"), ValueError),
    (
        "refused reply",
        lambda: build_acknowledgement("u", "uid", accepted=False, code="200"),
        ValueError,
    ),
]


@pytest.mark.parametrize(
    ("name", "make", "builtin"), CONFIGURATION, ids=[row[0] for row in CONFIGURATION]
)
def test_bad_settings_raise_topview_errors_that_keep_their_builtin_base(
    name: str, make: Callable[[], object], builtin: type[Exception]
) -> None:
    with pytest.raises(TopviewError) as caught:
        make()
    assert isinstance(caught.value, builtin)


async def test_bad_transfer_arguments_raise_topview_errors(tmp_path: Path) -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(InvalidInputError, match="chunk_size"):
            await download(http, "https://cdn.test/a", tmp_path / "a", chunk_size=0)
        with pytest.raises(InvalidInputError, match="timeout"):
            await download(http, "https://cdn.test/a", tmp_path / "a", timeout=-1)
        with pytest.raises(ConfigurationError, match="storage HTTP client"):
            await download(
                httpx.AsyncClient(headers={"Authorization": "Bearer x"}),
                "https://cdn.test/a",
                tmp_path / "a",
            )
        with pytest.raises(InvalidArgumentTypeError) as caught:
            await upload_many(None, http, "one-path.png")  # type: ignore[arg-type]
        assert isinstance(caught.value, TypeError)


async def test_a_page_without_items_is_a_response_error() -> None:
    async def fetch(page_no: int) -> dict[str, object]:
        return {"data": "oops"}

    with pytest.raises(ResponseValidationError):
        async for _ in paginate(fetch, item_type=int):
            pass


@pytest.mark.parametrize(
    ("argument", "variable"), [("api_key", "TOPVIEW_API_KEY"), ("uid", "TOPVIEW_UID")]
)
def test_a_blank_credential_names_its_argument_and_variable(argument: str, variable: str) -> None:
    credentials = {"api_key": API_KEY, "uid": UID} | {argument: "  "}
    with pytest.raises(ConfigurationError) as caught:
        AsyncTopview(api_key=credentials["api_key"], uid=credentials["uid"])
    assert f"{argument}=" in str(caught.value)
    assert variable in str(caught.value)


def test_a_bad_base_url_names_its_variable() -> None:
    with pytest.raises(ConfigurationError, match="TOPVIEW_BASE_URL"):
        AsyncTopview(api_key=API_KEY, uid=UID, base_url="ftp://nope")


async def test_message_is_topviews_own_and_the_hint_is_in_str() -> None:
    recorder = Recorder(code("401", "Unauthorized, need to login again"))
    async with make_client(recorder) as client:
        with pytest.raises(AuthenticationError) as caught:
            await call(client)
    assert caught.value.message == "Unauthorized, need to login again"
    assert caught.value.hint is not None
    assert "TOPVIEW_UID" in caught.value.hint
    assert str(caught.value).endswith(caught.value.hint)
    async with make_client(Recorder(httpx.Response(401, text="denied"))) as client:
        with pytest.raises(HTTPStatusError) as status:
            await call(client)
    assert "TOPVIEW_API_KEY" not in status.value.message
    assert "TOPVIEW_API_KEY" in str(status.value)


def _open_sessions() -> list[aiohttp.ClientSession]:
    gc.collect()
    return [
        item
        for item in gc.get_objects()
        if isinstance(item, aiohttp.ClientSession) and not item.closed
    ]


async def test_a_client_closed_with_calls_in_flight_leaves_no_session_open() -> None:
    """200 submits to an unreachable host; the first error leaves ``async with`` while the
    others wait to retry: none of them may open a new session on the closed client."""
    before = len(_open_sessions())
    closed = asyncio.Event()
    backoffs = 0

    async def backoff(seconds: float) -> None:
        nonlocal backoffs
        backoffs += 1
        if backoffs > 1:  # the first call retries at once and fails; the rest wait for close
            await closed.wait()

    client = AsyncTopview(
        api_key=API_KEY, uid=UID, base_url=refused_url(), retry=RetryPolicy(attempts=2)
    )
    tasks = [asyncio.ensure_future(call(client, SUBMIT, body={"n": n})) for n in range(200)]

    async def submit_all() -> None:
        try:
            async with client:
                await asyncio.gather(*tasks)
        finally:
            closed.set()
            await asyncio.wait(tasks)

    with set_testing(True, sleep=backoff), pytest.raises(APIConnectionError):
        await submit_all()
    errors = [task.exception() for task in tasks]
    assert all(isinstance(error, APIConnectionError | ClientClosedError) for error in errors)
    assert sum(isinstance(error, ClientClosedError) for error in errors) == 199
    assert len(_open_sessions()) == before
    with pytest.raises(ClientClosedError):
        await call(client, READ)
    assert len(_open_sessions()) == before
