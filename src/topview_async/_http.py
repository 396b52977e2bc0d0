"""How :class:`AsyncTopview` talks HTTP: its connections, and which requests carry credentials.

A client has two HTTP clients, both made in the event loop that first uses them:

* the Topview client (``_connection``): the SDK's aiohttp-backed transport (or, on trio,
  httpx's own), a user's ``transport`` or ``http_client``, and the in-flight limiter that
  enforces ``max_connections``;
* the storage client (``_storage_http``): presigned uploads and result downloads. It never
  carries Topview headers.

Credentials (``Authorization``, ``Topview-Uid``) are added per request, and only to the base
URL's origin (scheme, host and port): by ``_build_request`` on the httpx path, and in the
header dicts ``_direct_headers`` prepares once per base URL for the direct aiohttp path.
"""

from __future__ import annotations

import asyncio
import platform
from typing import TYPE_CHECKING, Final

import httpx

from ._redact import mask_secret
from ._version import __version__

if TYPE_CHECKING:
    from collections.abc import Sequence

    import anyio

    from ._transport import AiohttpTransport

__all__ = ["DEFAULT_PORTS", "USER_AGENT", "Credentials", "HTTPConnections"]

USER_AGENT: Final = f"topview-async/{__version__} python/{platform.python_version()}"
DEFAULT_PORTS: Final = {"http": 80, "https": 443}


class Credentials:
    """The API key and uid, kept out of every repr (including ``vars(client)``)."""

    __slots__ = ("api_key", "header_sets", "uid")

    def __init__(self, api_key: str, uid: str) -> None:
        self.api_key = api_key
        self.uid = uid
        # The prepared header dicts of direct calls hold the credentials too, so they live here.
        self.header_sets: dict[tuple[str, bool], dict[str, str]] = {}

    @property
    def secrets(self) -> tuple[str, ...]:
        """Both values, for scrubbing them out of text that may echo a request."""
        return (self.api_key, self.uid)

    def __repr__(self) -> str:
        return f"Credentials(api_key={mask_secret(self.api_key)!r}, uid={mask_secret(self.uid)!r})"


class _SharedTransport(httpx.AsyncBaseTransport):
    """Lends a user's transport to the storage client without letting it close the transport."""

    def __init__(self, transport: httpx.AsyncBaseTransport) -> None:
        self._transport = transport

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._transport.handle_async_request(request)

    async def aclose(self) -> None:
        pass  # the Topview HTTP client closes the shared transport once


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port or DEFAULT_PORTS.get(url.scheme))


def _on_asyncio() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class HTTPConnections:
    """The HTTP half of :class:`AsyncTopview`, which inherits it.

    It reads the configuration below, which ``AsyncTopview.__init__`` sets, and creates the
    connections lazily; ``AsyncTopview.aclose`` closes them.
    """

    base_url: httpx.URL
    max_connections: int
    _base_prefix: str
    _credentials: Credentials
    _timeout: httpx.Timeout | None
    _user_http_client: httpx.AsyncClient | None
    _user_transport: httpx.AsyncBaseTransport | None
    _http: httpx.AsyncClient | None
    _storage: httpx.AsyncClient | None
    _limiter: asyncio.Semaphore | anyio.CapacityLimiter | None
    _direct: AiohttpTransport | None

    def _check_usable(self) -> None:
        """Refuse a closed client or a second event loop (``AsyncTopview`` defines it)."""
        raise NotImplementedError

    def _connection(
        self,
    ) -> tuple[httpx.AsyncClient, asyncio.Semaphore | anyio.CapacityLimiter]:
        """The Topview HTTP client and the in-flight limiter, created in the running loop."""
        self._check_usable()
        if self._limiter is None:
            if _on_asyncio():
                # The same cap as anyio's CapacityLimiter at a tenth of its cost per call.
                self._limiter = asyncio.Semaphore(self.max_connections)
            else:
                import anyio

                self._limiter = anyio.CapacityLimiter(self.max_connections)
        if self._http is None:
            transport = self._user_transport or self._default_transport()
            self._http = httpx.AsyncClient(
                transport=transport, timeout=self._timeout, follow_redirects=False
            )
            # The pipeline sends Topview calls straight to the aiohttp transport the SDK made
            # itself (httpx's client machinery costs more CPU per call than aiohttp does); a
            # user's transport or http_client is always called through httpx.
            if self._user_transport is None:
                from ._transport import AiohttpTransport

                if isinstance(transport, AiohttpTransport):
                    self._direct = transport
        return self._http, self._limiter

    def _default_transport(self) -> httpx.AsyncBaseTransport:
        if _on_asyncio():
            from ._transport import AiohttpTransport

            return AiohttpTransport(max_connections=self.max_connections)
        limits = httpx.Limits(
            max_connections=self.max_connections, max_keepalive_connections=self.max_connections
        )
        return httpx.AsyncHTTPTransport(limits=limits)

    @property
    def _storage_http(self) -> httpx.AsyncClient:
        """A credential-free HTTP client for presigned uploads and downloads (storage, CDN).

        It never carries Topview headers. It reuses an injected ``http_client`` or ``transport``
        (so proxies and TLS settings apply) and otherwise has its own connection pool.
        """
        self._check_usable()
        if self._storage is None:
            if self._user_http_client is not None:
                self._storage = self._user_http_client
            else:
                transport = (
                    _SharedTransport(self._user_transport)
                    if self._user_transport is not None
                    else self._default_transport()
                )
                self._storage = httpx.AsyncClient(
                    transport=transport,
                    timeout=self._timeout,
                    follow_redirects=True,
                    headers={"User-Agent": USER_AGENT},
                )
        return self._storage

    def _url_for(self, path: str) -> httpx.URL:
        """The absolute URL of an operation path (``/v1/...``) under the base URL."""
        return httpx.URL(self._base_prefix + path)

    def _direct_headers(self, *, has_body: bool) -> dict[str, str]:
        """The headers httpx would send with a Topview call, for the direct aiohttp path.

        Prepared once per base URL (credentials only on the base URL's origin, as in
        :meth:`_build_request`); callers must not change the dict.
        """
        key = (self._base_prefix, has_body)
        headers = self._credentials.header_sets.get(key)
        if headers is None:
            headers = {
                "User-Agent": USER_AGENT,
                "Accept": "application/json",
                "Accept-Encoding": "gzip, deflate",
            }
            if _origin(httpx.URL(self._base_prefix)) == _origin(self.base_url):
                headers["Authorization"] = f"Bearer {self._credentials.api_key}"
                headers["Topview-Uid"] = self._credentials.uid
            if has_body:
                headers["Content-Type"] = "application/json"
            self._credentials.header_sets[key] = headers
        return headers

    def _build_request(
        self,
        method: str,
        url: httpx.URL | str,
        *,
        params: Sequence[tuple[str, str]] | None,
        json_body: object | None,
    ) -> httpx.Request:
        """A Topview request; credentials only if ``url`` is on the base URL's origin."""
        http, _ = self._connection()
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if _origin(httpx.URL(url)) == _origin(self.base_url):
            headers["Authorization"] = f"Bearer {self._credentials.api_key}"
            headers["Topview-Uid"] = self._credentials.uid
        return http.build_request(
            method,
            url,
            params=tuple(params) if params else None,
            json=json_body,
            headers=headers,
            timeout=httpx.USE_CLIENT_DEFAULT if self._timeout is None else self._timeout,
        )
