"""AsyncTopview: configuration, lifecycle and resource attributes.

How it talks HTTP (its connections, and which requests carry credentials) is inherited from
:class:`~topview_async._http.HTTPConnections`; how a call is sent, retried and decoded is the
request pipeline's (:mod:`topview_async._pipeline`).
"""

from __future__ import annotations

import asyncio
import os
import re
import ssl
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self, TypeVar, overload

from ._config import (
    DEFAULT_BASE_URL,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_RETRY,
    DEFAULT_TIMEOUTS,
    ENV_API_KEY,
    ENV_BASE_URL,
    ENV_UID,
    NOT_GIVEN,
    NotGiven,
    RetryPolicy,
    timeout_dict,
)
from ._exceptions import ClientClosedError, ConfigurationError, WrongEventLoopError
from ._http import DEFAULT_PORTS, Credentials, HTTPConnections
from ._logging import configure_from_environment
from ._redact import mask_secret
from .lib._notice_bus import notice_bus_from
from .lib._notice_hub import NoticeHub
from .lib.polling import (
    DEFAULT_MAX_IN_FLIGHT_POLLS,
    DEFAULT_POLL_POLICY,
    DEFAULT_POLL_RATE,
    PollScheduler,
)

# Imported where first needed instead: pydantic, the generated models and aiohttp are most of
# the SDK's import time, and a client that was only constructed needs none of them yet.
if TYPE_CHECKING:
    import httpx

    from ._http import InFlightLimit
    from ._models import TopviewModel
    from ._operation import Operation
    from ._options import Body, Headers, Query, RequestOptions, TimeoutTypes
    from ._pipeline import RequestPipeline
    from ._pool import AiohttpPool
    from ._response import RawResponse
    from .lib._files import TransferProgress
    from .lib._redis_bus import RedisNoticeBus
    from .lib._resources import Notices, Tasks, Uploads
    from .lib.polling import PollPolicy
    from .resources import (
        AccountResource,
        AiAvatarsResource,
        AnyShootResource,
        BoardsResource,
        CaptionsResource,
        EthnicitiesResource,
        ImagesResource,
        ImageToVideoResource,
        ImageTranslationsResource,
        MarketingVideosResource,
        MusicResource,
        PhotoAvatarsResource,
        ProductAvatarsResource,
        ScraperResource,
        VideoAvatarsResource,
        VideoEditsResource,
        VideosResource,
        VoicesResource,
    )

__all__ = ["AsyncTopview"]

ResultT = TypeVar("ResultT")

# A base URL httpx.URL would leave as it is: lowercase http(s), a plain host, a port that is
# not the scheme's default, a path without dot segments. Anything else is normalised by
# httpx.URL (imported only then: a plain client never needs httpx on its direct path).
_PLAIN_BASE_URL = re.compile(
    r"(?P<scheme>https?)://[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::(?P<port>[1-9][0-9]{0,4}))?"
    r"(?P<path>/[A-Za-z0-9_~./-]*)?"
)


def _cached_properties(cls: type) -> frozenset[str]:
    """Attributes a ``with_options`` client builds for itself (they hold their client)."""
    return frozenset(
        name
        for klass in cls.__mro__
        for name, value in vars(klass).items()
        if isinstance(value, cached_property)
    )


def _base_url(text: str) -> tuple[str, bool]:
    """``(str(httpx.URL(text)), whether it is an http(s) URL with a host)``."""
    plain = _PLAIN_BASE_URL.fullmatch(text)
    if (
        plain is not None
        and "/." not in (plain["path"] or "")
        and plain["port"] != str(DEFAULT_PORTS[plain["scheme"]])
    ):
        return text, True
    import httpx

    url = httpx.URL(text)
    return str(url), url.scheme in DEFAULT_PORTS and bool(url.host)


class AsyncTopview(HTTPConnections):
    """Async client for the Topview API.

    ::

        async with AsyncTopview() as client:  # reads TOPVIEW_API_KEY and TOPVIEW_UID
            task = await client.marketing_videos.query(task_id="...")

    Arguments left out fall back to the environment variables ``TOPVIEW_API_KEY``,
    ``TOPVIEW_UID`` and ``TOPVIEW_BASE_URL``, read when the client is constructed.

    * ``timeout``: seconds or an :class:`httpx.Timeout`; ``None`` disables timeouts.
      Default: :data:`~topview_async._config.DEFAULT_TIMEOUT` (10 s connect, 60 s read).
    * ``retry``: a :class:`RetryPolicy` for API calls, upload PUTs and checks, and downloads
      (readable as ``client.retry``); ``None`` disables retries everywhere.
    * ``max_connections``: Topview requests in flight at once; more callers wait their turn.
    * ``strict_responses``: when ``False``, a ``result`` that does not match the spec is
      still returned as the declared type (with a warning logged), built without
      validation where it does not fit: fields keep the values as received, missing
      required fields read as ``None``. Only a result whose outer shape does not fit (an
      array where a model is declared) raises :class:`ResponseValidationError` then.
    * ``poll``: the default :class:`PollPolicy` of ``task.wait()``; ``max_in_flight_polls``
      and ``poll_rate`` (queries per second, ``None``: unlimited) cap how hard all waits of
      this client poll together, through ``client.poll_scheduler``.
    * ``local_files``: when ``False``, a ``str`` in a file-id argument is always sent as a file
      id, never read from disk (use it when submits carry your users' input).
    * ``proxy``: a proxy URL (``"http://user:pass@proxy:3128"``) or :class:`httpx.Proxy` for
      every request, Topview calls and storage uploads/downloads alike.
    * ``trust_env``: when ``True`` (the default, as in httpx), ``HTTP_PROXY``, ``HTTPS_PROXY``,
      ``ALL_PROXY`` and ``NO_PROXY`` (either case) choose proxies when ``proxy`` is not given,
      and ``SSL_CERT_FILE``/``SSL_CERT_DIR`` the trust store; ``False`` ignores them.
    * ``verify``: ``True`` (certifi's CA bundle, as httpx), ``False`` (no TLS verification), a
      CA bundle file or directory, or an :class:`ssl.SSLContext`.
    * ``cert``: a client certificate: a PEM file with the key, or ``(certfile, keyfile)`` or
      ``(certfile, keyfile, password)``.
    * ``http_client``: your own :class:`httpx.AsyncClient`. You own it: :meth:`aclose` does not
      close it. The SDK never sets credentials on it; they are added to each Topview request
      only. Its own proxy/TLS settings apply (``proxy``, ``verify``, ``cert`` are refused).
    * ``transport``: an httpx transport to use instead of the default aiohttp-backed one; it is
      closed by :meth:`aclose`, like ``httpx.AsyncClient(transport=...)`` does.
    * ``notice_bus``: how far a callback travels (default: the ``TOPVIEW_NOTICE_BUS``
      environment variable, else ``"local"``, this process only). A Redis URL
      (``"redis://redis:6379/0"``, the ``redis`` extra) shares every verified callback with
      each client on the same Redis, so a wait ends whichever worker got its callback, and
      each notice's handler runs once across them. ``async with client`` then fails with
      :class:`ConfigurationError` if Redis does not answer.

    Every timeout of ``timeout`` holds on every path: ``connect``, ``read``, ``write`` (an
    upload to a server that stops reading fails instead of hanging) and ``pool`` (waiting
    longer than that for one of the ``max_connections`` slots raises :class:`APITimeoutError`).

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
        proxy: str | httpx.URL | httpx.Proxy | None = None,
        trust_env: bool = True,
        verify: bool | str | os.PathLike[str] | ssl.SSLContext = True,
        cert: str | tuple[str, str] | tuple[str, str, str] | None = None,
        notice_bus: str | RedisNoticeBus | None = None,
    ) -> None:
        configure_from_environment()
        self.poll_policy: PollPolicy = poll if poll is not None else DEFAULT_POLL_POLICY
        self.poll_scheduler: PollScheduler = PollScheduler(
            max_in_flight=max_in_flight_polls, rate=poll_rate
        )
        """Every task query of this client goes through it (caps, rate, learned durations)."""
        self.notice_hub: NoticeHub = NoticeHub(bus=notice_bus_from(notice_bus))
        """Where receivers bound to this client (``client=``) hand over callbacks to waits."""
        self.local_files = local_files
        for argument, variable, value in (("api_key", ENV_API_KEY, api_key), ("uid", ENV_UID, uid)):
            if value is not None and not value.strip():
                raise ConfigurationError(
                    f"{argument}= is blank: pass the value Topview gave you, or leave it out "
                    f"to read {variable}"
                )
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
        if http_client is not None and (proxy is not None or verify is not True or cert):
            raise ConfigurationError(
                "proxy, verify and cert configure the SDK's own connections; with http_client, "
                "set them on your httpx.AsyncClient"
            )
        if max_connections < 1:
            raise ConfigurationError(f"max_connections must be at least 1, got {max_connections}")
        base, valid = _base_url(
            base_url or os.environ.get(ENV_BASE_URL, "").strip() or DEFAULT_BASE_URL
        )
        if not valid:
            raise ConfigurationError(
                f"base_url= (or {ENV_BASE_URL}) must be an http(s) URL, got {base!r}"
            )

        self._credentials = Credentials(api_key, uid)
        self._base_prefix = base.rstrip("/")
        self._credentials_scope = self._base_prefix + "/"
        self.max_connections = max_connections
        self.strict_responses = strict_responses
        self.retry: RetryPolicy = (
            DEFAULT_RETRY
            if isinstance(retry, NotGiven)
            else (RetryPolicy.disabled() if retry is None else retry)
        )
        # Not given + injected client: the injected client's own timeout applies (None).
        # Kept as httpx.Timeout.as_dict(): the direct path hands it to the aiohttp pool, and
        # the httpx paths build their httpx.Timeout from it (HTTPConnections._timeout).
        self._timeouts: dict[str, float | None] | None = (
            None
            if isinstance(timeout, NotGiven) and http_client is not None
            else dict(DEFAULT_TIMEOUTS)
            if isinstance(timeout, NotGiven)
            else timeout_dict(timeout)
        )
        self._proxy = proxy
        self._trust_env = trust_env
        self._verify = verify
        self._cert = cert
        self._ssl = None
        self._user_http_client = http_client
        self._user_transport = transport
        self._http = http_client
        self._storage = None
        self._limiter = None
        self._event_loop: object | None = None
        """The event loop of the first use: the asyncio loop itself, or anyio's token of
        another (trio) loop."""
        self._direct = None
        self._closed = False
        self._root: AsyncTopview | None = None
        """The client this one was derived from by :meth:`with_options` (it owns the
        connections); ``None`` for a client made by its constructor."""
        self._default_options: RequestOptions | None = None
        """``default_headers``/``default_query`` of :meth:`with_options`, under every call's."""

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

    @cached_property
    def videos(self) -> VideosResource:
        """Generative video: image-to-video v2, text-to-video, omni reference, storyboard."""
        from .resources import VideosResource

        return VideosResource(self)

    @cached_property
    def images(self) -> ImagesResource:
        """Text-to-image, image editing and background removal."""
        from .resources import ImagesResource

        return ImagesResource(self)

    @cached_property
    def photo_avatars(self) -> PhotoAvatarsResource:
        """Photo avatars (Avatar 4) and their templates."""
        from .resources import PhotoAvatarsResource

        return PhotoAvatarsResource(self)

    @cached_property
    def account(self) -> AccountResource:
        """Credit balance, credit log and storage space."""
        from .resources import AccountResource

        return AccountResource(self)

    @cached_property
    def boards(self) -> BoardsResource:
        """Boards (projects) that group results, and their ZIP download."""
        from .resources import BoardsResource

        return BoardsResource(self)

    @cached_property
    def music(self) -> MusicResource:
        """AI music: songs and instrumentals from lyrics and a style."""
        from .resources import MusicResource

        return MusicResource(self)

    @cached_property
    def image_translations(self) -> ImageTranslationsResource:
        """Image translation: translate the text in images, draw the translated images."""
        from .resources import ImageTranslationsResource

        return ImageTranslationsResource(self)

    @cached_property
    def video_edits(self) -> VideoEditsResource:
        """Video editing: object removal and the four steps of character swap."""
        from .resources import VideoEditsResource

        return VideoEditsResource(self)

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> AsyncTopview:
        self._check_usable()
        await self.notice_hub.connect()  # an unreachable notice bus fails here, at start-up
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
        if self._root is not None:
            return  # a with_options client: the connections are its root's, closed with it
        if self._closed:
            return
        self._closed = True
        http, self._http = self._http, None
        storage, self._storage = self._storage, None
        direct, self._direct = self._direct, None
        await self.notice_hub.aclose()
        if storage is not None and storage is not self._user_http_client:
            await storage.aclose()
        if http is not None and http is not self._user_http_client:
            await http.aclose()
        if direct is not None:
            await direct.aclose()  # closing it twice (with http above) is harmless

    @property
    def is_closed(self) -> bool:
        """Whether :meth:`aclose` was called (on the client ``with_options`` derived it from)."""
        return self._closed if self._root is None else self._root._closed

    def _check_usable(self) -> None:
        """Refuse calls on a closed client or from a second event loop (instead of hanging)."""
        if self._root is not None:
            self._root._check_usable()
            return
        if self._closed:
            raise ClientClosedError("this AsyncTopview client is closed; create a new one")
        # On asyncio the loop itself identifies it: no anyio import or backend lookup, which
        # would be a tenth of a cold start. Only another event loop (trio) asks anyio.
        current: object
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:  # not asyncio (trio)
            import anyio.lowlevel

            current = anyio.lowlevel.current_token()
        if self._event_loop is None:
            self._event_loop = current
        elif current != self._event_loop:
            raise WrongEventLoopError(
                "this AsyncTopview client was opened in a different event loop; "
                "create one client per event loop"
            )

    # -- per-client options and the public low-level call ----------------------------------

    def with_options(
        self,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        retry: RetryPolicy | NotGiven | None = NOT_GIVEN,
        poll: PollPolicy | None = None,
        strict_responses: bool | None = None,
        default_headers: Headers | None = None,
        default_query: Query | None = None,
    ) -> Self:
        """A client with other defaults that shares this one's connections.

        ::

            slow = client.with_options(timeout=120, retry=None)
            page = await slow.voices.list(language="en")

        Not given: this client's setting. ``default_headers``/``default_query`` go with every
        call of the new client (a call's ``extra_headers``/``extra_query`` on top). The new
        client uses this one's connection pool, poll scheduler and notice hub; closing it
        closes nothing, closing this one closes both.
        """
        from ._options import RequestOptions, timeouts_of

        derived = object.__new__(type(self))
        per_client = _cached_properties(type(self))
        derived.__dict__.update(
            (name, value) for name, value in self.__dict__.items() if name not in per_client
        )
        derived._root = self._root or self
        if not isinstance(timeout, NotGiven):
            derived._timeouts = timeouts_of(timeout)
        if not isinstance(retry, NotGiven):
            derived.retry = RetryPolicy.disabled() if retry is None else retry
        if poll is not None:
            derived.poll_policy = poll
        if strict_responses is not None:
            derived.strict_responses = strict_responses
        added = RequestOptions.build(extra_headers=default_headers, extra_query=default_query)
        if added is not None:
            base = self._default_options
            derived._default_options = added if base is None else base.merged(added)
        return derived

    @overload
    async def request(
        self,
        operation: Operation,
        *,
        result_type: type[ResultT],
        query: Mapping[str, object] | None = ...,
        body: Mapping[str, object] | None = ...,
        body_model: type[TopviewModel] | None = ...,
        task_id: str | None = ...,
        file_id: str | None = ...,
        options: RequestOptions | None = ...,
        timeout: TimeoutTypes | NotGiven = ...,  # noqa: ASYNC109
        retry: RetryPolicy | NotGiven | None = ...,
        extra_headers: Headers | None = ...,
        extra_query: Query | None = ...,
        extra_body: Body | None = ...,
        raw: Literal[False] = ...,
    ) -> ResultT: ...

    @overload
    async def request(
        self,
        operation: Operation,
        *,
        result_type: type[ResultT],
        query: Mapping[str, object] | None = ...,
        body: Mapping[str, object] | None = ...,
        body_model: type[TopviewModel] | None = ...,
        task_id: str | None = ...,
        file_id: str | None = ...,
        options: RequestOptions | None = ...,
        timeout: TimeoutTypes | NotGiven = ...,  # noqa: ASYNC109
        retry: RetryPolicy | NotGiven | None = ...,
        extra_headers: Headers | None = ...,
        extra_query: Query | None = ...,
        extra_body: Body | None = ...,
        raw: Literal[True],
    ) -> RawResponse[ResultT]: ...

    @overload
    async def request(
        self,
        operation: Operation,
        *,
        result_type: Any,
        query: Mapping[str, object] | None = ...,
        body: Mapping[str, object] | None = ...,
        body_model: type[TopviewModel] | None = ...,
        task_id: str | None = ...,
        file_id: str | None = ...,
        options: RequestOptions | None = ...,
        timeout: TimeoutTypes | NotGiven = ...,  # noqa: ASYNC109
        retry: RetryPolicy | NotGiven | None = ...,
        extra_headers: Headers | None = ...,
        extra_query: Query | None = ...,
        extra_body: Body | None = ...,
        raw: bool = ...,
    ) -> Any: ...

    async def request(
        self,
        operation: Operation,
        *,
        result_type: Any,
        query: Mapping[str, object] | None = None,
        body: Mapping[str, object] | None = None,
        body_model: type[TopviewModel] | None = None,
        task_id: str | None = None,
        file_id: str | None = None,
        options: RequestOptions | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,  # noqa: ASYNC109 (per call, as httpx)
        retry: RetryPolicy | NotGiven | None = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        raw: bool = False,
    ) -> Any:
        """Call one operation through the request pipeline: the public low-level call.

        Every generated method is this call with the operation's description from the spec
        (``operation.kind``, its safety class, decides the retries: a ``read`` is repeated
        freely, a ``write`` or ``submit`` only when it provably never reached Topview).
        ``result_type`` is what ``result`` is validated into; ``body`` (wire names) is
        validated against ``body_model`` before anything is sent; ``task_id``/``file_id``
        go into the typed errors. ``options`` and the per-call keywords (which win) are those
        of every generated method. ``raw=True`` returns a :class:`RawResponse`. ::

            from topview_async import Operation
            from topview_async.types import CreditDetail

            CREDIT = Operation("getCreditDetail", "GET", "/user/credit/detail", "read", "account")
            credit = await client.request(CREDIT, result_type=CreditDetail)

        A submit made this way returns the submit result, not a task handle: rebuild one with
        ``client.tasks.get(kind, task_id)``.
        """
        from ._options import RequestOptions

        given = RequestOptions.build(
            timeout=timeout,
            retry=retry,
            extra_headers=extra_headers,
            extra_query=extra_query,
            extra_body=extra_body,
        )
        if options is None:
            options = given
        elif given is not None:
            options = options.merged(given)
        context = {"task_id": task_id, "file_id": file_id}
        return await self._pipeline.request(
            operation,
            query=query,
            body=body,
            body_model=body_model,
            result_type=result_type,
            context=context,
            options=options,
            raw=raw,
        )

    @property
    def uid(self) -> str:
        """The Topview uid the client authenticates with (what acknowledgements echo)."""
        return self._credentials.uid

    @property
    def storage_http(self) -> httpx.AsyncClient:
        """The credential-free :class:`httpx.AsyncClient` for presigned uploads and result
        downloads (storage and CDN hosts): it never carries Topview credentials, and has the
        client's network settings (proxy, TLS). Opened on first use, closed with the client.
        """
        return self._storage_http

    # -- connections: a with_options client uses its root's ---------------------------------

    def _direct_pool(self) -> AiohttpPool | None:
        if self._root is not None:
            return self._root._direct_pool()
        return super()._direct_pool()

    def _connection(self) -> tuple[httpx.AsyncClient, InFlightLimit | None]:
        if self._root is not None:
            return self._root._connection()
        return super()._connection()

    @property
    def _storage_http(self) -> httpx.AsyncClient:
        if self._root is not None:
            return self._root._storage_http
        return super()._storage_http

    # -- downloads -------------------------------------------------------------------------

    async def download(
        self,
        url: str,
        dest: str | os.PathLike[str],
        *,
        expected_size: int | None = None,
        expected_etag: str | None = None,
        progress: TransferProgress | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (see the docstring)
        resumable: bool = False,
    ) -> Path:
        """Stream ``url`` (a result video or image) to ``dest`` and return the path.

        Constant memory (2 MiB chunks) into a ``.part`` file beside ``dest``, length (and ETag
        where given) verified, resumed with a Range request if the connection drops (only when
        the server proved the file unchanged), and renamed into place only when complete:
        ``dest`` is never left half-written. No Topview credentials are sent to the storage or
        CDN host. Attempts and backoff follow the client's ``retry`` policy; ``timeout``
        (default ``retry.timeout``) bounds the whole download and raises
        :class:`DownloadTimeoutError`.

        ``resumable=True`` makes the download survive the process: the bytes go to a fixed
        ``.<name>.part`` beside ``dest`` with a sidecar of the file's validators (never the
        URL's signature or any credential), kept on failure, cancellation or a crash, and the
        next resumable download of the same URL to the same ``dest`` continues it with a
        ``Range`` request if the server proves the file unchanged (see
        :func:`~topview_async.lib.downloads.download`).

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
            retry=self.retry,  # the client's one retry policy
            timeout=timeout,
            resumable=resumable,
        )

    @cached_property
    def base_url(self) -> httpx.URL:
        """The base URL of every Topview call, as an :class:`httpx.URL`."""
        import httpx

        return httpx.URL(self._base_prefix)

    def __repr__(self) -> str:
        return (
            f"AsyncTopview(base_url={self._base_prefix!r}, "
            f"api_key={mask_secret(self._credentials.api_key)!r}, "
            f"uid={mask_secret(self._credentials.uid)!r})"
        )
