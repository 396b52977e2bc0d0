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

aiohttp has no write timeout; ``read`` becomes aiohttp's ``sock_read`` and ``connect`` its
``sock_connect``. The session is created lazily inside the running asyncio loop and belongs
to it. Under trio (no asyncio loop) the client uses httpx's own transport instead.
"""

from __future__ import annotations

import asyncio
import ssl as ssl_module
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping

import aiohttp
import httpx
from yarl import URL

from ._config import DEFAULT_MAX_CONNECTIONS

__all__ = ["AiohttpTransport"]

_CHUNK_SIZE = 1024 * 1024  # aiohttp buffers up to twice this per response body
_AIOHTTP_ERRORS = (aiohttp.ClientError, OSError, asyncio.TimeoutError)
# httpx sets these itself; aiohttp must frame the body on its own (Content-Length is kept,
# so a streamed upload with an explicit length is not sent chunked, which S3 rejects).
_DROPPED_REQUEST_HEADERS = frozenset({"transfer-encoding"})


def map_aiohttp_exception(exc: BaseException, request: httpx.Request) -> httpx.TransportError:
    """The httpx exception that says precisely how far ``request`` got (see the module table)."""
    message = str(exc) or type(exc).__name__
    mapped: httpx.TransportError
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        mapped = httpx.ConnectTimeout(message, request=request)
    elif isinstance(exc, aiohttp.ClientConnectorError):
        mapped = httpx.ConnectError(message, request=request)
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


async def _acquire(slots: asyncio.Semaphore, pool_timeout: float | None) -> bool:
    """Take a connection slot; ``False`` if none was free within ``pool_timeout``."""
    if not slots.locked():
        await slots.acquire()  # free: returns at once, no timeout machinery needed
        return True
    try:
        async with asyncio.timeout(pool_timeout):
            await slots.acquire()
    except TimeoutError:
        return False
    return True


def _failed_request(
    method: str, url: str, headers: Mapping[str, str], content: bytes | None
) -> httpx.Request:
    """The ``httpx.Request`` an error of :meth:`AiohttpTransport.send_bytes` refers to."""
    return httpx.Request(method, url, headers=headers, content=content)


async def _iterate(stream: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    async for chunk in stream:
        yield chunk


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx transport over one aiohttp connection pool of ``max_connections`` connections.

    Use it like any httpx transport; :class:`AsyncTopview` creates one by default::

        httpx.AsyncClient(transport=AiohttpTransport(max_connections=32))
    """

    def __init__(
        self,
        *,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        ssl: ssl_module.SSLContext | bool = True,
        keepalive_expiry: float = 15.0,
        trust_env: bool = False,
    ) -> None:
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self._max_connections = max_connections
        self._ssl = ssl
        self._keepalive_expiry = keepalive_expiry
        self._trust_env = trust_env
        self._session: aiohttp.ClientSession | None = None
        self._slots: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._timeouts: dict[tuple[float | None, float | None], aiohttp.ClientTimeout] = {}

    def _ensure_session(self) -> tuple[aiohttp.ClientSession, asyncio.Semaphore]:
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
                limit=self._max_connections,
                limit_per_host=0,
                ssl=self._ssl,
                keepalive_timeout=self._keepalive_expiry,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                # httpx decodes Content-Encoding itself; decoding twice would corrupt bodies.
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=aiohttp.ClientTimeout(total=None),
                trust_env=self._trust_env,
                skip_auto_headers=("User-Agent",),
            )
            # aiohttp silently resends idempotent requests once when a kept-alive connection
            # drops; retries belong to the request pipeline alone, where they are counted,
            # logged and follow the RetryPolicy. (No public switch exists; the attribute is
            # one of ClientSession's declared ones.)
            if hasattr(self._session, "_retry_connection"):
                self._session._retry_connection = False
            self._slots = asyncio.Semaphore(self._max_connections)
            self._loop = loop
        elif self._loop is not loop:
            raise RuntimeError("AiohttpTransport was opened in a different event loop")
        return self._session, self._slots

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session, slots = self._ensure_session()
        timeouts = request.extensions.get("timeout", {})
        if not await _acquire(slots, timeouts.get("pool")):
            raise httpx.PoolTimeout("no free connection slot", request=request)
        try:
            response = await session.request(
                request.method,
                URL(str(request.url), encoded=True),  # presigned URLs must not be re-encoded
                headers=[
                    (name, value)
                    for name, value in request.headers.multi_items()
                    if name.lower() not in _DROPPED_REQUEST_HEADERS
                ],
                data=self._body(request),
                allow_redirects=False,
                timeout=self._client_timeout(timeouts),
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

        The SDK's own path for Topview API calls: same slots, timeouts and exception mapping
        as :meth:`handle_async_request`, without building ``httpx.Request``/``httpx.Response``
        and streaming the body through httpx (which costs more CPU than aiohttp itself).
        ``url`` must be fully percent-encoded; ``timeouts`` is ``httpx.Timeout.as_dict()``.
        """
        session, slots = self._ensure_session()
        if not await _acquire(slots, timeouts.get("pool")):
            request = _failed_request(method, url, headers, content)
            raise httpx.PoolTimeout("no free connection slot", request=request)
        try:
            response = await session.request(
                method,
                URL(url, encoded=True),
                headers=headers,
                data=content,
                allow_redirects=False,
                timeout=self._client_timeout(timeouts),
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
