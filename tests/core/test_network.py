"""Network settings on every path, against loopback servers: proxies, TLS, every timeout."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import anyio
import httpx
import pytest
import trustme

from topview_async import ConfigurationError
from topview_async._client import AsyncTopview
from topview_async._config import RetryPolicy
from topview_async._exceptions import (
    APIConnectionError,
    APITimeoutError,
    SubmitOutcomeUnknownError,
)
from topview_async._generated import operations
from topview_async._operation import Operation
from topview_async._transport import AiohttpTransport, map_aiohttp_exception

from .helpers import API_KEY, READ, SUBMIT, UID, call
from .loopback import refused_url, serve

pytestmark = pytest.mark.anyio

RETRY = RetryPolicy(attempts=3, wait_jitter=False)
GUARD = 20  # seconds: a bug that hangs fails the test instead of hanging the suite


def client_for(url: str, **kwargs: object) -> AsyncTopview:
    kwargs.setdefault("retry", RETRY)
    return AsyncTopview(api_key=API_KEY, uid=UID, base_url=url, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


# -- a forwarding proxy of our own -----------------------------------------------------------


@dataclass
class Proxy:
    """Forwards absolute-form HTTP requests (``GET http://host:port/path``), counting them."""

    targets: list[str] = field(default_factory=list)
    authorizations: list[str | None] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                request_line, *lines = head.decode("latin-1").split("\r\n")
                method, target, version = request_line.split(" ", 2)
                url = httpx.URL(target)  # absolute form: the proxy is told where to go
                self.targets.append(target)
                headers = [line for line in lines if line]
                length = 0
                kept = []
                authorization = None
                for line in headers:
                    name, _, value = line.partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                    if name.lower() == "proxy-authorization":
                        authorization = value.strip()
                        continue
                    kept.append(line)
                self.authorizations.append(authorization)
                body = await reader.readexactly(length)
                up_reader, up_writer = await asyncio.open_connection(url.host, url.port)
                origin_form = url.raw_path.decode("ascii")
                up_writer.write(
                    f"{method} {origin_form} {version}\r\n".encode()
                    + "".join(f"{line}\r\n" for line in kept).encode("latin-1")
                    + b"\r\n"
                    + body
                )
                answer_head = await up_reader.readuntil(b"\r\n\r\n")
                answer_length = 0
                for line in answer_head.decode("latin-1").split("\r\n"):
                    name, _, value = line.partition(":")
                    if name.lower() == "content-length":
                        answer_length = int(value)
                answer_body = await up_reader.readexactly(answer_length)
                up_writer.close()
                writer.write(answer_head + answer_body)
                await writer.drain()
        finally:
            writer.close()


@asynccontextmanager
async def forwarding_proxy() -> AsyncIterator[Proxy]:
    proxy = Proxy()
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
    proxy.port = server.sockets[0].getsockname()[1]
    async with server:
        yield proxy
        server.close()


async def _use_every_path(client: AsyncTopview, url: str) -> None:
    assert await call(client, READ) == {"ok": 1}  # the direct send path
    assert await call(client, SUBMIT, body={"a": 1}) == {"ok": 1}
    storage = client._storage_http  # uploads and downloads (through httpx)
    assert (await storage.get(f"{url}/video.mp4")).status_code == 200
    assert (await storage.put(f"{url}/bucket/key", content=b"x" * 10)).status_code == 200


async def test_environment_proxy_serves_api_calls_and_storage(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with serve() as server, forwarding_proxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        async with client_for(server.url) as client:
            await _use_every_path(client, server.url)
        # A user's transport called through httpx, configured the same way.
        async with client_for(server.url, transport=AiohttpTransport(trust_env=True)) as client:
            assert await call(client, READ) == {"ok": 1}
    assert len(proxy.targets) == 5
    assert proxy.targets[0] == f"{server.url}/v1/thing"
    assert len(server.requests) == 5


@contextmanager
def servers_in_a_thread() -> Iterator[tuple[Any, Proxy]]:
    """The loopback server and the proxy on an asyncio loop of their own, for trio clients."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    state: dict[str, Any] = {}

    async def run() -> None:
        async with serve() as server, forwarding_proxy() as proxy:
            state.update(server=server, proxy=proxy, stop=asyncio.Event())
            ready.set()
            await state["stop"].wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(run(),))
    thread.start()
    try:
        assert ready.wait(GUARD)
        yield state["server"], state["proxy"]
    finally:
        if "stop" in state:
            loop.call_soon_threadsafe(state["stop"].set)
        thread.join(GUARD)
        loop.close()


@pytest.mark.parametrize("configured_by", ["environment", "argument"])
def test_trio_uses_the_proxy_on_the_httpx_send_path(
    monkeypatch: pytest.MonkeyPatch, configured_by: str
) -> None:
    with servers_in_a_thread() as (server, proxy):
        kwargs: dict[str, Any] = {}
        if configured_by == "environment":
            monkeypatch.setenv("HTTP_PROXY", proxy.url)
        else:
            kwargs["proxy"] = proxy.url

        async def main() -> None:
            async with client_for(server.url, **kwargs) as client:
                assert client._direct is None
                await _use_every_path(client, server.url)

        anyio.run(main, backend="trio")
    assert len(proxy.targets) == 4
    assert len(server.requests) == 4


async def test_lowercase_and_all_proxy_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    async with serve() as server, forwarding_proxy() as proxy:
        monkeypatch.setenv("all_proxy", proxy.url)
        async with client_for(server.url) as client:
            await call(client, READ)
    assert len(proxy.targets) == 1


async def test_no_proxy_and_trust_env_false_bypass_the_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with serve() as server, forwarding_proxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        async with client_for(server.url, trust_env=False) as client:
            await _use_every_path(client, server.url)
        monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
        async with client_for(server.url) as client:
            await _use_every_path(client, server.url)
    assert proxy.targets == []
    assert len(server.requests) == 8


async def test_proxy_argument_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    async with serve() as server, forwarding_proxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", refused_url())  # would fail if it were used
        async with client_for(
            server.url, proxy=proxy.url.replace("http://", "http://user:secret@")
        ) as client:
            await _use_every_path(client, server.url)
    assert len(proxy.targets) == 4
    assert all(value is not None and value.startswith("Basic ") for value in proxy.authorizations)


async def test_unreachable_proxy_is_a_connect_error_and_a_submit_is_retried(
    sleeps: list[float],
) -> None:
    async with serve() as server, client_for(server.url, proxy=refused_url()) as client:
        with pytest.raises(APIConnectionError) as caught:
            await call(client, SUBMIT, body={})
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert len(sleeps) == 2
    assert server.requests == []


# -- timeouts ------------------------------------------------------------------------------


@asynccontextmanager
async def never_reading_server() -> AsyncIterator[str]:
    """Accepts connections and never reads: a client's writes stall once the buffers fill."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    async with server:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        for writer in held:
            writer.close()
        server.close()


BIG_UPLOAD = b"v" * (32 * 1024 * 1024)  # far beyond the loopback socket buffers


async def test_upload_to_a_server_that_stops_reading_hits_the_write_timeout() -> None:
    timeout = httpx.Timeout(GUARD, write=0.3)
    async with never_reading_server() as url, client_for(url, timeout=timeout) as client:
        with anyio.fail_after(GUARD):
            with pytest.raises(httpx.WriteTimeout):
                await client._storage_http.put(f"{url}/bucket/key", content=BIG_UPLOAD)

            async def streamed() -> AsyncIterator[bytes]:
                for start in range(0, len(BIG_UPLOAD), 1024 * 1024):
                    yield BIG_UPLOAD[start : start + 1024 * 1024]

            with pytest.raises(httpx.WriteTimeout):
                await client._storage_http.put(
                    f"{url}/bucket/key",
                    content=streamed(),
                    headers={"Content-Length": str(len(BIG_UPLOAD))},
                )


async def test_direct_send_path_has_the_write_timeout_too() -> None:
    transport = AiohttpTransport()
    timeouts = httpx.Timeout(GUARD, write=0.3).as_dict()
    async with never_reading_server() as url:
        try:
            with anyio.fail_after(GUARD), pytest.raises(httpx.WriteTimeout):
                await transport.send_bytes("POST", f"{url}/v1/x", {}, BIG_UPLOAD, timeouts)
        finally:
            await transport.aclose()


async def test_no_free_slot_within_the_pool_timeout_is_a_typed_timeout(
    sleeps: list[float],
) -> None:
    timeout = httpx.Timeout(GUARD, pool=0.05)
    async with serve() as server:
        async with client_for(server.url, max_connections=1, timeout=timeout) as client:
            client._connection()
            assert client._direct is not None
            _, slots = client._direct._ensure_session()
            await slots.acquire()  # another call holds the only slot
            with anyio.fail_after(GUARD), pytest.raises(APITimeoutError) as caught:
                await call(client, SUBMIT, body={})
            assert isinstance(caught.value.__cause__, httpx.PoolTimeout)
            slots.release()
            assert await call(client, READ) == {"ok": 1}
        # The same for a user's transport, where the SDK's own limit is the only one.
        async with client_for(
            server.url, max_connections=1, timeout=timeout, transport=AiohttpTransport()
        ) as client:
            _, limiter = client._connection()
            assert limiter is not None
            holder = object()  # another call holds the only slot
            limiter._limiter.acquire_on_behalf_of_nowait(holder)
            with anyio.fail_after(GUARD), pytest.raises(APITimeoutError) as caught:
                await call(client, READ)
            assert isinstance(caught.value.__cause__, httpx.PoolTimeout)
            limiter._limiter.release_on_behalf_of(holder)
    assert len(server.requests) == 1  # nothing waiting for a slot was sent
    assert len(sleeps) == 4  # never sent: retried (two calls, three attempts each)


@contextmanager
def full_backlog() -> Iterator[str]:
    """A listening socket whose accept queue is full: new SYNs are dropped, connect times out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    address = listener.getsockname()
    fillers = []
    try:
        for _ in range(4):  # more than the queue holds (Linux: backlog + 1)
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(address)
            fillers.append(filler)
        yield f"http://{address[0]}:{address[1]}"
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


async def test_connect_timeout_retries_a_submit_but_a_read_timeout_does_not(
    sleeps: list[float],
) -> None:
    with full_backlog() as url:
        async with client_for(url, timeout=httpx.Timeout(GUARD, connect=0.2)) as client:
            with anyio.fail_after(GUARD), pytest.raises(APITimeoutError) as caught:
                await call(client, SUBMIT, body={"productName": "shoe"})
    assert isinstance(caught.value.__cause__, httpx.ConnectTimeout)
    assert len(sleeps) == 2  # three attempts: the request never reached a server
    sleeps.clear()
    async with serve("stall") as server, client_for(server.url, timeout=0.2) as client:
        with anyio.fail_after(GUARD), pytest.raises(SubmitOutcomeUnknownError) as unknown:
            await call(client, SUBMIT, body={"productName": "shoe"})
    assert isinstance(unknown.value.__cause__, APITimeoutError)
    assert isinstance(unknown.value.__cause__.__cause__, httpx.ReadTimeout)
    assert len(server.requests) == 1  # a paid submit is never sent twice
    assert sleeps == []


async def test_connection_refused_message_names_the_address_without_ssl_noise() -> None:
    url = refused_url()
    async with client_for(url, retry=None) as client:
        with pytest.raises(APIConnectionError) as caught:
            await call(client, READ)
    message = str(caught.value)
    address = url.removeprefix("http://")
    assert f"cannot connect to {address}: Connection refused" in message
    assert "ssl" not in message.lower()
    assert "ssl" not in str(caught.value.__cause__).lower()


# -- TLS -----------------------------------------------------------------------------------


@asynccontextmanager
async def https_server(
    ca: trustme.CA, *, client_ca: trustme.CA | None = None
) -> AsyncIterator[tuple[str, list[bytes]]]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    if client_ca is not None:
        client_ca.configure_trust(context)
        context.verify_mode = ssl.CERT_REQUIRED
    requests: list[bytes] = []
    body = b'{"code":"200","message":"Success","result":{"ok":1}}'

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            requests.append(await reader.readuntil(b"\r\n\r\n"))
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=context)
    async with server:
        yield f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}", requests
        server.close()


async def test_verify_takes_a_ca_path_a_context_or_false(tmp_path: Path) -> None:
    ca = trustme.CA()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    context = ssl.create_default_context()
    ca.configure_trust(context)
    async with https_server(ca) as (url, requests):
        for verify in (str(bundle), bundle, context, False):
            async with client_for(url, verify=verify, retry=None) as client:
                assert await call(client, READ) == {"ok": 1}
                response = await client._storage_http.get(f"{url}/video.mp4")
                assert response.status_code == 200
    assert len(requests) == 8


async def test_default_verification_refuses_an_unknown_ca() -> None:
    async with (
        https_server(trustme.CA()) as (url, requests),
        client_for(url, retry=None) as client,
    ):
        with pytest.raises(APIConnectionError) as caught:
            await call(client, READ)
        with pytest.raises(httpx.ConnectError):
            await client._storage_http.get(f"{url}/video.mp4")
    assert "certificate verify failed" in str(caught.value).lower()
    assert requests == []


async def test_client_certificate_is_presented(tmp_path: Path) -> None:
    ca, client_ca = trustme.CA(), trustme.CA()
    identity = client_ca.issue_cert("client@example.test")
    pem = tmp_path / "client.pem"
    identity.private_key_and_cert_chain_pem.write_to_path(str(pem))
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    async with https_server(ca, client_ca=client_ca) as (url, requests):
        async with client_for(url, verify=bundle, cert=str(pem), retry=None) as client:
            assert await call(client, READ) == {"ok": 1}
        async with client_for(url, verify=bundle, retry=None) as client:
            with pytest.raises(APIConnectionError):
                await call(client, READ)
    assert len(requests) == 1


# -- one request pipeline ------------------------------------------------------------------


def _every_operation() -> list[Operation]:
    return [value for value in vars(operations).values() if isinstance(value, Operation)]


async def test_both_send_paths_send_byte_identical_requests_for_every_operation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As if brotli and zstandard were installed: httpx would then advertise br and zstd.
    monkeypatch.setattr(httpx._client, "ACCEPT_ENCODING", "gzip, deflate, br, zstd")
    every = _every_operation()
    assert len(every) >= 28
    raw: dict[str, list[bytes]] = {}
    async with serve() as server:
        for route in ("direct", "through httpx"):
            transport = AiohttpTransport() if route == "through httpx" else None
            async with client_for(server.url, transport=transport) as client:
                client._connection()
                assert (client._direct is not None) == (route == "direct")
                for operation in every:
                    if operation.method == "GET":
                        await call(client, operation, query={"taskId": "a b/ü", "n": 2})
                    else:
                        await call(client, operation, body={"name": "Schuh ü", "skip": None})
            raw[route] = [received.raw for received in server.requests]
            server.requests.clear()
    assert len(raw["direct"]) == len(every)
    for direct, through_httpx in zip(raw["direct"], raw["through httpx"], strict=True):
        assert direct == through_httpx
    assert b"Accept-Encoding: gzip, deflate\r\n" in raw["direct"][0]


# -- configuration -------------------------------------------------------------------------


@pytest.mark.parametrize("argument", ["api_key", "uid"])
@pytest.mark.parametrize("value", ["", "   ", "\t\n"])
def test_blank_credentials_given_as_arguments_are_refused(argument: str, value: str) -> None:
    kwargs = {"api_key": API_KEY, "uid": UID, argument: value}
    with pytest.raises(ConfigurationError, match=argument):
        AsyncTopview(**kwargs)


def test_tls_and_proxy_settings_do_not_mix_with_a_user_http_client() -> None:
    with pytest.raises(ConfigurationError, match="http_client"):
        AsyncTopview(api_key=API_KEY, uid=UID, http_client=httpx.AsyncClient(), verify=False)


def test_dns_failure_message_is_clean_too() -> None:
    # Built by hand: a real lookup would leave the loopback interface.
    key = SimpleNamespace(host="api.topview.test", port=443, ssl=True, is_ssl=True)
    failure = aiohttp.ClientConnectorDNSError(
        key,  # type: ignore[arg-type]
        socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
    )
    mapped = map_aiohttp_exception(failure, httpx.Request("GET", "https://api.topview.test/"))
    assert isinstance(mapped, httpx.ConnectError)
    assert str(mapped) == "cannot connect to api.topview.test:443: Name or service not known"
