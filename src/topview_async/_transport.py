"""The default HTTP transport: httpx's interface on top of an aiohttp connection pool.

httpx's own pool degrades badly with many concurrent requests, aiohttp's does not; so the
SDK keeps ``httpx.Request``/``httpx.Response`` as its interface (users can still inject any
httpx transport) and sends through one ``aiohttp.ClientSession``.

The exception mapping is the point of this module. Retrying a paid submit is only safe when
the request provably never reached Topview, so failures are mapped by *when* they happened:

=========================================  ==========================  ======================
aiohttp failure                            httpx exception             request reached server?
=========================================  ==========================  ======================
no free slot within the pool timeout       ``PoolTimeout``             no
``ConnectionTimeoutError``                 ``ConnectTimeout``          no
``ClientConnectorError`` (DNS, refused,    ``ConnectError``            no
TLS handshake, proxy connect)
``ClientHttpProxyError``                   ``ProxyError``              no
a body chunk not written within ``write``  ``WriteTimeout``            maybe
``SocketTimeoutError`` / other timeouts    ``ReadTimeout``             maybe
``ServerDisconnectedError``, invalid HTTP  ``RemoteProtocolError``     maybe
``ClientOSError``, ``ClientPayloadError``  ``ReadError``               maybe
and any other aiohttp error
=========================================  ==========================  ======================

(The httpx-aiohttp package maps every ``ClientConnectionError``, including a server that
dropped the connection after reading the request, to ``ConnectTimeout``; that would turn a
lost response into a silent second submit, which is why this transport exists.)

:class:`AsyncTopview` sends its own Topview API calls through :meth:`AiohttpTransport.send_bytes`
instead of ``httpx.AsyncClient.send``: the same pool, slots, timeouts and exception mapping,
without httpx's request/response objects and client machinery, which cost more CPU per call
than aiohttp itself. Downloads, uploads and user-given transports go through httpx as usual.

Timeouts are httpx's four: ``connect`` becomes aiohttp's ``sock_connect``, ``read`` its
``sock_read``, ``pool`` bounds the wait for one of the ``max_connections`` slots (the one
place that limit is enforced; aiohttp's connector is unlimited), and ``write``, which aiohttp
lacks, is a deadline re-armed for every chunk of the body while aiohttp writes it, so an
upload to a server that stopped reading fails with ``WriteTimeout`` instead of hanging.

Proxies and TLS come from :mod:`._network`, decided as httpx decides them. The session is
created lazily inside the running asyncio loop and belongs to it. Under trio (no asyncio
loop) the client uses httpx's own transport instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import ssl as ssl_module
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping
from typing import Any

import aiohttp
import httpx
from yarl import URL

from ._config import DEFAULT_MAX_CONNECTIONS
from ._network import ProxyRoutes, ProxyTypes, ssl_context
from ._slots import Slots

__all__ = ["AiohttpTransport"]

_CHUNK_SIZE = 1024 * 1024  # aiohttp buffers up to twice this per response body
_AIOHTTP_ERRORS = (aiohttp.ClientError, OSError, asyncio.TimeoutError)
# httpx sets these itself; aiohttp must frame the body on its own (Content-Length is kept,
# so a streamed upload with an explicit length is not sent chunked, which S3 rejects).
_DROPPED_REQUEST_HEADERS = frozenset({b"transfer-encoding"})
# Bodies up to this size are handed to aiohttp whole: they fit the socket buffers, so writing
# them cannot stall. Larger ones are written chunk by chunk under the write timeout.
_WRITE_CHUNK_SIZE = 64 * 1024


def _connect_message(exc: aiohttp.ClientConnectorError) -> str:
    """``cannot connect to host:port: reason``, without aiohttp's ``ssl:default`` noise."""
    cause: object = getattr(exc, "certificate_error", None) or exc.os_error
    if isinstance(cause, ssl_module.SSLError | ssl_module.CertificateError):
        reason = str(cause)
    elif isinstance(cause, socket.gaierror):  # DNS: negative EAI_* codes, own messages
        reason = cause.strerror or str(cause)
    elif isinstance(cause, OSError) and cause.errno:
        reason = os.strerror(cause.errno)  # asyncio's text repeats the address
    else:
        reason = str(cause) or type(cause).__name__
    where = "proxy" if isinstance(exc, aiohttp.ClientProxyConnectionError) else ""
    return f"cannot connect to {where + ' ' if where else ''}{exc.host}:{exc.port}: {reason}"


def map_aiohttp_exception(exc: BaseException, request: httpx.Request) -> httpx.TransportError:
    """The httpx exception that says precisely how far ``request`` got (see the module table)."""
    message = str(exc) or type(exc).__name__
    mapped: httpx.TransportError
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        mapped = httpx.ConnectTimeout(message, request=request)
    elif isinstance(exc, aiohttp.ClientConnectorError):
        mapped = httpx.ConnectError(_connect_message(exc), request=request)
    elif isinstance(exc, _WriteTimedOut):
        mapped = httpx.WriteTimeout(message, request=request)
    elif isinstance(exc, aiohttp.ClientHttpProxyError):
        mapped = httpx.ProxyError(message, request=request)
    elif isinstance(exc, asyncio.TimeoutError):
        mapped = httpx.ReadTimeout(message, request=request)
    elif isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientResponseError):
        mapped = httpx.RemoteProtocolError(message, request=request)
    elif isinstance(exc, aiohttp.InvalidURL):
        mapped = httpx.UnsupportedProtocol(message, request=request)
    else:
        # Anything else may have happened after the request was written: say so.
        mapped = httpx.ReadError(message, request=request)
    return mapped


class _ResponseStream(httpx.AsyncByteStream):
    """The body of an aiohttp response, read chunk by chunk (constant memory for downloads)."""

    def __init__(
        self,
        response: aiohttp.ClientResponse,
        request: httpx.Request,
        release_slot: Callable[[], None],
    ) -> None:
        self._response = response
        self._request = request
        self._release_slot = release_slot
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        content = self._response.content
        try:
            # Let aiohttp read ahead while the consumer is busy (a download writing to disk)
            # instead of pausing the socket at 128 KiB: the receiving then overlaps the disk
            # writes, and the memory stays bounded. (Public since aiohttp 3.14: older ones
            # keep their default read-ahead.)
            raise_limits = getattr(content, "set_read_chunk_size", None)
            if raise_limits is not None:
                raise_limits(_CHUNK_SIZE)
            # Each buffer as received: no fixed-size slicing or joining (iter_chunked and
            # iter_any copy), and one trip through httpx's stream layers per socket read.
            async for chunk, _ in content.iter_chunks():
                if chunk:
                    yield chunk
        except _AIOHTTP_ERRORS as exc:
            # A broken connection's error is raised before the bytes aiohttp had already
            # buffered (up to 2 MiB); they are good body bytes, so hand them out first and a
            # download resumes right after them instead of fetching them again.
            leftover = self._buffered_bytes(content)
            if leftover:
                yield leftover
            raise map_aiohttp_exception(exc, self._request) from exc

    @staticmethod
    def _buffered_bytes(content: aiohttp.StreamReader) -> bytes:
        """What ``content`` received but did not hand out (its public reads raise instead)."""
        read_buffered = getattr(content, "_read_nowait", None)
        if not getattr(content, "_buffer", None) or read_buffered is None:
            return b""  # nothing buffered, or an aiohttp without these internals
        try:
            return bytes(read_buffered(-1))
        except Exception:
            return b""

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        # release() keeps the connection for reuse when the body was read, closes it otherwise.
        self._response.release()
        self._release_slot()


def _http_version(response: aiohttp.ClientResponse) -> bytes:
    version = response.version
    return b"HTTP/1.1" if version is None else f"HTTP/{version.major}.{version.minor}".encode()


def _failed_request(
    method: str, url: str, headers: Mapping[str, str], content: bytes | None
) -> httpx.Request:
    """The ``httpx.Request`` an error of :meth:`AiohttpTransport.send_bytes` refers to."""
    return httpx.Request(method, url, headers=headers, content=content)


async def _iterate(stream: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    async for chunk in stream:
        yield chunk


class _WriteTimedOut(asyncio.TimeoutError):
    """aiohttp spent longer than the write timeout on one chunk of a request body."""


class _WriteDeadline:
    """The write timeout aiohttp lacks: armed while aiohttp writes a chunk, off in between.

    aiohttp writes the body in a task of its own while the request awaits the response; the
    deadline is the request's ``asyncio.timeout`` scope, re-armed from that writer task.
    """

    __slots__ = ("_scope", "_seconds")

    def __init__(self, scope: asyncio.Timeout, seconds: float) -> None:
        self._scope = scope
        self._seconds = seconds

    def arm(self) -> None:
        self._set(asyncio.get_running_loop().time() + self._seconds)

    def disarm(self) -> None:
        self._set(None)

    def _set(self, when: float | None) -> None:
        # RuntimeError: the request already ended (answered early, or timed out).
        with contextlib.suppress(RuntimeError):
            self._scope.reschedule(when)

    async def chunks(self, body: bytes | AsyncIterator[bytes]) -> AsyncIterator[bytes | memoryview]:
        try:
            if isinstance(body, bytes):
                view = memoryview(body)
                for start in range(0, len(view), _WRITE_CHUNK_SIZE):
                    self.arm()
                    yield view[start : start + _WRITE_CHUNK_SIZE]
                    self.disarm()
            else:
                async for chunk in body:
                    self.arm()
                    yield chunk
                    self.disarm()  # reading the source is not writing: not timed
        finally:
            self.disarm()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx transport over one aiohttp connection pool of ``max_connections`` connections.

    Use it like any httpx transport; :class:`AsyncTopview` creates one by default::

        httpx.AsyncClient(transport=AiohttpTransport(max_connections=32))

    ``ssl``: an ``SSLContext`` (or a function that makes one, called at the first https
    request), or ``True``/``False`` for httpx's default context (certifi) or none. ``proxy``
    and ``trust_env`` (the ``*_PROXY``/``NO_PROXY`` variables) choose proxies as
    ``httpx.AsyncClient`` does; like httpx's own transport, the environment is ignored unless
    ``trust_env=True``.
    """

    def __init__(
        self,
        *,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        ssl: ssl_module.SSLContext | bool | Callable[[], ssl_module.SSLContext] = True,
        keepalive_expiry: float = 15.0,
        trust_env: bool = False,
        proxy: ProxyTypes | None = None,
    ) -> None:
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self._max_connections = max_connections
        self._ssl = ssl
        self._context: ssl_module.SSLContext | None = None
        self._keepalive_expiry = keepalive_expiry
        self._trust_env = trust_env
        self._proxies = ProxyRoutes(proxy, trust_env=trust_env)
        self._has_proxies = bool(self._proxies)
        self._session: aiohttp.ClientSession | None = None
        self._slots: Slots | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._timeouts: dict[tuple[float | None, float | None], aiohttp.ClientTimeout] = {}

    def _ensure_session(self) -> tuple[aiohttp.ClientSession, Slots]:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                "AiohttpTransport needs an asyncio event loop; use httpx.AsyncHTTPTransport on trio"
            ) from None
        if self._closed:
            raise RuntimeError("AiohttpTransport is closed")
        if self._session is None or self._slots is None:
            connector = aiohttp.TCPConnector(
                # The slots below are the one limit (with the pool timeout); a second, silent
                # queue inside aiohttp would only hide waits from it.
                limit=0,
                limit_per_host=0,
                # The context is given per https request (_ssl_context): building one loads
                # the CA bundle (~50 ms), which plain-HTTP use never needs.
                ssl=False,
                keepalive_timeout=self._keepalive_expiry,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                # httpx decodes Content-Encoding itself; decoding twice would corrupt bodies.
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=aiohttp.ClientTimeout(total=None),
                # Proxies from the environment are chosen by _network, as httpx chooses them.
                trust_env=False,
                skip_auto_headers=("User-Agent",),
            )
            # aiohttp silently resends idempotent requests once when a kept-alive connection
            # drops; retries belong to the request pipeline alone, where they are counted,
            # logged and follow the RetryPolicy. (No public switch exists; the attribute is
            # one of ClientSession's declared ones.)
            if hasattr(self._session, "_retry_connection"):
                self._session._retry_connection = False
            self._slots = Slots(self._max_connections)
            self._loop = loop
        elif self._loop is not loop:
            raise RuntimeError("AiohttpTransport was opened in a different event loop")
        return self._session, self._slots

    def _ssl_context(self) -> ssl_module.SSLContext:
        context = self._context
        if context is None:
            ssl = self._ssl
            if isinstance(ssl, ssl_module.SSLContext):
                context = ssl
            elif isinstance(ssl, bool):
                context = ssl_context(ssl, trust_env=self._trust_env)
            else:
                context = ssl()
            self._context = context
        return context

    async def _send(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: URL,
        headers: Any,
        body: bytes | AsyncIterator[bytes] | None,
        timeouts: Mapping[str, float | None],
    ) -> aiohttp.ClientResponse:
        """``session.request`` with the proxy for ``url`` and the write timeout on ``body``."""
        options: dict[str, Any] = {}
        if url.scheme == "https":
            options["ssl"] = self._ssl_context()
        if self._has_proxies:
            route = self._proxies.for_origin(url.scheme, url.host or "", url.explicit_port)
            if route is not None:
                options["proxy"] = route.url
                if route.headers and url.scheme == "https":
                    options["proxy_headers"] = route.headers  # sent with the CONNECT
                elif route.headers:
                    # A plain-HTTP request goes to the proxy itself, which reads and drops
                    # these (aiohttp would send proxy_headers only with a CONNECT).
                    items = headers.items() if isinstance(headers, Mapping) else headers
                    headers = [*items, *route.headers.items()]
        timeout = self._client_timeout(timeouts)
        write = timeouts.get("write")
        if (
            write is None
            or body is None
            or (isinstance(body, bytes) and len(body) <= _WRITE_CHUNK_SIZE)
        ):
            return await session.request(
                method,
                url,
                headers=headers,
                data=body,
                allow_redirects=False,
                timeout=timeout,
                **options,
            )
        scope = asyncio.timeout(None)
        try:
            async with scope:
                return await session.request(
                    method,
                    url,
                    headers=headers,
                    data=_WriteDeadline(scope, write).chunks(body),
                    allow_redirects=False,
                    timeout=timeout,
                    **options,
                )
        except TimeoutError:
            if scope.expired():
                raise _WriteTimedOut(f"writing the request body took over {write}s") from None
            raise

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session, slots = self._ensure_session()
        timeouts = request.extensions.get("timeout", {})
        if not await slots.acquire(timeouts.get("pool")):
            raise httpx.PoolTimeout("no free connection slot", request=request)
        try:
            response = await self._send(
                session,
                request.method,
                URL(str(request.url), encoded=True),  # presigned URLs must not be re-encoded
                [  # raw: as the caller spelt them (multi_items() would lowercase the names)
                    (name.decode("latin-1"), value.decode("latin-1"))
                    for name, value in request.headers.raw
                    if name.lower() not in _DROPPED_REQUEST_HEADERS
                ],
                self._body(request),
                timeouts,
            )
        except _AIOHTTP_ERRORS as exc:
            slots.release()
            raise map_aiohttp_exception(exc, request) from exc
        except BaseException:
            slots.release()
            raise
        return httpx.Response(
            status_code=response.status,
            headers=list(response.raw_headers),
            stream=_ResponseStream(response, request, slots.release),
            request=request,
            extensions={"http_version": _http_version(response)},
        )

    async def send_bytes(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        content: bytes | None,
        timeouts: Mapping[str, float | None],
    ) -> tuple[int, str | None, bytes]:
        """Send one small request and return ``(status, Retry-After, decoded body)``.

        The SDK's own path for Topview API calls: same slots, timeouts, proxies and exception
        mapping as :meth:`handle_async_request`, without building ``httpx.Request``/
        ``httpx.Response`` and streaming the body through httpx (which costs more CPU than
        aiohttp itself). ``url`` must be fully percent-encoded; ``timeouts`` is
        ``httpx.Timeout.as_dict()``.
        """
        session, slots = self._ensure_session()
        if not await slots.acquire(timeouts.get("pool")):
            request = _failed_request(method, url, headers, content)
            raise httpx.PoolTimeout("no free connection slot", request=request)
        if content is not None and len(content) > _WRITE_CHUNK_SIZE:
            # Written in chunks under the write timeout: aiohttp needs the length said.
            headers = {**headers, "Content-Length": str(len(content))}
        try:
            response = await self._send(
                session, method, URL(url, encoded=True), headers, content, timeouts
            )
            try:
                body = await response.read()
            finally:
                response.release()
        except _AIOHTTP_ERRORS as exc:
            request = _failed_request(method, url, headers, content)
            raise map_aiohttp_exception(exc, request) from exc
        finally:
            slots.release()
        response_headers = response.headers
        if "Content-Encoding" in response_headers:
            # Rare for Topview's small JSON: let httpx decode exactly as it would have.
            body = httpx.Response(
                response.status,
                headers=list(response.raw_headers),
                content=body,
                request=_failed_request(method, url, headers, content),
            ).content
        return response.status, response_headers.get("Retry-After"), body

    def _client_timeout(self, timeouts: Mapping[str, float | None]) -> aiohttp.ClientTimeout:
        key = (timeouts.get("connect"), timeouts.get("read"))
        timeout = self._timeouts.get(key)
        if timeout is None:
            timeout = aiohttp.ClientTimeout(
                total=None, connect=None, sock_connect=key[0], sock_read=key[1]
            )
            self._timeouts[key] = timeout
        return timeout

    @staticmethod
    def _body(request: httpx.Request) -> bytes | AsyncIterator[bytes] | None:
        try:
            content = request.content
        except httpx.RequestNotRead:
            if not isinstance(request.stream, AsyncIterable):
                raise TypeError("AiohttpTransport needs an async request body") from None
            return _iterate(request.stream)
        return content or None

    async def aclose(self) -> None:
        self._closed = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()
