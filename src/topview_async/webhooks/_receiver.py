"""The notice endpoint itself, independent of any web framework.

:class:`NoticeReceiver` does the whole job for one callback request: check the secret and
the uid, read the body up to a limit, parse it, skip duplicates, optionally confirm the
result through the API, publish it, run the handler, and choose the reply. It is also a
plain ASGI app; the FastAPI and Starlette adapters in ``_router`` are thin wrappers.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import anyio

from .._exceptions import ConfigurationError
from .._models import TopviewModel
from ..lib._notice_hub import NoticeHub
from ..lib._status import TaskState, normalize_status, read_field, read_status, reports_finished
from ._access_log import install_access_log_filter
from ._asgi import serve_asgi
from ._binding import ClientTaskFetcher, client_uid
from ._errors import (
    WebhookError,
    WebhookSignatureError,
    WebhookTooLargeError,
    WebhookVerificationError,
)
from ._parse import DEFAULT_MAX_BODY_SIZE, TaskNotice, parse_notice, typed_result
from ._reply import WebhookReply, build_acknowledgement
from ._secret import SecretChecker
from ._store import ClaimingDeliveryStore, DeliveryStore, InMemoryDeliveryStore, notice_key

if TYPE_CHECKING:
    from .._client import AsyncTopview

__all__ = ["NoticeHandler", "NoticeReceiver", "TaskResultFetcher"]

logger = logging.getLogger("topview_async.webhooks")

CLAIM_WAIT = 30.0
"""Seconds a notice another worker is handling waits for that outcome before it is refused
(503, so Topview delivers it again)."""

NoticeHandler = Callable[[TaskNotice], Awaitable[object]]
"""Your code: ``async def on_notice(notice: TaskNotice) -> None``. Raise to refuse the notice."""


@runtime_checkable
class TaskResultFetcher(Protocol):
    """Fetches a task's current query result from the authenticated Topview API."""

    async def fetch(self, kind: str, task_id: str) -> object:
        """The query result of task ``task_id`` of ``kind`` (a generated model or its dict)."""
        ...


class NoticeReceiver:
    """Receives Topview callbacks: verifies, deduplicates, dispatches and acknowledges them.

    Mount it with :func:`topview_webhook_router` (FastAPI) or :func:`topview_webhook_route`
    (Starlette); it is also an ASGI app by itself, and :meth:`receive` serves any other
    framework.

    * ``secret``: the secret embedded in the notice URL by :func:`build_notice_url` (a list
      accepts several during a rotation). Missing -> 401, wrong -> 403; the handler never runs.
    * ``client``: your :class:`~topview_async.AsyncTopview`. It supplies the defaults of
      ``fetcher`` (the task is re-read through it), ``hub`` (``client.notice_hub``) and
      ``topview_uid`` (the uid it authenticates with). Binding a receiver to the client is
      what puts that client's waits in callback mode: ``task.wait()`` of a task submitted
      with a ``notice_url`` then ends when its notice lands (in this process, or in every
      process on the client's notice bus; see docs/guides/callbacks-fastapi.md). A receiver
      without ``client=`` never changes how waits behave.
    * ``topview_uid``: your Topview uid, echoed in the acknowledgement (default: the client's,
      else the ``TOPVIEW_UID`` environment variable). A ``Topview-Uid`` header naming another
      uid -> 403.
    * ``handler``: ``async`` callable receiving each new :class:`TaskNotice`. The notice is
      acknowledged only after it returns; if it raises, the reply is HTTP 500 with ``code``
      ``"500"``, a message saying why and ``result: "fail"``, and the uuid is not marked
      processed, so a redelivery runs it again.
    * ``fetcher`` / ``verify_with_api``: with a fetcher, ``result``, ``status`` and
      ``error_msg`` are re-read from the API before the handler sees them (``verified=True``);
      pass ``verify_with_api=False`` to trust the callback body instead.
    * ``store``: remembers processed notices by the outcome they report (task, kind, final
      status: :func:`~topview_async.webhooks.notice_key`), so a re-post runs no
      handler twice, ``uuid`` changed or not. Default: the whole fleet's when the hub is on
      a Redis notice bus (``AsyncTopview(notice_bus="redis://...")``), else in memory.
    * ``hub``: a :class:`NoticeHub` that gets every accepted notice (waits use it with
      ``wait(callback=True)``, or by default once a receiver with ``client=`` feeds it).
    * ``max_body_size``: larger bodies get 413 without being read in full.
    """

    def __init__(
        self,
        *,
        secret: str | Sequence[str],
        handler: NoticeHandler | None = None,
        topview_uid: str | None = None,
        fetcher: TaskResultFetcher | None = None,
        verify_with_api: bool | None = None,
        store: DeliveryStore | None = None,
        hub: NoticeHub | None = None,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        strict: bool = False,
        client: AsyncTopview | None = None,
    ) -> None:
        self._secret = SecretChecker(secret)
        if client is not None:
            topview_uid = client_uid(client) if topview_uid is None else topview_uid
            fetcher = ClientTaskFetcher(client) if fetcher is None else fetcher
            hub = client.notice_hub if hub is None else hub
        uid = topview_uid if topview_uid is not None else os.environ.get("TOPVIEW_UID")
        if not uid:
            raise ConfigurationError(
                "the webhook receiver needs your Topview uid for the acknowledgement: "
                "pass topview_uid= or set TOPVIEW_UID"
            )
        if verify_with_api and fetcher is None:
            raise ConfigurationError("verify_with_api=True needs a fetcher to query the API with")
        if max_body_size < 1:
            raise ConfigurationError("max_body_size must be positive")
        self.topview_uid = uid
        self.handler = handler
        self.fetcher = fetcher
        self.verify_with_api = fetcher is not None if verify_with_api is None else verify_with_api
        if store is None:
            bus = hub.bus if hub is not None else None
            store = bus.delivery_store() if bus is not None else InMemoryDeliveryStore()
        self.store: DeliveryStore = store
        self.hub = hub
        if client is not None and hub is client.notice_hub:
            # Explicit callback mode: only a receiver bound to this client switches its waits.
            hub.attach_receiver(self)
        self.max_body_size = max_body_size
        self.strict = strict
        # notice key -> set when its processing ends: a concurrent duplicate waits for the
        # outcome instead of running the handler a second time.
        self._in_flight: dict[str, anyio.Event] = {}
        install_access_log_filter(self._secret.secrets)

    async def receive(
        self,
        body: bytes | AsyncIterable[bytes],
        *,
        token: str | None,
        topview_uid: str | None = None,
        content_length: int | None = None,
    ) -> WebhookReply:
        """Handle one callback request and return the reply to send.

        ``body`` is the raw body (or its chunks, read only up to ``max_body_size``),
        ``token`` the secret presented in the URL, ``topview_uid`` the ``Topview-Uid``
        header and ``content_length`` the declared body size, when there are any.
        """
        try:
            self._secret.check(token)
            if topview_uid is not None and topview_uid != self.topview_uid:
                raise WebhookSignatureError("Topview-Uid header names another account")
            raw = await _read_limited(body, content_length, self.max_body_size)
            notice = parse_notice(raw, max_body_size=self.max_body_size, strict=self.strict)
        except WebhookError as exc:
            logger.warning("refused a Topview callback: %s", exc.message)
            return WebhookReply.error(exc.status_code, exc.message)
        return await self._deliver(notice)

    async def __call__(
        self,
        scope: Mapping[str, Any],
        receive: Callable[[], Awaitable[Mapping[str, Any]]],
        send: Callable[[Mapping[str, Any]], Awaitable[None]],
    ) -> None:
        """Serve as an ASGI application (POST only)."""
        await serve_asgi(self, scope, receive, send)

    async def _deliver(self, notice: TaskNotice) -> WebhookReply:
        key = notice_key(notice)
        running = self._in_flight.get(key)
        if running is not None:
            await running.wait()
            return await self._duplicate_reply(notice, key)
        done = self._in_flight[key] = anyio.Event()
        try:
            return await self._process(notice, key)
        finally:
            del self._in_flight[key]
            done.set()

    async def _process(self, notice: TaskNotice, key: str) -> WebhookReply:
        try:
            if await self.store.is_processed(key):
                return self._ack(notice)
        except Exception:
            logger.exception("delivery store failed for notice %s", notice.uuid)
            return self._refuse(notice, 503, "the receiver's delivery store failed; retry later")
        try:
            notice = await self._verified(notice)
        except WebhookVerificationError as exc:
            logger.warning("not acknowledging notice %s: %s", notice.uuid, exc.message)
            return self._refuse(notice, exc.status_code, f"not processed: {exc.message}")
        key = notice_key(notice)  # the outcome the API confirmed, whatever the body claimed
        try:
            claim = await self._claim(key)
        except Exception:
            logger.exception("delivery store failed for notice %s", notice.uuid)
            return self._refuse(notice, 503, "the receiver's delivery store failed; retry later")
        if claim == "processed":
            return self._ack(notice)
        if claim == "busy":
            return self._refuse(notice, 503, "another worker is handling this notice; retry")
        try:
            return await self._handle_claimed(notice, key)
        except BaseException:  # cancelled mid-way: a redelivery must not find it claimed
            with anyio.CancelScope(shield=True):
                await self._release(key)
            raise

    async def _handle_claimed(self, notice: TaskNotice, key: str) -> WebhookReply:
        if self.hub is not None:
            try:
                await self.hub.share(notice)
            except Exception as exc:
                # Before the handler: refused now, the redelivery runs it once, and reaches
                # the waits of the other workers then.
                logger.warning("notice bus failed for notice %s: %r", notice.uuid, exc)
                await self._release(key)
                return self._refuse(notice, 503, "the notice bus is unreachable; retry later")
        if self.handler is not None:
            try:
                await self.handler(notice)
            except Exception:
                logger.exception(
                    "webhook handler failed for notice %s (task %s); not acknowledged",
                    notice.uuid,
                    notice.task_id,
                )
                await self._release(key)
                return self._refuse(notice, 500, "the notice handler failed; deliver it again")
        try:
            await self.store.mark_processed(key)
        except Exception:  # the handler did its work: acknowledge, a redelivery is the lesser harm
            logger.exception("could not record notice %s as processed", notice.uuid)
        return self._ack(notice)

    async def _claim(self, key: str) -> str:
        """Claim ``key`` in the store; while another worker handles it, wait for its outcome
        (as a concurrent duplicate in this process does), for up to ``CLAIM_WAIT`` seconds."""
        store = self.store
        if not isinstance(store, ClaimingDeliveryStore):
            return "processed" if await store.is_processed(key) else "claimed"
        pause = 0.02
        with anyio.move_on_after(CLAIM_WAIT):
            while True:
                claim = await store.claim(key)
                if claim != "busy":
                    return claim
                await anyio.sleep(pause)
                pause = min(pause * 2, 0.5)
        return "busy"

    async def _release(self, key: str) -> None:
        if isinstance(self.store, ClaimingDeliveryStore):
            try:
                await self.store.release(key)
            except Exception:  # the claim expires by itself
                logger.exception("could not release the claim on notice %s", key)

    async def _duplicate_reply(self, notice: TaskNotice, key: str) -> WebhookReply:
        try:
            processed = await self.store.is_processed(key)
        except Exception:
            logger.exception("delivery store failed for notice %s", notice.uuid)
            processed = False
        if processed:
            return self._ack(notice)
        return self._refuse(notice, 500, "a concurrent delivery of this notice failed; retry")

    async def _verified(self, notice: TaskNotice) -> TaskNotice:
        kind = notice.task_kind
        if not self.verify_with_api or self.fetcher is None or kind is None:
            return notice
        try:
            fetched = await self.fetcher.fetch(kind, notice.task_id)
        except Exception as exc:
            raise WebhookVerificationError(
                f"could not re-fetch the task from the API: {type(exc).__name__}",
                task_id=notice.task_id,
            ) from exc
        if isinstance(fetched, Mapping):
            fetched = typed_result(kind, fetched, task_id=notice.task_id, strict=self.strict)
        if not isinstance(fetched, TopviewModel | dict):
            raise WebhookVerificationError(
                f"fetcher returned {type(fetched).__name__}, not a task result",
                task_id=notice.task_id,
            )
        if not reports_finished(kind, fetched):
            raise WebhookVerificationError(
                f"the API reports the task as {read_status(fetched)!r}, not finished",
                task_id=notice.task_id,
            )
        status = read_status(fetched)
        error_msg = read_field(fetched, "error_msg", "errorMsg")
        if status is None or normalize_status(status) is TaskState.RUNNING:
            # No status in the result (UNCONFIRMED shapes), or an M2V task still rendering
            # another export: the API confirmed *a* finish, the notice says which; keep its.
            status, error_msg = notice.status, notice.error_msg
        return dataclasses.replace(
            notice,
            result=fetched,
            status=status,
            error_msg=str(error_msg) if error_msg is not None else None,
            verified=True,
        )

    def _ack(self, notice: TaskNotice) -> WebhookReply:
        return WebhookReply(200, build_acknowledgement(notice.uuid, self.topview_uid))

    def _refuse(self, notice: TaskNotice, status_code: int, reason: str) -> WebhookReply:
        """A reply nobody can read as delivered: HTTP error, ``code`` = that status, a reason."""
        body = build_acknowledgement(
            notice.uuid, self.topview_uid, accepted=False, code=str(status_code), reason=reason
        )
        return WebhookReply(status_code, body)


async def _read_limited(
    body: bytes | AsyncIterable[bytes], content_length: int | None, limit: int
) -> bytes:
    too_large = WebhookTooLargeError(f"callback body is larger than {limit} bytes", limit=limit)
    if content_length is not None and content_length > limit:
        raise too_large  # refuse before reading a byte
    if isinstance(body, bytes):
        if len(body) > limit:
            raise too_large
        return body
    chunks: list[bytes] = []
    size = 0
    iterator = aiter(body)
    try:
        async for chunk in iterator:
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
    finally:
        if isinstance(iterator, AsyncIterator) and hasattr(iterator, "aclose"):
            await iterator.aclose()
    return b"".join(chunks)
