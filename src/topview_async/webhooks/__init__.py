"""Receive Topview task callbacks (``noticeUrl``) in your web app.

A callback tells your backend the moment a task finishes; polling stays as the safety net.
Mount the ready endpoint in one line (FastAPI; needs the ``fastapi`` extra)::

    from topview_async.webhooks import TaskNotice, build_notice_url, topview_webhook_router

    SECRET = os.environ["TOPVIEW_WEBHOOK_SECRET"]       # generate_secret() once, keep it

    async def on_notice(notice: TaskNotice) -> None:
        if notice.succeeded and notice.task_kind == "video_avatar":
            await save(notice.task_id, notice.result.output_video_url)

    app.include_router(topview_webhook_router(client=client, secret=SECRET, handler=on_notice))
    notice_url = build_notice_url("https://api.example.com/topview/notice", SECRET)
    await client.notices.check(notice_url)              # once; NoticeUrlRejectedError if refused

    task = await client.video_avatars.submit(..., notice_url=notice_url)
    video = await task.wait()       # ends when the callback lands; slow polling as a safety net

Security model: Topview signs nothing. The secret in the URL only proves the caller knows the
URL, so by default (with ``client=`` or a ``fetcher``) the receiver re-reads the task from the
authenticated API and hands your handler (and the waiting task) that result, not the posted
one. Pass ``verify_with_api=False`` to trust the body. Notices are deduplicated on the outcome
they report (task, kind, final status), whatever their ``uuid``, and acknowledged only after
your handler returns. The secret is masked in uvicorn's, gunicorn's and hypercorn's access logs.

Callback mode is explicit: only a receiver built with ``client=`` (alive in this process), or a
shared notice bus, makes that client's waits rely on callbacks (or ``task.wait(callback=True)``).
Without a bus, callbacks resolve waits within one process only: with several workers, a wait in
a worker the callback did not reach ends through its safety-net polling (see
:meth:`Task.wait <topview_async.lib.tasks.Task.wait>`). With ``AsyncTopview(notice_bus=
"redis://...")`` (or ``TOPVIEW_NOTICE_BUS``) on every worker, each verified notice reaches every
wait on the same Redis and runs its handler once across the fleet.

Without FastAPI: :func:`topview_webhook_route` (Starlette), :class:`NoticeReceiver` (a plain
ASGI app, or call :meth:`NoticeReceiver.receive` from any framework), :func:`parse_notice` and
:func:`build_acknowledgement` to do it by hand.
"""

from __future__ import annotations

from ..lib._notice_bus import ENV_NOTICE_BUS
from ..lib._redis_bus import RedisDeliveryStore, RedisNoticeBus
from ..lib._status import TaskState, normalize_status
from ._binding import ClientTaskFetcher
from ._errors import (
    InvalidWebhookPayloadError,
    NoticeUrlRejectedError,
    WebhookError,
    WebhookSignatureError,
    WebhookTooLargeError,
    WebhookVerificationError,
)
from ._hub import DEFAULT_MAX_RETAINED, NoticeHub, notice_hub
from ._parse import (
    BIZ_TYPE_KINDS,
    DEFAULT_MAX_BODY_SIZE,
    KIND_RESULT_MODELS,
    TaskNotice,
    parse_notice,
)
from ._receiver import NoticeHandler, NoticeReceiver, TaskResultFetcher
from ._reply import WebhookReply, build_acknowledgement
from ._router import DEFAULT_NOTICE_PATH, topview_webhook_route, topview_webhook_router
from ._secret import TOKEN_PARAMETER, build_notice_url, generate_secret, mask_notice_url
from ._store import (
    DEFAULT_MAX_REMEMBERED,
    ClaimingDeliveryStore,
    DeliveryStore,
    InMemoryDeliveryStore,
    notice_key,
)

__all__ = [
    "BIZ_TYPE_KINDS",
    "DEFAULT_MAX_BODY_SIZE",
    "DEFAULT_MAX_REMEMBERED",
    "DEFAULT_MAX_RETAINED",
    "DEFAULT_NOTICE_PATH",
    "ENV_NOTICE_BUS",
    "KIND_RESULT_MODELS",
    "TOKEN_PARAMETER",
    "ClaimingDeliveryStore",
    "ClientTaskFetcher",
    "DeliveryStore",
    "InMemoryDeliveryStore",
    "InvalidWebhookPayloadError",
    "NoticeHandler",
    "NoticeHub",
    "NoticeReceiver",
    "NoticeUrlRejectedError",
    "RedisDeliveryStore",
    "RedisNoticeBus",
    "TaskNotice",
    "TaskResultFetcher",
    "TaskState",
    "WebhookError",
    "WebhookReply",
    "WebhookSignatureError",
    "WebhookTooLargeError",
    "WebhookVerificationError",
    "build_acknowledgement",
    "build_notice_url",
    "generate_secret",
    "mask_notice_url",
    "normalize_status",
    "notice_hub",
    "notice_key",
    "parse_notice",
    "topview_webhook_route",
    "topview_webhook_router",
]
