"""How :class:`AsyncTopview` talks HTTP: its connections, their limit, and the request headers.

A client has two HTTP clients, both made in the event loop that first uses them, both with
the client's network settings (``proxy``, ``trust_env``, ``verify``, ``cert``; see
:mod:`._network`):

* the Topview client (``_connection``): the SDK's aiohttp-backed transport (or, on trio,
  httpx's own), or a user's ``transport`` or ``http_client``;
* the storage client (``_storage_http``): presigned uploads and result downloads. It never
  carries Topview headers.

``max_connections`` is enforced in exactly one place per configuration: by the SDK's own
transport (aiohttp slots, or httpx's pool on trio), each with the pool timeout; for a user's
``transport`` or ``http_client``, whose pool the SDK cannot size, by :class:`InFlightLimit`.

:meth:`HTTPConnections._request_headers` builds the headers of every Topview call, for both
send paths (the direct aiohttp one and ``httpx.AsyncClient.send``), so they send the same
bytes. Credentials (``Authorization``, ``Topview-Uid``) go only to URLs under the base URL.
"""

from __future__ import annotations

import asyncio
import platform
from functools import cached_property
from typing import TYPE_CHECKING, Any, Final

from ._network import CertTypes, ProxyTypes, VerifyTypes, ssl_context
from ._redact import mask_secret
from ._version import __version__

# httpx is imported where an httpx client is made: the direct aiohttp path of Topview calls
# needs none (see _pool.py), and a client's first call should not pay for it.
if TYPE_CHECKING:
    import ssl
    from types import TracebackType

    import httpx

    from ._pool import AiohttpPool
    from ._transport import AiohttpTransport

__all__ = [
    "ACCEPT_ENCODING",
    "DEFAULT_PORTS",
    "USER_AGENT",
    "Credentials",
    "HTTPConnections",
    "InFlightLimit",
]

USER_AGENT: Final = f"topview-async/{__version__} python/{platform.python_version()}"
DEFAULT_PORTS: Final = {"http": 80, "https": 443}
ACCEPT_ENCODING: Final = "gzip, deflate"
"""What every Topview call accepts. Fixed, not httpx's default (which adds ``br``/``zstd`` when
those packages happen to be installed), so both send paths and every install send the same."""


class Credentials:
    """The API key and uid, kept out of every repr (including ``vars(client)``)."""

    __slots__ = ("api_key", "header_sets", "uid")

    def __init__(self, api_key: str, uid: str) -> None:
        self.api_key = api_key
        self.uid = uid
        # The prepared header dicts of direct calls hold the credentials too, so they live here.
        self.header_sets: dict[bool, dict[str, str]] = {}

    @property
    def secrets(self) -> tuple[str, ...]:
        """Both values, for scrubbing them out of text that may echo a request."""
        return (self.api_key, self.uid)

    def __repr__(self) -> str:
        return f"Credentials(api_key={mask_secret(self.api_key)!r}, uid={mask_secret(self.uid)!r})"


def _shared_transport(transport: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
    """Lends a user's transport to the storage client without letting it close the transport."""
    import httpx

    class SharedTransport(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            return await transport.handle_async_request(request)

        async def aclose(self) -> None:
            pass  # the Topview HTTP client closes the shared transport once

    return SharedTransport()


def _on_asyncio() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class InFlightLimit:
    """``max_connections`` for a user's transport or ``http_client``, with the pool timeout.

    Waiting longer than ``pool_timeout`` for a slot raises ``httpx.PoolTimeout`` (the
    pipeline's :class:`APITimeoutError`), as the SDK's own transports do.
    """

    def __init__(self, limit: int, pool_timeout: float | None) -> None:
        import anyio

        self._limiter = anyio.CapacityLimiter(limit)
        self._pool_timeout = pool_timeout

    async def __aenter__(self) -> None:
        import anyio

        with anyio.move_on_after(self._pool_timeout):
            await self._limiter.acquire()
            return
        import httpx

        raise httpx.PoolTimeout(f"no free connection slot within {self._pool_timeout}s")

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._limiter.release()


class HTTPConnections:
    """The HTTP half of :class:`AsyncTopview`, which inherits it.

    It reads the configuration below, which ``AsyncTopview.__init__`` sets, and creates the
    connections lazily; ``AsyncTopview.aclose`` closes them.
    """

    max_connections: int
    _base_prefix: str
    _credentials_scope: str  # the base URL plus "/": where credentials may be sent
    _credentials: Credentials
    _timeouts: dict[str, float | None] | None  # httpx.Timeout.as_dict(); None: the client's
    _user_http_client: httpx.AsyncClient | None
    _user_transport: httpx.AsyncBaseTransport | None
    _verify: VerifyTypes
    _cert: CertTypes | None
    _proxy: ProxyTypes | None
    _trust_env: bool
    _ssl: ssl.SSLContext | None
    _http: httpx.AsyncClient | None
    _storage: httpx.AsyncClient | None
    _limiter: InFlightLimit | None
    _direct: AiohttpPool | None

    def _check_usable(self) -> None:
        """Refuse a closed client or a second event loop (``AsyncTopview`` defines it)."""
        raise NotImplementedError

    @cached_property
    def _timeout(self) -> httpx.Timeout | None:
        """The timeouts as an ``httpx.Timeout`` for the httpx paths (``None``: the injected
        ``http_client``'s own)."""
        if self._timeouts is None:
            return None
        import httpx

        return httpx.Timeout(**self._timeouts)

    def _direct_pool(self) -> AiohttpPool | None:
        """The SDK's own aiohttp pool, when Topview calls go straight to it (no httpx).

        ``None`` for a user's ``transport`` or ``http_client`` and under trio: those calls go
        through :meth:`_connection`.
        """
        if self._direct is None:
            # After aclose() too: a call still retrying must not open a new pool.
            self._check_usable()
        direct_wanted = self._http is None and not self._user_limits()
        if self._direct is None and direct_wanted and _on_asyncio():
            from ._pool import AiohttpPool

            self._direct = AiohttpPool(**self._pool_options())
        return self._direct

    def _connection(self) -> tuple[httpx.AsyncClient, InFlightLimit | None]:
        """The Topview HTTP client and, for a user's transport, the in-flight limit."""
        import httpx

        self._check_usable()
        if self._http is None:
            if self._user_transport is not None:
                self._http = httpx.AsyncClient(
                    transport=self._user_transport, timeout=self._timeout, follow_redirects=False
                )
            elif _on_asyncio():
                # The pipeline sends Topview calls straight to this pool (httpx's client
                # machinery costs more CPU per call than aiohttp does); a user's transport or
                # http_client is always called through httpx. Asked for the httpx client too,
                # the pool made first serves both, so its slots stay the one limit.
                from ._transport import PoolTransport

                if self._direct is None:
                    self._direct = self._aiohttp_transport()
                direct = self._direct
                self._http = httpx.AsyncClient(
                    transport=direct
                    if isinstance(direct, httpx.AsyncBaseTransport)
                    else PoolTransport(direct),
                    timeout=self._timeout,
                    follow_redirects=False,
                )
            else:
                self._http = self._httpx_client(follow_redirects=False)
            if self._http is not self._user_http_client:
                # _request_headers says every header; httpx's defaults would add to them.
                self._http.headers.clear()
        if self._limiter is None and self._direct is None and self._user_limits():
            # Not given with an http_client: that client's own pool timeout applies.
            pool = (self._timeout or self._http.timeout).pool
            self._limiter = InFlightLimit(self.max_connections, pool)
        return self._http, self._limiter

    def _user_limits(self) -> bool:
        return self._user_transport is not None or self._user_http_client is not None

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl_context(self._verify, self._cert, trust_env=self._trust_env)
        return self._ssl

    def _pool_options(self) -> dict[str, Any]:
        return {
            "max_connections": self.max_connections,
            "ssl": self._ssl_context,  # built at the first https request, shared by both
            "trust_env": self._trust_env,
            "proxy": self._proxy,
        }

    def _aiohttp_transport(self) -> AiohttpTransport:
        from ._transport import AiohttpTransport

        return AiohttpTransport(**self._pool_options())

    def _httpx_client(self, *, follow_redirects: bool) -> httpx.AsyncClient:
        """httpx's own client with the same settings (trio, where aiohttp cannot run)."""
        import httpx

        return httpx.AsyncClient(
            verify=self._ssl_context(),
            proxy=self._proxy,
            trust_env=self._trust_env,
            limits=httpx.Limits(
                max_connections=self.max_connections,
                max_keepalive_connections=self.max_connections,
            ),
            timeout=self._timeout,
            follow_redirects=follow_redirects,
        )

    @property
    def _storage_http(self) -> httpx.AsyncClient:
        """A credential-free HTTP client for presigned uploads and downloads (storage, CDN).

        It never carries Topview headers. It reuses an injected ``http_client`` or ``transport``
        and otherwise has its own connection pool with the client's network settings.
        """
        import httpx

        self._check_usable()
        if self._storage is None:
            if self._user_http_client is not None:
                self._storage = self._user_http_client
            elif self._user_transport is not None:
                self._storage = httpx.AsyncClient(
                    transport=_shared_transport(self._user_transport),
                    timeout=self._timeout,
                    follow_redirects=True,
                )
            elif _on_asyncio():
                self._storage = httpx.AsyncClient(
                    transport=self._aiohttp_transport(),
                    timeout=self._timeout,
                    follow_redirects=True,
                )
            else:
                self._storage = self._httpx_client(follow_redirects=True)
            if self._storage is not self._user_http_client:
                self._storage.headers["User-Agent"] = USER_AGENT
        return self._storage

    def _url_for(self, path: str) -> httpx.URL:
        """The absolute URL of an operation path (``/v1/...``) under the base URL."""
        import httpx

        return httpx.URL(self._base_prefix + path)

    def _request_headers(self, url: str, *, has_body: bool) -> dict[str, str]:
        """Every header of a Topview call, in order: the one place they are built.

        Both send paths send exactly these (aiohttp or httpx add only ``Host`` and
        ``Content-Length``). Credentials only for URLs under the base URL. Prepared once per
        client; callers must not change the dict.
        """
        if not url.startswith(self._credentials_scope):
            return _headers(None, has_body=has_body)
        headers = self._credentials.header_sets.get(has_body)
        if headers is None:
            headers = _headers(self._credentials, has_body=has_body)
            self._credentials.header_sets[has_body] = headers
        return headers


def _headers(credentials: Credentials | None, *, has_body: bool) -> dict[str, str]:
    headers = {
        "User-Agent": USER_AGENT,
        "Accept": "application/json",
        "Accept-Encoding": ACCEPT_ENCODING,
    }
    if credentials is not None:
        headers["Authorization"] = f"Bearer {credentials.api_key}"
        headers["Topview-Uid"] = credentials.uid
    if has_body:
        headers["Content-Type"] = "application/json"
    return headers
