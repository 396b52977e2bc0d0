"""Plain ASGI serving of a :class:`NoticeReceiver`, with no web framework installed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from .._exceptions import ConfigurationError
from ._reply import WebhookReply
from ._secret import TOKEN_PARAMETER

if TYPE_CHECKING:
    from ._receiver import NoticeReceiver

__all__ = ["reply_bytes", "serve_asgi", "token_from"]

Receive = Callable[[], Awaitable[Mapping[str, Any]]]
Send = Callable[[Mapping[str, Any]], Awaitable[None]]


class _ClientGone(Exception):
    """The client disconnected before sending the whole body: there is no one to answer."""


def token_from(path_params: Mapping[str, Any], query_string: str) -> str | None:
    """The secret presented by a request: the ``{token}`` path parameter, else ``?token=``."""
    in_path = path_params.get(TOKEN_PARAMETER)
    if isinstance(in_path, str) and in_path:
        return in_path
    for name, value in parse_qsl(query_string, keep_blank_values=True):
        if name == TOKEN_PARAMETER:
            return value
    return None


def reply_bytes(reply: WebhookReply) -> bytes:
    """The reply body as compact JSON (what Starlette's ``JSONResponse`` would send)."""
    return json.dumps(reply.body, ensure_ascii=False, separators=(",", ":")).encode()


async def serve_asgi(
    receiver: NoticeReceiver, scope: Mapping[str, Any], receive: Receive, send: Send
) -> None:
    """Run one ASGI connection scope against ``receiver``."""
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] != "http":
        raise ConfigurationError(
            f"the Topview notice receiver serves HTTP only, not {scope['type']}: mount it on an "
            "HTTP route"
        )
    if scope["method"] != "POST":
        reply = WebhookReply.error(405, "Topview notices are POSTed")
        await _send(send, reply, extra_headers=[(b"allow", b"POST")])
        return
    headers = {
        name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]
    }
    try:
        content_length: int | None = int(headers["content-length"])
    except (KeyError, ValueError):
        content_length = None
    token = token_from(
        scope.get("path_params") or {}, scope.get("query_string", b"").decode("latin-1")
    )
    try:
        reply = await receiver.receive(
            _body_chunks(receive),
            token=token,
            topview_uid=headers.get("topview-uid"),
            content_length=content_length,
        )
    except _ClientGone:
        return
    await _send(send, reply)


async def _body_chunks(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


async def _send(
    send: Send, reply: WebhookReply, *, extra_headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = reply_bytes(reply)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *(extra_headers or []),
    ]
    await send({"type": "http.response.start", "status": reply.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    # Run standalone (``uvicorn module:receiver``) there is nothing to start or stop.
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
