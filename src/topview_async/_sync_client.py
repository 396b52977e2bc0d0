"""Topview: the synchronous client, for code without an event loop (Django, Flask, Celery,
scripts, notebooks).

::

    from topview_async import Topview

    with Topview() as client:                 # reads TOPVIEW_API_KEY and TOPVIEW_UID
        voices = client.voices.list(language="en")
        task = client.marketing_videos.submit(product_link="https://...")
        video = task.wait()

It is :class:`AsyncTopview` run on a private event loop: one daemon thread per client
(:mod:`._portal`) on which every call runs, so retries, polling, uploads, downloads and errors
are the async client's own. The resources and their methods are generated from the spec
next to their async twins (``Sync*Resource`` in ``resources/``), so both clients always have
the same surface. A client may be used from several threads at once, and from a thread whose
own event loop is running (a notebook cell); :meth:`Topview.close` or ``with`` closes its
connections and ends its thread.
"""

from __future__ import annotations

import os
import ssl
import weakref
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self, TypeVar, overload

from ._client import AsyncTopview
from ._config import DEFAULT_MAX_CONNECTIONS, NOT_GIVEN, NotGiven, RetryPolicy
from ._portal import Portal
from .lib.polling import DEFAULT_MAX_IN_FLIGHT_POLLS, DEFAULT_POLL_RATE
from .resources._sync import SyncResources

if TYPE_CHECKING:
    import httpx

    from ._models import TopviewModel
    from ._operation import Operation
    from ._options import Body, Headers, Query, RequestOptions, TimeoutTypes
    from ._response import RawResponse
    from .lib._files import TransferProgress
    from .lib._sync import SyncNotices, SyncTasks, SyncUploads
    from .lib.polling import PollPolicy

__all__ = ["Topview"]

ResultT = TypeVar("ResultT")


class Topview(SyncResources):
    """Sync client for the Topview API: :class:`AsyncTopview`'s surface, with blocking calls.

    Takes the same arguments as :class:`AsyncTopview` (and reads the same environment
    variables). Every resource method, ``client.request``, ``client.download``,
    ``client.uploads.upload`` and ``client.tasks.get`` block until done; submits return a
    :class:`~topview_async.lib._sync.SyncTask` whose ``wait()`` and ``download()`` block;
    ``list_all*`` return plain iterators. Errors are the same exception classes.

    The calls run on the client's own event loop thread, never on the caller's: use the
    client from any number of threads, or from a notebook whose loop is running. Close it
    with :meth:`close` or a ``with`` block (a client that is garbage-collected, or still open
    when the interpreter exits, is closed then).
    """

    _async: AsyncTopview
    _portal: Portal

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
    ) -> None:
        async_client = AsyncTopview(
            api_key=api_key,
            uid=uid,
            base_url=base_url,
            timeout=timeout,
            retry=retry,
            max_connections=max_connections,
            strict_responses=strict_responses,
            http_client=http_client,
            transport=transport,
            poll=poll,
            max_in_flight_polls=max_in_flight_polls,
            poll_rate=poll_rate,
            local_files=local_files,
            proxy=proxy,
            trust_env=trust_env,
            verify=verify,
            cert=cert,
        )
        portal = Portal()
        self._async = async_client
        self._portal = portal
        self._root: Topview | None = None
        # Closed when collected or at interpreter exit too; holds no reference to self.
        self._finalizer = weakref.finalize(self, portal.close, async_client.aclose)

    # -- the async core --------------------------------------------------------------------

    @property
    def async_client(self) -> AsyncTopview:
        """The :class:`AsyncTopview` this client runs (on its own loop thread: only use it
        from there, for example to build a webhook receiver with ``client=``)."""
        return self._async

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy of API calls, uploads and downloads."""
        return self._async.retry

    @property
    def poll_policy(self) -> PollPolicy:
        """The default poll policy of ``task.wait()``."""
        return self._async.poll_policy

    @property
    def base_url(self) -> httpx.URL:
        return self._async.base_url

    @property
    def uid(self) -> str:
        return self._async.uid

    # -- handwritten helpers ---------------------------------------------------------------

    @cached_property
    def uploads(self) -> SyncUploads:
        """Upload endpoints plus ``upload()`` and ``upload_many()``."""
        from .lib._sync import SyncUploads

        return SyncUploads(self._async.uploads, self._portal)

    @cached_property
    def notices(self) -> SyncNotices:
        """The notice URL check."""
        from .lib._sync import SyncNotices

        return SyncNotices(self._async.notices, self._portal)

    @cached_property
    def tasks(self) -> SyncTasks:
        """Task handles by id, across kinds."""
        from .lib._sync import SyncTasks

        return SyncTasks(self._async, self._portal)

    def download(
        self,
        url: str,
        dest: str | os.PathLike[str],
        *,
        expected_size: int | None = None,
        expected_etag: str | None = None,
        progress: TransferProgress | None = None,
        timeout: float | None = None,
        resumable: bool = False,
    ) -> Path:
        """Stream ``url`` to ``dest`` (see :meth:`AsyncTopview.download`); return the path."""
        return self._portal.run(
            self._async.download(
                url,
                dest,
                expected_size=expected_size,
                expected_etag=expected_etag,
                progress=progress,
                timeout=timeout,
                resumable=resumable,
            )
        )

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
        """A client with other defaults sharing this one's connections and loop thread
        (see :meth:`AsyncTopview.with_options`); closing it closes nothing."""
        derived = object.__new__(type(self))
        derived._async = self._async.with_options(
            timeout=timeout,
            retry=retry,
            poll=poll,
            strict_responses=strict_responses,
            default_headers=default_headers,
            default_query=default_query,
        )
        derived._portal = self._portal
        derived._root = self._root or self
        return derived

    # -- the public low-level call ---------------------------------------------------------

    @overload
    def request(
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
        timeout: TimeoutTypes | NotGiven = ...,
        retry: RetryPolicy | NotGiven | None = ...,
        extra_headers: Headers | None = ...,
        extra_query: Query | None = ...,
        extra_body: Body | None = ...,
        raw: Literal[False] = ...,
    ) -> ResultT: ...

    @overload
    def request(
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
        timeout: TimeoutTypes | NotGiven = ...,
        retry: RetryPolicy | NotGiven | None = ...,
        extra_headers: Headers | None = ...,
        extra_query: Query | None = ...,
        extra_body: Body | None = ...,
        raw: Literal[True],
    ) -> RawResponse[ResultT]: ...

    @overload
    def request(
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
        timeout: TimeoutTypes | NotGiven = ...,
        retry: RetryPolicy | NotGiven | None = ...,
        extra_headers: Headers | None = ...,
        extra_query: Query | None = ...,
        extra_body: Body | None = ...,
        raw: bool = ...,
    ) -> Any: ...

    def request(
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
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        retry: RetryPolicy | NotGiven | None = NOT_GIVEN,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        raw: bool = False,
    ) -> Any:
        """Call one operation; see :meth:`AsyncTopview.request`."""
        return self._portal.run(
            self._async.request(
                operation,
                result_type=result_type,
                query=query,
                body=body,
                body_model=body_model,
                task_id=task_id,
                file_id=file_id,
                options=options,
                timeout=timeout,
                retry=retry,
                extra_headers=extra_headers,
                extra_query=extra_query,
                extra_body=extra_body,
                raw=raw,
            )
        )

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> Self:
        if self.is_closed:
            from ._exceptions import ClientClosedError

            raise ClientClosedError("this Topview client is closed; create a new one")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close every connection and end the client's loop thread. Safe to call twice.

        A client made by :meth:`with_options` closes nothing: its connections are the
        original client's.
        """
        if self._root is None:
            self._finalizer()

    @property
    def is_closed(self) -> bool:
        """Whether :meth:`close` was called (on the client ``with_options`` derived it from)."""
        return self._portal.is_closed

    def __repr__(self) -> str:
        return repr(self._async).replace("AsyncTopview(", "Topview(", 1)
