"""One-line mounting in FastAPI (``APIRouter``) or Starlette (``Route``).

FastAPI and Starlette are optional (the ``fastapi`` extra), so they are imported inside the
functions: ``import topview_async.webhooks`` works without them.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the endpoint's annotations
# at runtime, and ``Request`` is imported locally, out of reach of string evaluation.

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._exceptions import InvalidArgumentTypeError
from ._asgi import reply_bytes, token_from
from ._hub import NoticeHub
from ._parse import DEFAULT_MAX_BODY_SIZE
from ._receiver import NoticeHandler, NoticeReceiver, TaskResultFetcher
from ._store import DeliveryStore

if TYPE_CHECKING:
    from fastapi import APIRouter
    from starlette.routing import Route

    from .._client import AsyncTopview

__all__ = ["DEFAULT_NOTICE_PATH", "topview_webhook_route", "topview_webhook_router"]

DEFAULT_NOTICE_PATH = "/topview/notice"


def topview_webhook_router(
    *,
    secret: str | Sequence[str],
    handler: NoticeHandler | None,
    client: "AsyncTopview | None" = None,
    path: str = DEFAULT_NOTICE_PATH,
    topview_uid: str | None = None,
    fetcher: TaskResultFetcher | None = None,
    verify_with_api: bool | None = None,
    store: DeliveryStore | None = None,
    hub: NoticeHub | None = None,
    max_body_size: int = DEFAULT_MAX_BODY_SIZE,
    strict: bool = False,
    include_in_schema: bool = True,
    receiver: NoticeReceiver | None = None,
) -> "APIRouter":
    """A FastAPI router with the Topview notice endpoint (``POST path``)::

        app.include_router(topview_webhook_router(client=client, secret=SECRET, handler=on_notice))

    and submit tasks with ``notice_url=build_notice_url("https://api.example.com/topview/notice",
    SECRET)``. With ``client=``, notices are re-read through the client before the handler
    sees them, and that client's ``task.wait()`` calls end as soon as their notice lands.
    The arguments are those of :class:`NoticeReceiver` (or pass a ready ``receiver=``). For
    a secret in the path, end ``path`` with ``/{token}``. The router's ``receiver``
    attribute is the :class:`NoticeReceiver` behind it.
    """
    try:
        from fastapi import APIRouter, Request, Response
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "topview_webhook_router needs FastAPI: pip install 'topview-async[fastapi]'"
        ) from exc
    if receiver is None:
        receiver = NoticeReceiver(
            secret=secret,
            handler=handler,
            topview_uid=topview_uid,
            fetcher=fetcher,
            verify_with_api=verify_with_api,
            store=store,
            hub=hub,
            max_body_size=max_body_size,
            strict=strict,
            client=client,
        )
    bound = receiver

    async def receive_topview_notice(request: Request) -> Response:
        """Topview task callback: verified, deduplicated, handled, then acknowledged."""
        reply = await bound.receive(
            request.stream(),
            token=token_from(request.path_params, request.url.query),
            topview_uid=request.headers.get("topview-uid"),
            content_length=_content_length(request.headers.get("content-length")),
        )
        return Response(
            reply_bytes(reply), status_code=reply.status_code, media_type="application/json"
        )

    router = APIRouter()
    router.add_api_route(
        path,
        receive_topview_notice,
        methods=["POST"],
        name="receive_topview_notice",
        summary="Topview task callback",
        response_model=None,
        include_in_schema=include_in_schema,
    )
    router.receiver = bound  # type: ignore[attr-defined]
    return router


def topview_webhook_route(
    path: str = DEFAULT_NOTICE_PATH, *, receiver: NoticeReceiver | None = None, **options: Any
) -> "Route":
    """A Starlette ``Route`` serving the notice endpoint, for apps without FastAPI::

        route = topview_webhook_route(client=client, secret=SECRET, handler=on_notice)
        app = Starlette(routes=[route])

    ``options`` are the arguments of :class:`NoticeReceiver` (or pass ``receiver=``).
    """
    from starlette.routing import Route

    if receiver is None:
        receiver = NoticeReceiver(**options)
    elif options:
        raise InvalidArgumentTypeError(
            "pass either receiver= or the NoticeReceiver arguments, not both"
        )
    return Route(path, receiver, methods=["POST"], name="receive_topview_notice")


def _content_length(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
