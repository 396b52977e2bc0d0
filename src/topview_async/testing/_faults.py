"""Fault injection: make chosen requests fail the way real networks and servers do.

A :class:`Fault` matches requests by path (exact or ``fnmatch`` pattern such as
``/_storage/media/*``), by operation name, and optionally by method. It then adds
latency and/or answers with a business code, an HTTP status (429 with Retry-After,
5xx), drops the connection after the headers, or truncates the body. On the upload
credential, ``expired_upload_url`` hands out a presigned URL that has already expired,
so the storage PUT gets S3's real ``403 AccessDenied``. ``times=N``
applies it to the next N matches; ``rate`` applies it at random with the seeded RNG.
"""

from __future__ import annotations

import fnmatch
import http
import json
import math
import random
import threading
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._errors import CODE_MESSAGES


class SimulatedDisconnect(Exception):
    """Raised inside the app to make the server abort the connection mid-response."""


@dataclass
class Fault:
    """One injected fault; see the module docstring for the matching rules."""

    path: str | None = None
    name: str | None = None
    method: str | None = None
    business_code: str | None = None
    message: str | None = None
    """Message of the business-code envelope (default: the documented one)."""
    http_status: int | None = None
    retry_after: float | None = None
    latency: float = 0.0
    drop_connection: bool = False
    truncate_body: int | None = None
    """Send the headers (with the full Content-Length) and only this many body bytes."""
    expired_upload_url: bool = False
    """For ``getUploadCredential``: the presigned URL handed out is already expired."""
    times: int | None = None
    rate: float | None = None
    hits: int = field(default=0, init=False)

    def matches(self, method: str, path: str, name: str | None) -> bool:
        """Whether this fault targets the request (ignoring ``times`` and ``rate``)."""
        if self.method is not None and self.method.upper() != method:
            return False
        if self.name is not None and self.name != name:
            return False
        if self.path is None:
            return True
        return path == self.path or fnmatch.fnmatchcase(path, self.path)

    @property
    def exhausted(self) -> bool:
        """True once a ``times=N`` fault has been applied N times."""
        return self.times is not None and self.hits >= self.times


class FaultSet:
    """The faults of one simulator; safe to change from another thread at runtime.

    >>> sim.faults.add(path="/v1/m2v/task/submit", business_code="5003", times=1)
    """

    def __init__(self, faults: Iterable[Fault] = (), seed: int = 0) -> None:
        self._faults: list[Fault] = list(faults)
        self._lock = threading.Lock()
        self._rng = random.Random(f"faults:{seed}")

    def add(self, fault: Fault | None = None, /, **options: object) -> Fault:
        """Add ``fault`` or build one from keyword options (the :class:`Fault` fields)."""
        new = fault if fault is not None else Fault(**options)  # type: ignore[arg-type]
        with self._lock:
            self._faults.append(new)
        return new

    def remove(self, fault: Fault) -> None:
        """Remove one fault."""
        with self._lock:
            self._faults = [f for f in self._faults if f is not fault]

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._faults.clear()

    def __iter__(self) -> Iterator[Fault]:
        with self._lock:
            return iter(list(self._faults))

    def __len__(self) -> int:
        with self._lock:
            return len(self._faults)

    def pick(self, method: str, path: str, name: str | None) -> Fault | None:
        """The fault to apply to this request, counting it as applied."""
        with self._lock:
            for fault in self._faults:
                if fault.exhausted or not fault.matches(method, path, name):
                    continue
                if fault.rate is not None and self._rng.random() >= fault.rate:
                    continue
                fault.hits += 1
                return fault
        return None


NameLookup = Callable[[str, str], str | None]
SleepFunction = Callable[[float], Awaitable[None]]


class FaultMiddleware:
    """ASGI middleware applying the first matching fault of a :class:`FaultSet`."""

    def __init__(
        self, app: ASGIApp, faults: FaultSet, name_of: NameLookup, sleep: SleepFunction
    ) -> None:
        self.app = app
        self.faults = faults
        self.name_of = name_of
        self.sleep = sleep

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        fault = self.faults.pick(method, path, self.name_of(method, path))
        if fault is None:
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})["fault"] = fault
        if fault.latency > 0:
            await self.sleep(fault.latency)
        if fault.business_code is not None:
            code = fault.business_code
            text = fault.message or CODE_MESSAGES.get(code, "Unknown error occurred")
            body = json.dumps({"code": code, "message": text, "result": None}).encode()
            await _send_whole(send, 200, body, [(b"content-type", b"application/json")])
            return
        if fault.http_status is not None:
            await _send_status(send, fault)
            return
        if fault.drop_connection or fault.truncate_body is not None:
            limit = 0 if fault.drop_connection else (fault.truncate_body or 0)
            await self.app(scope, receive, _cutting_send(send, limit))
            return
        await self.app(scope, receive, send)


async def _send_whole(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _send_status(send: Send, fault: Fault) -> None:
    status = fault.http_status or 500
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    headers = [(b"content-type", b"text/plain; charset=utf-8")]
    if fault.retry_after is not None:
        seconds = max(0, math.ceil(fault.retry_after))
        headers.append((b"retry-after", str(seconds).encode()))
    await _send_whole(send, status, phrase.encode(), headers)


def _cutting_send(send: Send, limit: int) -> Send:
    """Forward the headers and at most ``limit`` body bytes, then abort the connection."""
    sent = 0

    async def cutting(message: Message) -> None:
        nonlocal sent
        if message["type"] != "http.response.body":
            await send(message)
            return
        body: bytes = message.get("body", b"")
        room = limit - sent
        if len(body) < room or (len(body) == room and message.get("more_body", False)):
            sent += len(body)
            await send(message)
            return
        if room > 0:
            await send({"type": "http.response.body", "body": body[:room], "more_body": True})
            sent = limit
        raise SimulatedDisconnect(f"simulated disconnect after {sent} body bytes")

    return cutting
