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

The pool itself (session, slots, timeouts, proxies, TLS) is :class:`~._pool.AiohttpPool`, which
this transport extends. :class:`AsyncTopview` sends its own Topview API calls straight to the
pool (:meth:`~._pool.AiohttpPool.send_bytes`) instead of ``httpx.AsyncClient.send``: the same
slots, timeouts and exception mapping, without httpx's request/response objects and client
machinery (which cost more CPU per call than aiohttp itself), and without importing httpx at
all until something fails. Downloads, uploads and user-given transports go through httpx.

Proxies and TLS come from :mod:`._network`, decided as httpx decides them. The session is
created lazily inside the running asyncio loop and belongs to it. Under trio (no asyncio
loop) the client uses httpx's own transport instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable

import aiohttp
import httpx
from yarl import URL

from ._aiohttp_errors import map_aiohttp_exception
from ._aiohttp_internals import buffered_bytes
from ._exceptions import InvalidArgumentTypeError
from ._pool import AIOHTTP_ERRORS, AiohttpPool

__all__ = ["AiohttpTransport", "PoolTransport", "map_aiohttp_exception"]

_CHUNK_SIZE = 1024 * 1024  # aiohttp buffers up to twice this per response body
# httpx sets these itself; aiohttp must frame the body on its own (Content-Length is kept,
# so a streamed upload with an explicit length is not sent chunked, which S3 rejects).
_DROPPED_REQUEST_HEADERS = frozenset({b"transfer-encoding"})


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
        except AIOHTTP_ERRORS as exc:
            # A broken connection's error is raised before the bytes aiohttp had already
            # buffered (up to 2 MiB); they are good body bytes, so hand them out first and a
            # download resumes right after them instead of fetching them again.
            leftover = buffered_bytes(content)
            if leftover:
                yield leftover
            raise map_aiohttp_exception(exc, self._request) from exc

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


async def _iterate(stream: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    async for chunk in stream:
        yield chunk


async def _handle(pool: AiohttpPool, request: httpx.Request) -> httpx.Response:
    session, slots = pool._ensure_session()
    timeouts = request.extensions.get("timeout", {})
    if not await slots.acquire(timeouts.get("pool")):
        raise httpx.PoolTimeout("no free connection slot", request=request)
    pool._refuse_if_closed(slots)
    try:
        response = await pool._send(
            session,
            request.method,
            URL(str(request.url), encoded=True),  # presigned URLs must not be re-encoded
            [  # raw: as the caller spelt them (multi_items() would lowercase the names)
                (name.decode("latin-1"), value.decode("latin-1"))
                for name, value in request.headers.raw
                if name.lower() not in _DROPPED_REQUEST_HEADERS
            ],
            _body(request),
            timeouts,
        )
    except AIOHTTP_ERRORS as exc:
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


def _body(request: httpx.Request) -> bytes | AsyncIterator[bytes] | None:
    try:
        content = request.content
    except httpx.RequestNotRead:
        if not isinstance(request.stream, AsyncIterable):
            raise InvalidArgumentTypeError("AiohttpTransport needs an async request body") from None
        return _iterate(request.stream)
    return content or None


class AiohttpTransport(AiohttpPool, httpx.AsyncBaseTransport):
    """An httpx transport over one aiohttp connection pool of ``max_connections`` connections.

    Use it like any httpx transport; :class:`AsyncTopview` creates one by default::

        httpx.AsyncClient(transport=AiohttpTransport(max_connections=32))

    ``ssl``: an ``SSLContext`` (or a function that makes one, called at the first https
    request), or ``True``/``False`` for httpx's default context (certifi) or none. ``proxy``
    and ``trust_env`` (the ``*_PROXY``/``NO_PROXY`` variables) choose proxies as
    ``httpx.AsyncClient`` does; like httpx's own transport, the environment is ignored unless
    ``trust_env=True``.
    """

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await _handle(self, request)


class PoolTransport(httpx.AsyncBaseTransport):
    """httpx's interface over a pool that already exists (the client's direct one).

    The client sends its Topview calls straight to its :class:`AiohttpPool`; when something
    asks for the httpx client of that pool as well, this shares the pool (and so its slots,
    the one ``max_connections`` limit) instead of opening a second one.
    """

    def __init__(self, pool: AiohttpPool) -> None:
        self.pool = pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await _handle(self.pool, request)

    async def aclose(self) -> None:
        await self.pool.aclose()
