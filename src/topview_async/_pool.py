"""The aiohttp connection pool the SDK sends through, without httpx.

:class:`AiohttpPool` holds one ``aiohttp.ClientSession`` with the ``max_connections`` slots, the
proxies, TLS and the four timeouts, and sends the SDK's own Topview calls
(:meth:`AiohttpPool.send_bytes`). :class:`~topview_async._transport.AiohttpTransport` adds
httpx's transport interface on top of it (downloads, uploads, users' ``httpx.AsyncClient``).

It is a module of its own so that a client's first call imports neither httpx nor the
transport module: httpx (which also imports ``click`` and ``rich`` when they are installed)
costs about half of what aiohttp's own import does, and the direct path needs none of it.
httpx is imported only when something fails: errors are reported as httpx exceptions, mapped
by :func:`topview_async._aiohttp_errors.map_aiohttp_exception`.

Timeouts are httpx's four, meaning what httpx says they mean: ``connect`` bounds getting a
connection and ``read`` the wait for the response once the request is on its way (through
httpx: aiohttp's ``sock_connect`` and ``sock_read``; on the direct path: deadlines on one
shared timer, the read deadline started when the connection is ready, see :class:`_Connector`),
``pool`` bounds the wait for one of the ``max_connections`` slots (the one
place that limit is enforced; aiohttp's connector is unlimited), and ``write``, which aiohttp
lacks, is a deadline re-armed for every chunk of the body while aiohttp writes it, so an
upload to a server that stopped reading fails with ``WriteTimeout`` instead of hanging.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import ssl as ssl_module
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, NoReturn

import aiohttp
from yarl import URL

from ._aiohttp_errors import _WriteTimedOut
from ._aiohttp_internals import disable_connection_retry
from ._config import DEFAULT_MAX_CONNECTIONS
from ._deadlines import Deadline, Deadlines
from ._exceptions import ClientClosedError, ConfigurationError, WrongEventLoopError
from ._network import ProxyRoutes, ProxyTypes, ssl_context
from ._slots import Slots

__all__ = ["AiohttpPool"]

AIOHTTP_ERRORS = (aiohttp.ClientError, OSError, asyncio.TimeoutError)
# Bodies up to this size are handed to aiohttp whole: they fit the socket buffers, so writing
# them cannot stall. Larger ones are written chunk by chunk under the write timeout.
WRITE_CHUNK_SIZE = 64 * 1024


def _raise_mapped(
    exc: BaseException | None,
    method: str,
    url: str,
    headers: Mapping[str, str],
    content: bytes | None,
) -> NoReturn:
    """Raise the httpx exception for a failed direct call (httpx imported only now)."""
    import httpx

    from ._aiohttp_errors import map_aiohttp_exception

    request = httpx.Request(method, url, headers=headers, content=content)
    if exc is None:
        raise httpx.PoolTimeout("no free connection slot", request=request)
    raise map_aiohttp_exception(exc, request) from exc


class _ReadTimedOut(asyncio.TimeoutError):
    """A direct call's response was not complete within its read deadline."""


class _PendingDeadlines:
    """A direct call's ``connect`` and ``read`` deadlines, on the pool's shared timer."""

    __slots__ = ("connect", "deadline", "deadlines", "read")

    def __init__(self, deadlines: Deadlines, connect: float | None, read: float | None) -> None:
        self.deadlines = deadlines
        self.connect = connect
        self.read = read
        self.deadline: Deadline | None = None
        """The read deadline, once the connection is ready."""


_PENDING: contextvars.ContextVar[_PendingDeadlines | None] = contextvars.ContextVar(
    "topview_pending_deadlines", default=None
)
"""The deadlines of the direct call running in this task, for :class:`_Connector`."""


class _Connector(aiohttp.TCPConnector):
    """aiohttp's connector, timing a direct call's connect and starting its read deadline.

    ``connect`` runs in the task of the request it connects (aiohttp awaits it from
    ``ClientSession.request``), so the call's deadlines are found in the task's context.
    Getting a connection (DNS, TCP, TLS, proxy; nothing for a kept-alive one) is bounded by
    ``connect``; from then on, as in httpx, ``read`` bounds the wait for the response.
    Both run on the pool's one shared timer (:mod:`._deadlines`).
    """

    async def connect(self, *args: Any, **kwargs: Any) -> aiohttp.connector.Connection:
        pending = _PENDING.get()
        if pending is None:  # a request through httpx: aiohttp's own timeouts apply
            return await super().connect(*args, **kwargs)
        deadlines = pending.deadlines
        entry = None if pending.connect is None else deadlines.enter(pending.connect)
        try:
            connection = await super().connect(*args, **kwargs)
        except BaseException as exc:
            if entry is not None:
                deadlines.leave(entry)
                if isinstance(exc, asyncio.CancelledError) and deadlines.expired(entry):
                    raise aiohttp.ConnectionTimeoutError(
                        f"no connection within {pending.connect}s"
                    ) from None
            raise
        # One entry for both phases: the connect deadline becomes the read deadline.
        if pending.read is None:
            if entry is not None:
                deadlines.leave(entry)
        elif entry is None:
            pending.deadline = deadlines.enter(pending.read)
        else:
            deadlines.restart(entry, pending.read)
            pending.deadline = entry
        return connection


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
                for start in range(0, len(view), WRITE_CHUNK_SIZE):
                    self.arm()
                    yield view[start : start + WRITE_CHUNK_SIZE]
                    self.disarm()
            else:
                async for chunk in body:
                    self.arm()
                    yield chunk
                    self.disarm()  # reading the source is not writing: not timed
        finally:
            self.disarm()


class AiohttpPool:
    """One aiohttp connection pool of ``max_connections`` connections (see the module doc).

    ``ssl``: an ``SSLContext`` (or a function that makes one, called at the first https
    request), or ``True``/``False`` for httpx's default context (certifi) or none. ``proxy``
    and ``trust_env`` (the ``*_PROXY``/``NO_PROXY`` variables) choose proxies as
    ``httpx.AsyncClient`` does; the environment is ignored unless ``trust_env=True``.
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
            raise ConfigurationError(f"max_connections must be at least 1, got {max_connections}")
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
        self._deadlines = Deadlines()

    def _ensure_session(self) -> tuple[aiohttp.ClientSession, Slots]:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise WrongEventLoopError(
                "AiohttpTransport needs an asyncio event loop; use httpx.AsyncHTTPTransport on trio"
            ) from None
        if self._closed:
            raise ClientClosedError("AiohttpTransport is closed")
        if self._session is None or self._slots is None:
            connector = _Connector(
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
            # drops; retries belong to the SDK's one retry loop (no public switch exists).
            disable_connection_retry(self._session)
            self._slots = Slots(self._max_connections)
            self._loop = loop
        elif self._loop is not loop:
            raise WrongEventLoopError("AiohttpTransport was opened in a different event loop")
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
        *,
        sock_read: bool = True,
    ) -> aiohttp.ClientResponse:
        """``session.request`` with the proxy for ``url`` and the write timeout on ``body``.

        ``sock_read=False``: the caller bounds the read itself (``send_bytes``' deadline).
        """
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
        timeout = self._client_timeout(timeouts, sock_read=sock_read)
        write = timeouts.get("write")
        if (
            write is None
            or body is None
            or (isinstance(body, bytes) and len(body) <= WRITE_CHUNK_SIZE)
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
        mapping as ``AiohttpTransport.handle_async_request``, without building ``httpx.Request``/
        ``httpx.Response`` and streaming the body through httpx (which costs more CPU than
        aiohttp itself). ``url`` must be fully percent-encoded; ``timeouts`` is
        ``httpx.Timeout.as_dict()``.
        """
        session, slots = self._ensure_session()
        if not await slots.acquire(timeouts.get("pool")):
            _raise_mapped(None, method, url, headers, content)
        self._refuse_if_closed(slots)
        if content is not None and len(content) > WRITE_CHUNK_SIZE:
            # Written in chunks under the write timeout: aiohttp needs the length said.
            headers = {**headers, "Content-Length": str(len(content))}
        # The connect and read timeouts as deadlines on one shared timer instead of aiohttp's
        # sock_read timers (see _deadlines.py). As in httpx, ``read`` bounds the wait for the
        # response once the connection is ready and the request on its way; getting the
        # connection is bounded by ``connect`` (both in _Connector.connect).
        read = timeouts.get("read")
        connect = timeouts.get("connect")
        pending = token = None
        if read is not None or connect is not None:
            pending = _PendingDeadlines(self._deadlines, connect, read)
            token = _PENDING.set(pending)
        try:
            try:
                response = await self._send(
                    session,
                    method,
                    URL(url, encoded=True),
                    headers,
                    content,
                    timeouts,
                    sock_read=read is None,
                )
                try:
                    body = await response.read()
                finally:
                    response.release()
            except asyncio.CancelledError:
                deadline = None if pending is None else pending.deadline
                if deadline is None or not self._deadlines.expired(deadline):
                    raise
                raise _ReadTimedOut(f"no complete response within {read}s") from None
        except AIOHTTP_ERRORS as exc:
            _raise_mapped(exc, method, url, headers, content)
        finally:
            if pending is not None:
                _PENDING.reset(token)  # type: ignore[arg-type]
                if pending.deadline is not None:
                    self._deadlines.leave(pending.deadline)
            slots.release()
        response_headers = response.headers
        if "Content-Encoding" in response_headers:
            # Rare for Topview's small JSON: let httpx decode exactly as it would have.
            import httpx

            body = httpx.Response(
                response.status,
                headers=list(response.raw_headers),
                content=body,
                request=httpx.Request(method, url, headers=headers, content=content),
            ).content
        return response.status, response_headers.get("Retry-After"), body

    def _refuse_if_closed(self, slots: Slots) -> None:
        """After waiting for a slot: a pool closed meanwhile sends nothing (its session is gone)."""
        if self._closed:
            slots.release()
            raise ClientClosedError("the client was closed while this request waited to be sent")

    def _client_timeout(
        self, timeouts: Mapping[str, float | None], *, sock_read: bool = True
    ) -> aiohttp.ClientTimeout:
        key = (timeouts.get("connect"), timeouts.get("read") if sock_read else None)
        timeout = self._timeouts.get(key)
        if timeout is None:
            timeout = aiohttp.ClientTimeout(
                total=None, connect=None, sock_connect=key[0], sock_read=key[1]
            )
            self._timeouts[key] = timeout
        return timeout

    async def aclose(self) -> None:
        self._closed = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()
