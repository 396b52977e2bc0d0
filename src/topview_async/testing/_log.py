"""Introspection of what reached the simulator: every request, with its headers.

Headers are kept as sent (secrets included) so tests can assert, for example, that
no ``Authorization`` header reached the storage PUT.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the simulator received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    """Lower-cased header names; the last value wins for repeated headers."""
    body: bytes
    time: float

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (case-insensitive), or ``None``."""
        return self.headers.get(name.lower())


class RequestLog:
    """Every request in arrival order, plus a count per path."""

    def __init__(self) -> None:
        self._items: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()

    def append(self, record: RecordedRequest) -> None:
        with self._lock:
            self._items.append(record)
            self.counts[record.path] += 1

    def __iter__(self) -> Iterator[RecordedRequest]:
        with self._lock:
            return iter(list(self._items))

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __getitem__(self, index: int) -> RecordedRequest:
        with self._lock:
            return self._items[index]

    def for_path(self, path: str, method: str | None = None) -> list[RecordedRequest]:
        """The requests to ``path`` (optionally only with ``method``)."""
        with self._lock:
            return [
                r
                for r in self._items
                if r.path == path and (method is None or r.method == method.upper())
            ]

    def clear(self) -> None:
        """Forget every request and count."""
        with self._lock:
            self._items.clear()
            self.counts.clear()


class RequestLogMiddleware:
    """Records each HTTP request (the body is buffered, then replayed to the app)."""

    def __init__(self, app: ASGIApp, log: RequestLog, clock: Callable[[], float]) -> None:
        self.app = app
        self.log = log
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        record = RecordedRequest(
            method=scope["method"],
            path=scope["path"],
            query=query,
            headers=headers,
            body=body,
            time=self.clock(),
        )
        self.log.append(record)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
