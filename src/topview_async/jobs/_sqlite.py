"""The default journal: one SQLite file (stdlib ``sqlite3``, WAL mode).

Every call runs in a worker thread, so the event loop never waits on the disk. Writes
use group commit: callers that arrive while a transaction is being committed are
written together in the next one, each caller returning once *its* rows are committed.
That keeps thousands of jobs a second cheap while every save stays a durable transaction.

``synchronous=NORMAL`` in WAL mode survives a crash of the process (SIGKILL included);
pass ``synchronous="FULL"`` to also survive a power loss.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import anyio
import anyio.to_thread

from .._exceptions import ClientStateError
from ._model import JobRecord

__all__ = ["SqliteJournal"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    key TEXT PRIMARY KEY,
    record TEXT NOT NULL,
    status TEXT NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    status TEXT NOT NULL,
    task_id TEXT,
    error TEXT,
    at REAL NOT NULL
);
"""


_Row = tuple[str, str, str, "str | None", "str | None"]
"""key, record JSON, status, task id, error: a record as it is written."""


class _Batch:
    __slots__ = ("done", "error", "rows")

    def __init__(self) -> None:
        self.rows: list[_Row] = []
        self.done = False
        self.error: BaseException | None = None


class SqliteJournal:
    """A :class:`~topview_async.jobs.Journal` in the SQLite file ``path`` (created if needed).

    Besides the current record of each job (table ``jobs``), every saved state is appended
    to table ``events``: the step-by-step history of the batch.
    """

    def __init__(
        self, path: str | Path, *, synchronous: Literal["NORMAL", "FULL"] = "NORMAL"
    ) -> None:
        self.path = Path(path)
        self._synchronous = synchronous
        self._connection: sqlite3.Connection | None = None
        self._thread_lock = threading.Lock()  # one statement sequence at a time on the connection
        self._commit_lock: anyio.Lock | None = None
        self._pending = _Batch()

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=30.0
            )
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute(f"PRAGMA synchronous={self._synchronous}")
            connection.executescript(_SCHEMA)
            self._connection = connection
        return self._connection

    def _run_load(self) -> list[JobRecord]:
        with self._thread_lock:
            rows = self._connect().execute("SELECT record FROM jobs ORDER BY rowid").fetchall()
        return [JobRecord.from_json(json.loads(row[0])) for row in rows]

    def _run_save(self, rows: Sequence[_Row]) -> None:
        now = time.time()
        with self._thread_lock:
            connection = self._connect()
            connection.execute("BEGIN IMMEDIATE")
            try:
                connection.executemany(
                    "INSERT INTO jobs (key, record, status, updated_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET record=excluded.record, "
                    "status=excluded.status, updated_at=excluded.updated_at",
                    [(key, record, status, now) for key, record, status, _, _ in rows],
                )
                connection.executemany(
                    "INSERT INTO events (key, status, task_id, error, at) VALUES (?, ?, ?, ?, ?)",
                    [(key, status, task_id, error, now) for key, _, status, task_id, error in rows],
                )
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    async def load(self) -> list[JobRecord]:
        return await anyio.to_thread.run_sync(self._run_load)

    async def save(self, records: Sequence[JobRecord]) -> None:
        if self._commit_lock is None:
            self._commit_lock = anyio.Lock()
        batch = self._pending
        # Serialised here, as the snapshot of this moment: the worker thread then only runs
        # SQL (with the GIL released), which keeps it from slowing the event loop down.
        batch.rows.extend(
            (
                r.key,
                json.dumps(r.to_json(), separators=(",", ":")),
                r.status.value,
                r.task_id,
                r.error,
            )
            for r in records
        )
        async with self._commit_lock:
            # Whoever gets the lock first commits everything queued so far, this batch
            # included; the others find their batch done when they get the lock.
            if not batch.done:
                self._pending = _Batch()
                try:
                    await anyio.to_thread.run_sync(self._run_save, batch.rows)
                except BaseException as exc:
                    batch.error = exc
                    raise
                finally:
                    batch.done = True
        if batch.error is not None:
            raise ClientStateError(f"journal {self.path}: could not save") from batch.error

    async def aclose(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:

            def close() -> None:
                with self._thread_lock:
                    connection.close()

            await anyio.to_thread.run_sync(close)
