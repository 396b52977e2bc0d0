"""AsyncTopview: configuration, credentials, connection lifecycle and resource attributes."""

from __future__ import annotations

import asyncio
import os
import platform
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Final

import anyio
import anyio.lowlevel
import httpx

from . import resources
from ._config import (
    DEFAULT_BASE_URL,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_RETRY,
    DEFAULT_TIMEOUT,
    ENV_API_KEY,
    ENV_BASE_URL,
    ENV_UID,
    NOT_GIVEN,
    NotGiven,
    RetryPolicy,
)
from ._exceptions import ClientClosedError, ConfigurationError, WrongEventLoopError
from ._logging import configure_from_environment
from ._pipeline import RequestPipeline
from ._redact import mask_secret
from ._transport import AiohttpTransport
from ._version import __version__
from .lib import downloads as _downloads
from .lib._files import ProgressCallback
from .lib._resources import Notices, Tasks, Uploads
from .lib.polling import (
    DEFAULT_MAX_IN_FLIGHT_POLLS,
    DEFAULT_POLL_POLICY,
    DEFAULT_POLL_RATE,
    PollPolicy,
    PollScheduler,
)

__all__ = ["AsyncTopview"]

USER_AGENT: Final = f"topview-async/{__version__} python/{platform.python_version()}"
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


class _Credentials:
    """The API key and uid, kept out of every repr (including ``vars(client)``)."""

    __slots__ = ("api_key", "uid")

    def __init__(self, api_key: str, uid: str) -> None:
        self.api_key = api_key
        self.uid = uid

    def __repr__(self) -> str:
        return f"_Credentials(api_key={mask_secret(self.api_key)!r}, uid={mask_secret(self.uid)!r})"


class _SharedTransport(httpx.AsyncBaseTransport):
    """Lends a user's transport to the storage client without letting it close the transport."""

    def __init__(self, transport: httpx.AsyncBaseTransport) -> None:
        self._transport = transport

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._transport.handle_async_request(request)

    async def aclose(self) -> None:
        pass  # the Topview HTTP client closes the shared transport once


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port or _DEFAULT_PORTS.get(url.scheme))


def _on_asyncio() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class AsyncTopview:
    """Async client for the Topview API.

    ::

        async with AsyncTopview() as client:  # reads TOPVIEW_API_KEY and TOPVIEW_UID
            task = await client.marketing_videos.query(task_id="...")

    Arguments left out fall back to the environment variables ``TOPVIEW_API_KEY``,
    ``TOPVIEW_UID`` and ``TOPVIEW_BASE_URL``, read when the client is constructed.

    * ``timeout``: seconds or an :class:`httpx.Timeout`; ``None`` disables timeouts.
      Default: :data:`~topview_async._config.DEFAULT_TIMEOUT` (10 s connect, 60 s read).
    * ``retry``: a :class:`RetryPolicy`; ``None`` disables retries.
    * ``max_connections``: Topview requests in flight at once; more callers wait their turn.
    * ``strict_responses``: when ``False``, a ``result`` that does not match the spec is
      returned as the raw JSON data (with a warning logged) instead of raising
      :class:`ResponseValidationError`.
    * ``poll``: the default :class:`PollPolicy` of ``task.wait()``; ``max_in_flight_polls``
      and ``poll_rate`` (queries per second, ``None``: unlimited) cap how hard all waits of
      this client poll together.
    * ``local_files``: when ``False``, a ``str`` in a file-id argument is always sent as a file
      id, never read from disk (use it when submits carry your users' input).
    * ``http_client``: your own :class:`httpx.AsyncClient` (proxies, custom TLS, tests). You own
      it: :meth:`aclose` does not close it. The SDK never sets credentials on it; they are added
      to each Topview request only.
    * ``transport``: an httpx transport to use instead of the default aiohttp-backed one; it is
      closed by :meth:`aclose`, like ``httpx.AsyncClient(transport=...)`` does.

    A client belongs to the event loop it is first used in; use one client per loop.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        uid: str | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | NotGiven | None = NOT_GIVEN,
        retry: RetryPolicy | NotGiven | None = NOT_GIVEN,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        strict_responses: bool = True,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        poll: PollPolicy | None = None,
        max_in_flight_polls: int = DEFAULT_MAX_IN_FLIGHT_POLLS,
        poll_rate: float | None = DEFAULT_POLL_RATE,
        local_files: bool = True,
    ) -> None:
        configure_from_environment()
        self.poll_policy: PollPolicy = poll if poll is not None else DEFAULT_POLL_POLICY
        self._poll_scheduler = PollScheduler(max_in_flight=max_in_flight_polls, rate=poll_rate)
        self.local_files = local_files
        api_key = api_key or os.environ.get(ENV_API_KEY, "").strip()
        uid = uid or os.environ.get(ENV_UID, "").strip()
        missing = [name for name, value in ((ENV_API_KEY, api_key), (ENV_UID, uid)) if not value]
        if missing:
            raise ConfigurationError(
                "Topview credentials missing: pass api_key= and uid= to AsyncTopview or set "
                + " and ".join(missing)
            )
        if http_client is not None and transport is not None:
            raise ConfigurationError("pass either http_client or transport, not both")
        if max_connections < 1:
            raise ConfigurationError("max_connections must be at least 1")
        base = httpx.URL(base_url or os.environ.get(ENV_BASE_URL, "").strip() or DEFAULT_BASE_URL)
        if base.scheme not in _DEFAULT_PORTS or not base.host:
            raise ConfigurationError(f"base_url must be an http(s) URL, got {str(base)!r}")

        self._credentials = _Credentials(api_key, uid)
        self._base_prefix = str(base).rstrip("/")
        self.base_url: httpx.URL = httpx.URL(self._base_prefix)
        self.max_connections = max_connections
        self.strict_responses = strict_responses
        self.retry: RetryPolicy = (
            DEFAULT_RETRY
            if isinstance(retry, NotGiven)
            else (RetryPolicy.disabled() if retry is None else retry)
        )
        # Not given + injected client: the injected client's own timeout applies.
        self._timeout: httpx.Timeout | None = (
            None
            if isinstance(timeout, NotGiven) and http_client is not None
            else httpx.Timeout(DEFAULT_TIMEOUT if isinstance(timeout, NotGiven) else timeout)
        )
        self._user_http_client = http_client
        self._user_transport = transport
        self._http: httpx.AsyncClient | None = http_client
        self._storage: httpx.AsyncClient | None = None
        self._limiter: anyio.CapacityLimiter | None = None
        self._loop_token: anyio.lowlevel.EventLoopToken | None = None
        self._closed = False
        self._pipeline = RequestPipeline(self)
        self._init_resources()

    def _init_resources(self) -> None:
        """Attach one resource per endpoint group of the spec.

        The classes are generated from the spec's tags; where the SDK adds handwritten helpers
        (uploads, notices), the attribute holds the ``lib/`` subclass that adds them.
        """
        self.marketing_videos = resources.MarketingVideosResource(self)
        self.video_avatars = resources.VideoAvatarsResource(self)
        self.product_avatars = resources.ProductAvatarsResource(self)
        self.anyshoot = resources.AnyShootResource(self)
        self.image_to_video = resources.ImageToVideoResource(self)
        self.scraper = resources.ScraperResource(self)
        self.uploads = Uploads(self)
        self.notices = Notices(self)
        self.voices = resources.VoicesResource(self)
        self.ethnicities = resources.EthnicitiesResource(self)
        self.ai_avatars = resources.AiAvatarsResource(self)
        self.captions = resources.CaptionsResource(self)
        self.tasks = Tasks(self)

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> AsyncTopview:
        self._check_usable()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every connection the client opened. Safe to call twice.

        An ``http_client`` you passed in is left open: you created it, you close it.
        """
        if self._closed:
            return
        self._closed = True
        http, self._http = self._http, None
        storage, self._storage = self._storage, None
        if storage is not None and storage is not self._user_http_client:
            await storage.aclose()
        if http is not None and http is not self._user_http_client:
            await http.aclose()

    @property
    def is_closed(self) -> bool:
        """Whether :meth:`aclose` was called."""
        return self._closed

    def _check_usable(self) -> None:
        """Refuse calls on a closed client or from a second event loop (instead of hanging)."""
        if self._closed:
            raise ClientClosedError("this AsyncTopview client is closed; create a new one")
        token = anyio.lowlevel.current_token()
        if self._loop_token is None:
            self._loop_token = token
        elif token != self._loop_token:
            raise WrongEventLoopError(
                "this AsyncTopview client was opened in a different event loop; "
                "create one client per event loop"
            )

    # -- HTTP ------------------------------------------------------------------------------

    def _connection(self) -> tuple[httpx.AsyncClient, anyio.CapacityLimiter]:
        """The Topview HTTP client and the in-flight limiter, created in the running loop."""
        self._check_usable()
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.max_connections)
        if self._http is None:
            self._http = httpx.AsyncClient(
                transport=self._user_transport or self._default_transport(),
                timeout=self._timeout,
                follow_redirects=False,
            )
        return self._http, self._limiter

    def _default_transport(self) -> httpx.AsyncBaseTransport:
        if _on_asyncio():
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

    async def download(
        self,
        url: str,
        dest: str | os.PathLike[str],
        *,
        expected_size: int | None = None,
        expected_etag: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> Path:
        """Stream ``url`` (a result video or image) to ``dest`` and return the path.

        Constant memory (1 MiB chunks) into a ``.part`` file beside ``dest``, length (and ETag
        where given) verified, resumed with a Range request if the connection drops, and renamed
        into place only when complete: ``dest`` is never left half-written. No Topview
        credentials are sent to the storage or CDN host.

            path = await client.download(result.export_videos[0].video_url, "out/video.mp4")
        """
        return await _downloads.download(
            self._storage_http,
            url,
            dest,
            expected_size=expected_size,
            expected_etag=expected_etag,
            progress=progress,
        )

    def _url_for(self, path: str) -> httpx.URL:
        """The absolute URL of an operation path (``/v1/...``) under the base URL."""
        return httpx.URL(self._base_prefix + path)

    def _build_request(
        self,
        method: str,
        url: httpx.URL,
        *,
        params: Sequence[tuple[str, str]] | None,
        json_body: object | None,
    ) -> httpx.Request:
        """A Topview request; credentials only if ``url`` is on the base URL's origin."""
        http, _ = self._connection()
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if _origin(url) == _origin(self.base_url):
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

    def __repr__(self) -> str:
        return (
            f"AsyncTopview(base_url={str(self.base_url)!r}, "
            f"api_key={mask_secret(self._credentials.api_key)!r}, "
            f"uid={mask_secret(self._credentials.uid)!r})"
        )
