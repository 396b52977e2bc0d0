"""Fault injection: make chosen requests fail the way real networks and servers do.

A :class:`Fault` matches requests by path (exact or ``fnmatch`` pattern such as
``/_storage/media/*``), by operation name, and optionally by method. ``times=N``
applies it to the next N matches; ``rate`` applies it at random with the seeded RNG.
What it does (fields can be combined):

* answers: ``latency``, a ``business_code`` envelope, an ``http_status`` (429 with
  ``retry_after``, 5xx);
* connections: ``drop_before_handler`` (the request arrived whole, the handler never runs:
  no task is created), ``drop_request_body=N`` (dropped after N bytes of the request body,
  e.g. mid-upload), ``drop_connection`` (after the response headers), ``truncate_body=N``
  (after N response body bytes); with ``reset`` each of these sends a TCP RST (SO_LINGER 0)
  instead of closing;
* slow bodies: ``stall`` seconds of silence after ``stall_after`` response body bytes, and
  ``trickle_rate`` (bytes per second) for the rest of the body;
* media (result downloads): ``change_content`` makes the file a new version once this
  answer is sent: ``"new_etag"`` (an honest server), ``"same_etag"`` (it reuses the strong
  ETag for the new bytes) or ``"no_etag"`` (served without an ETag from this answer on);
  ``ignore_range`` answers a Range request with the whole file (200), ``ignore_if_range``
  serves the range even when ``If-Range`` no longer matches. Range faults match only
  requests that carry a ``Range`` header.
* ``expired_upload_url`` (on ``getUploadCredential``): hands out a presigned URL that has
  already expired, so the storage PUT gets S3's real ``403 AccessDenied``.

On a real socket (:class:`~topview_async.testing.SimulatorServer`) drops close or reset the
TCP connection itself; in process (``httpx.ASGITransport``) they raise
:class:`SimulatedDisconnect` into the client. :func:`parse_fault` reads the command line's
``--fault`` form; :func:`every_fault` is a mix of all kinds at one rate (``--chaos``).
"""

from __future__ import annotations

import fnmatch
import http
import json
import math
import random
import socket
import struct
import threading
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field, fields
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .._exceptions import InvalidInputError
from ._errors import CODE_MESSAGES

CONTENT_CHANGES = ("new_etag", "same_etag", "no_etag")
"""How a media file changes under ``Fault.change_content``."""

_TRICKLE_PIECE = 8 * 1024


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
    drop_before_handler: bool = False
    """Drop the connection after the request arrived, before its handler runs."""
    drop_request_body: int | None = None
    """Drop the connection once this many request body bytes have arrived."""
    reset: bool = False
    """Drops send a TCP RST (SO_LINGER 0) instead of closing the connection."""
    stall: float = 0.0
    """Seconds of silence in the middle of the response body (after ``stall_after`` bytes)."""
    stall_after: int = 0
    trickle_rate: float | None = None
    """Send the response body at this many bytes per second (after ``stall_after`` bytes)."""
    change_content: str | None = None
    """Media: ``new_etag``, ``same_etag`` or ``no_etag``: a new version after this answer."""
    ignore_range: bool = False
    """Media: answer a Range request with the whole file (200)."""
    ignore_if_range: bool = False
    """Media: serve the range even when ``If-Range`` does not match."""
    times: int | None = None
    rate: float | None = None
    hits: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.change_content not in (None, *CONTENT_CHANGES):
            raise InvalidInputError(f"change_content must be one of {', '.join(CONTENT_CHANGES)}")

    @property
    def needs_range(self) -> bool:
        """Range faults only make sense on requests that ask for a range."""
        return self.ignore_range or self.ignore_if_range

    def matches(self, method: str, path: str, name: str | None, *, has_range: bool = False) -> bool:
        """Whether this fault targets the request (ignoring ``times`` and ``rate``)."""
        if self.method is not None and self.method.upper() != method:
            return False
        if self.needs_range and not has_range:
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

    def reset(self, faults: Iterable[Fault] = (), seed: int = 0) -> None:
        """Hold ``faults`` only, choosing as a new ``FaultSet(faults, seed)`` would."""
        with self._lock:
            self._faults = list(faults)
            self._rng = random.Random(f"faults:{seed}")

    def __iter__(self) -> Iterator[Fault]:
        with self._lock:
            return iter(list(self._faults))

    def __len__(self) -> int:
        with self._lock:
            return len(self._faults)

    def pick(
        self, method: str, path: str, name: str | None, *, has_range: bool = False
    ) -> Fault | None:
        """The fault to apply to this request, counting it as applied."""
        with self._lock:
            for fault in self._faults:
                if fault.exhausted or not fault.matches(method, path, name, has_range=has_range):
                    continue
                if fault.rate is not None and self._rng.random() >= fault.rate:
                    continue
                fault.hits += 1
                return fault
        return None


NameLookup = Callable[[str, str], str | None]
SleepFunction = Callable[[float], Awaitable[None]]


class FaultPicker:
    """Outermost ASGI middleware: picks the request's fault (kept in ``scope["state"]``).

    It sits outside the request log because a drop in the middle of the request body must
    happen while the body arrives, before the log has read it all. It also keeps the
    connection's transport, when the server has one, so drops can close or reset it.
    """

    def __init__(self, app: ASGIApp, faults: FaultSet, name_of: NameLookup) -> None:
        self.app = app
        self.faults = faults
        self.name_of = name_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        has_range = any(name.lower() == b"range" for name, _ in scope.get("headers", ()))
        fault = self.faults.pick(method, path, self.name_of(method, path), has_range=has_range)
        if fault is None:
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state["fault"] = fault
        state["connection"] = _Connection(send)
        if fault.drop_request_body is not None:
            receive = _cutting_receive(receive, fault.drop_request_body, state["connection"], fault)
        await self.app(scope, receive, send)


class FaultMiddleware:
    """ASGI middleware applying the fault :class:`FaultPicker` chose for the request."""

    def __init__(self, app: ASGIApp, sleep: SleepFunction) -> None:
        self.app = app
        self.sleep = sleep

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = scope.get("state") or {}
        fault: Fault | None = state.get("fault") if scope["type"] == "http" else None
        if fault is None:
            await self.app(scope, receive, send)
            return
        connection: _Connection = state["connection"]
        if fault.latency > 0:
            await self.sleep(fault.latency)
        if fault.drop_before_handler:
            await connection.drop(fault.reset, "before the handler ran")
            await _wait_for_disconnect(receive)
            return
        if fault.business_code is not None:
            code = fault.business_code
            text = fault.message or CODE_MESSAGES.get(code, "Unknown error occurred")
            body = json.dumps({"code": code, "message": text, "result": None}).encode()
            await _send_whole(send, 200, body, [(b"content-type", b"application/json")])
            return
        if fault.http_status is not None:
            await _send_status(send, fault)
            return
        if fault.stall > 0 or fault.trickle_rate:
            send = _pacing_send(send, fault, self.sleep)
        if fault.drop_connection or fault.truncate_body is not None:
            limit = 0 if fault.drop_connection else (fault.truncate_body or 0)
            send = _cutting_send(send, limit, connection, fault.reset)
        await self.app(scope, receive, send)


class _Connection:
    """The TCP connection of a request, when the server exposes it (uvicorn does)."""

    def __init__(self, send: Send) -> None:
        # uvicorn's send is a method of its per-request cycle, which holds the transport;
        # in process (httpx.ASGITransport) there is none and drops raise instead.
        cycle = getattr(send, "__self__", None)
        transport = getattr(cycle, "transport", None)
        self.transport = transport if hasattr(transport, "get_extra_info") else None

    async def drop(self, reset: bool, where: str) -> None:
        """Close (or reset) the connection; without a socket, raise SimulatedDisconnect."""
        transport = self.transport
        if transport is None:
            raise SimulatedDisconnect(f"simulated disconnect {where}")
        if reset:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                with suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()  # with SO_LINGER 0 the kernel answers with RST
        else:
            transport.close()  # what was written is still delivered, then FIN


async def _wait_for_disconnect(receive: Receive) -> None:
    """Let the server see the closed connection, so it does not answer with a 500."""
    for _ in range(64):  # the body (if any) comes first, then the disconnect
        message = await receive()
        if message["type"] == "http.disconnect":
            return


def _cutting_receive(
    receive: Receive, limit: int, connection: _Connection, fault: Fault
) -> Receive:
    """Pass the request body through until ``limit`` bytes, then drop the connection."""
    received = 0

    async def cutting() -> Message:
        nonlocal received
        if received >= limit:
            await connection.drop(fault.reset, f"after {limit} request body bytes")
            raise SimulatedDisconnect(f"simulated disconnect after {limit} request body bytes")
        message = await receive()
        if message["type"] != "http.request":
            return message
        body: bytes = message.get("body", b"")
        if received + len(body) < limit:
            received += len(body)
            return message
        # Hand on exactly ``limit`` bytes in all; the next read drops the connection.
        room = limit - received
        received = limit
        return {**message, "body": body[:room], "more_body": True}

    return cutting


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


def _cutting_send(send: Send, limit: int, connection: _Connection, reset: bool) -> Send:
    """Forward the headers and at most ``limit`` body bytes, then drop the connection."""
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
        if reset and connection.transport is not None:
            await connection.drop(reset, f"after {sent} body bytes")
        # The server closes the connection of a response that raised (a plain close).
        raise SimulatedDisconnect(f"simulated disconnect after {sent} body bytes")

    return cutting


def _pacing_send(send: Send, fault: Fault, sleep: SleepFunction) -> Send:
    """Send the body normally up to ``stall_after`` bytes, pause, then trickle if asked."""
    sent = 0
    stalled = fault.stall <= 0

    async def pacing(message: Message) -> None:
        nonlocal sent, stalled
        if message["type"] != "http.response.body":
            await send(message)
            return
        body: bytes = message.get("body", b"")
        more = message.get("more_body", False)
        pieces = [body]
        if sent + len(body) > fault.stall_after:
            head = max(0, fault.stall_after - sent)
            pieces = [body[:head], body[head:]]
        for index, piece in enumerate(pieces):
            last_piece = index == len(pieces) - 1
            beyond = sent >= fault.stall_after
            if beyond and not stalled and piece:
                stalled = True
                await sleep(fault.stall)
            trickle = fault.trickle_rate if beyond else None
            step = _TRICKLE_PIECE if trickle else max(len(piece), 1)
            parts = [piece[start : start + step] for start in range(0, len(piece), step)]
            for number, part in enumerate(parts or [b""]):
                if not part and not last_piece:
                    continue
                if trickle and part:
                    await sleep(len(part) / trickle)
                final = last_piece and number >= len(parts) - 1
                await send({**message, "body": part, "more_body": more or not final})
                sent += len(part)

    return pacing


# --- building faults from text (the command line) and a mix of every kind ---------------

_FIELDS = {f.name: f for f in fields(Fault) if f.init}


def parse_fault(spec: str) -> Fault:
    """A :class:`Fault` from ``key=value`` pairs and bare flags, separated by commas.

    >>> parse_fault("path=/_storage/media/*,truncate_body=100000,reset,rate=0.1")
    """
    options: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        key, has_value, text = item.partition("=")
        key = key.strip().replace("-", "_")
        field_ = _FIELDS.get(key)
        if field_ is None:
            known = ", ".join(sorted(_FIELDS))
            raise InvalidInputError(f"unknown fault option {key!r} (known: {known})")
        kind = str(field_.type)
        if not has_value:
            if "bool" not in kind:
                raise InvalidInputError(f"fault option {key!r} needs a value ({key}=...)")
            options[key] = True
        elif "bool" in kind:
            options[key] = text.strip().lower() in ("1", "true", "yes", "on")
        elif "int" in kind:
            options[key] = int(text)
        elif "float" in kind:
            options[key] = float(text)
        else:
            options[key] = text.strip()
    return Fault(**options)


def every_fault(rate: float) -> list[Fault]:
    """One fault of every kind, each applied at random to ``rate`` of the requests it targets.

    The faults are tried in order and the first that fires wins, so together they fault
    roughly ``rate`` of each kind of request (a little more for media downloads, which
    several kinds target). Stalls and latencies are short (a few tens of milliseconds).
    """
    if not 0 <= rate <= 1:
        raise InvalidInputError("rate must be between 0 and 1")
    api = "/v1/*"
    media = "/_storage/media/*"
    upload = "/_storage/upload/*"

    def share(count: int) -> float:
        # ``count`` faults tried one after another should fire for ``rate`` in total.
        return float(1 - (1 - rate) ** (1 / count))

    api_kinds: list[dict[str, Any]] = [
        {"latency": 0.02},
        {"http_status": 503},
        {"http_status": 429, "retry_after": 0},
        {"business_code": "5003"},
        {"drop_before_handler": True},
        {"drop_before_handler": True, "reset": True},
        {"drop_connection": True},
        {"drop_connection": True, "reset": True},
    ]
    media_kinds: list[dict[str, Any]] = [
        {"truncate_body": 40_000},
        {"truncate_body": 40_000, "reset": True},
        {"drop_connection": True},
        {"stall": 0.02, "stall_after": 20_000},
        {"trickle_rate": 4 << 20, "stall_after": 20_000},
        {"truncate_body": 100_000, "change_content": "new_etag"},
        {"truncate_body": 100_000, "change_content": "same_etag"},
        {"truncate_body": 100_000, "change_content": "no_etag"},
        {"http_status": 503},
    ]
    range_kinds: list[dict[str, Any]] = [{"ignore_range": True}, {"ignore_if_range": True}]
    upload_kinds: list[dict[str, Any]] = [
        {"drop_request_body": 1},
        {"drop_request_body": 1, "reset": True},
        {"http_status": 500},
        {"drop_before_handler": True},
    ]
    faults: list[Fault] = []
    for path, kinds in (
        (api, api_kinds),
        (media, range_kinds),
        (media, media_kinds),
        (upload, upload_kinds),
    ):
        faults += [Fault(path=path, rate=share(len(kinds)), **kind) for kind in kinds]
    return faults
