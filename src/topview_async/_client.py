"""AsyncTopview: configuration, credentials, connection lifecycle and resource attributes."""

from __future__ import annotations

import asyncio
import os
import platform
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Final

import httpx

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
from ._redact import mask_secret
from ._version import __version__
from .lib.polling import (
    DEFAULT_MAX_IN_FLIGHT_POLLS,
    DEFAULT_POLL_POLICY,
    DEFAULT_POLL_RATE,
    PollScheduler,
)

# Imported where first needed instead: pydantic, the generated models and aiohttp are most of
# the SDK's import time, and a client that was only constructed needs none of them yet.
if TYPE_CHECKING:
    from collections.abc import Sequence

    import anyio
    import anyio.lowlevel

    from ._pipeline import RequestPipeline
    from ._transport import AiohttpTransport
    from .lib._files import ProgressCallback
    from .lib._resources import Notices, Tasks, Uploads
    from .lib.polling import PollPolicy
    from .resources import (
        AiAvatarsResource,
        AnyShootResource,
        CaptionsResource,
        EthnicitiesResource,
        ImageToVideoResource,
        MarketingVideosResource,
        ProductAvatarsResource,
        ScraperResource,
        VideoAvatarsResource,
        VoicesResource,
    )

__all__ = ["AsyncTopview"]

USER_AGENT: Final = f"topview-async/{__version__} python/{platform.python_version()}"
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


class _Credentials:
    """The API key and uid, kept out of every repr (including ``vars(client)``)."""

    __slots__ = ("api_key", "header_sets", "uid")

    def __init__(self, api_key: str, uid: str) -> None:
        self.api_key = api_key
        self.uid = uid
        # The prepared header dicts of direct calls hold the credentials too, so they live here.
        self.header_sets: dict[tuple[str, bool], dict[str, str]] = {}

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
        # What the direct path hands the aiohttp transport (the httpx path passes _timeout).
        self._timeouts: dict[str, float | None] = (
            {} if self._timeout is None else self._timeout.as_dict()
        )
        self._user_http_client = http_client
        self._user_transport = transport
        self._http: httpx.AsyncClient | None = http_client
        self._storage: httpx.AsyncClient | None = None
        self._limiter: asyncio.Semaphore | anyio.CapacityLimiter | None = None
        self._loop_token: anyio.lowlevel.EventLoopToken | None = None
        self._asyncio_loop: asyncio.AbstractEventLoop | None = None
        self._direct: AiohttpTransport | None = None
        self._closed = False

    # -- resources -------------------------------------------------------------------------
    # One attribute per endpoint group of the spec. The classes are generated from the spec's
    # tags; where the SDK adds handwritten helpers (uploads, notices), the attribute holds the
    # ``lib/`` subclass that adds them. Each is built on first access: that first access
    # imports the generated models (and pydantic), which ``import topview_async`` skips.

    @cached_property
    def _pipeline(self) -> RequestPipeline:
        from ._pipeline import RequestPipeline

        return RequestPipeline(self)

    @cached_property
    def marketing_videos(self) -> MarketingVideosResource:
        """Avatar marketing videos (M2V): submit, query, scripts, export."""
        from .resources import MarketingVideosResource

        return MarketingVideosResource(self)

    @cached_property
    def video_avatars(self) -> VideoAvatarsResource:
        """Video avatar tasks."""
        from .resources import VideoAvatarsResource

        return VideoAvatarsResource(self)

    @cached_property
    def product_avatars(self) -> ProductAvatarsResource:
        """Product avatar tasks (image replace, image to video)."""
        from .resources import ProductAvatarsResource

        return ProductAvatarsResource(self)

    @cached_property
    def anyshoot(self) -> AnyShootResource:
        """AnyShoot tasks."""
        from .resources import AnyShootResource

        return AnyShootResource(self)

    @cached_property
    def image_to_video(self) -> ImageToVideoResource:
        """Image-to-video tasks."""
        from .resources import ImageToVideoResource

        return ImageToVideoResource(self)

    @cached_property
    def scraper(self) -> ScraperResource:
        """Product page scraper tasks."""
        from .resources import ScraperResource

        return ScraperResource(self)

    @cached_property
    def uploads(self) -> Uploads:
        """Upload endpoints plus ``upload()`` and ``upload_many()``."""
        from .lib._resources import Uploads

        return Uploads(self)

    @cached_property
    def notices(self) -> Notices:
        """The notice URL check."""
        from .lib._resources import Notices

        return Notices(self)

    @cached_property
    def voices(self) -> VoicesResource:
        """Voice lookups."""
        from .resources import VoicesResource

        return VoicesResource(self)

    @cached_property
    def ethnicities(self) -> EthnicitiesResource:
        """Ethnicity lookups."""
        from .resources import EthnicitiesResource

        return EthnicitiesResource(self)

    @cached_property
    def ai_avatars(self) -> AiAvatarsResource:
        """AI avatar lookups."""
        from .resources import AiAvatarsResource

        return AiAvatarsResource(self)

    @cached_property
    def captions(self) -> CaptionsResource:
        """Caption style lookups."""
        from .resources import CaptionsResource

        return CaptionsResource(self)

    @cached_property
    def tasks(self) -> Tasks:
        """Task handles by id, across kinds."""
        from .lib._resources import Tasks

        return Tasks(self)

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
        loop = asyncio._get_running_loop()
        if loop is not None and loop is self._asyncio_loop:
            return  # the common case, checked without anyio's backend lookup
        import anyio.lowlevel

        token = anyio.lowlevel.current_token()
        if self._loop_token is None:
            self._loop_token = token
            self._asyncio_loop = loop
        elif token != self._loop_token:
            raise WrongEventLoopError(
                "this AsyncTopview client was opened in a different event loop; "
                "create one client per event loop"
            )

    # -- HTTP ------------------------------------------------------------------------------

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
        from .lib import downloads as _downloads

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

    def __repr__(self) -> str:
        return (
            f"AsyncTopview(base_url={str(self.base_url)!r}, "
            f"api_key={mask_secret(self._credentials.api_key)!r}, "
            f"uid={mask_secret(self._credentials.uid)!r})"
        )
