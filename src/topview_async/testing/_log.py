"""Introspection of what reached the simulator: every request, with its headers.

Headers are kept as sent (secrets included) so tests can assert, for example, that
no ``Authorization`` header reached the storage PUT. The log also counts requests in
progress, so a test can check a client's concurrency cap from the server's side.
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
    """Every request in arrival order, a count per path, and the peak of requests in progress.

    >>> sim.requests.peak_in_flight("/v1/m2v/task/query")  # most queries ever served at once
    """

    def __init__(self) -> None:
        self._items: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self._in_flight: Counter[str | None] = Counter()
        self._peaks: Counter[str | None] = Counter()

    def started(self, path: str) -> None:
        """Count a request to ``path`` as in progress (the middleware calls this)."""
        with self._lock:
            for key in (path, None):
                self._in_flight[key] += 1
                self._peaks[key] = max(self._peaks[key], self._in_flight[key])

    def finished(self, path: str) -> None:
        """Count a request to ``path`` as answered."""
        with self._lock:
            for key in (path, None):
                self._in_flight[key] -= 1

    def in_flight(self, path: str | None = None) -> int:
        """Requests to ``path`` (``None``: to any path) being served right now."""
        with self._lock:
            return self._in_flight[path]

    def peak_in_flight(self, path: str | None = None) -> int:
        """The most requests to ``path`` (``None``: to any path) ever served at once."""
        with self._lock:
            return self._peaks[path]

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
        """Forget every request and count (requests in progress stay counted)."""
        with self._lock:
            self._items.clear()
            self.counts.clear()
            self._peaks = Counter({k: v for k, v in self._in_flight.items() if v > 0})


class RequestLogMiddleware:
    """Records each HTTP request (the body is buffered, then replayed to the app).

    A request counts as in progress until just *before* the last body message is sent:
    the client cannot see the end of the response earlier, so a client that keeps at
    most N requests open is never seen with more than N in progress here.
    """

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
        try:
            while more:
                message = await receive()
                if message["type"] != "http.request":
                    break
                chunks.append(message.get("body", b""))
                more = message.get("more_body", False)
        except BaseException:
            self._record(scope, b"".join(chunks))  # a body cut short (a fault) is logged too
            raise
        body = b"".join(chunks)
        record = self._record(scope, body)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        path = record.path
        done = False

        def finish() -> None:
            nonlocal done
            if not done:
                done = True
                self.log.finished(path)

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                finish()
            await send(message)

        self.log.started(path)
        try:
            await self.app(scope, replay, counting_send)
        finally:
            finish()

    def _record(self, scope: Scope, body: bytes) -> RecordedRequest:
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
        return record
