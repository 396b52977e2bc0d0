"""The default journal: one SQLite file (stdlib ``sqlite3``, WAL mode).

Every call runs in a worker thread, so the event loop never waits on the disk. Writes
use group commit: callers that arrive while a transaction is being committed are
written together in the next one, each caller returning once *its* rows are committed.
That keeps thousands of jobs a second cheap while every save stays a durable transaction.

``synchronous=NORMAL`` in WAL mode survives a crash of the process (SIGKILL included);
pass ``synchronous="FULL"`` to also survive a power loss.

The journal records its schema version (``PRAGMA user_version``) and opens nothing it does
not understand. The journal of a batch (:meth:`SqliteJournal.for_batch`) also guards its
output directory: it holds the directory's lock (:mod:`._lock`) while open, and it refuses
to start afresh where the directory already holds a batch (a manifest, job files) but the
journal is missing or empty: that run would submit every job again.
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

from .._exceptions import ClientStateError, JournalUnusableError
from ._journal import JOURNAL_NAME
from ._lock import LOCK_NAME, DirectoryLock
from ._model import JobRecord
from ._output import MANIFEST_NAME, STAGING_NAME

__all__ = ["JOURNAL_NAME", "SCHEMA_VERSION", "SqliteJournal", "journal_problem"]


SCHEMA_VERSION = 1
"""Stored as ``PRAGMA user_version``; a journal of another version is not opened."""

_COLUMNS = {
    "jobs": {"key", "record", "status", "updated_at"},
    "events": {"id", "key", "status", "task_id", "error", "at"},
}

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
        self,
        path: str | Path,
        *,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
        guard: str | Path | None = None,
        lock: bool = True,
    ) -> None:
        self.path = Path(path)
        self._synchronous = synchronous
        self._guard = None if guard is None else Path(guard)
        self._lock = DirectoryLock(self._guard) if self._guard is not None and lock else None
        self._connection: sqlite3.Connection | None = None
        self._thread_lock = threading.Lock()  # one statement sequence at a time on the connection
        self._commit_lock: anyio.Lock | None = None
        self._pending = _Batch()

    @classmethod
    def for_batch(
        cls,
        out_dir: str | Path,
        *,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
        lock: bool = True,
    ) -> SqliteJournal:
        """The journal of the batch in ``out_dir`` (``out_dir/journal.sqlite3``), guarding
        the directory: it takes the directory's lock when first used (``lock=False`` for a
        reader that must not wait for a run, such as ``batch status``) and raises
        :class:`~topview_async.JournalUnusableError` instead of starting afresh where the
        directory holds a batch but no usable journal."""
        return cls(Path(out_dir) / JOURNAL_NAME, synchronous=synchronous, guard=out_dir, lock=lock)

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            if self._lock is not None:
                self._lock.acquire()
            try:
                self._connection = self._open()
            except BaseException:
                if self._lock is not None:
                    self._lock.release()
                raise
        return self._connection

    def _open(self) -> sqlite3.Connection:
        problem, fresh = _inspect(self.path)
        if problem is None and fresh and self._guard is not None:
            traces = batch_traces(self._guard)
            if traces:
                problem = "missing" if not self.path.exists() else "empty"
                raise JournalUnusableError(
                    _unusable_message(self._guard, self.path, problem, traces), path=self.path
                )
        if problem is not None:
            raise JournalUnusableError(
                f"journal {self.path}: {problem}; nothing was submitted. "
                + _how_to_continue(self.path.parent),
                path=self.path,
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None, timeout=30.0
        )
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute(f"PRAGMA synchronous={self._synchronous}")
            # One transaction: a crash leaves no journal, or a whole one with its version.
            connection.executescript(
                f"BEGIN IMMEDIATE;{_SCHEMA}PRAGMA user_version={SCHEMA_VERSION};COMMIT;"
            )
        except BaseException:
            connection.close()
            raise
        return connection

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
                if self._lock is not None:
                    self._lock.release()

            await anyio.to_thread.run_sync(close)


def _inspect(path: Path) -> tuple[str | None, bool]:
    """``(problem, fresh)``: why the file at ``path`` is no journal this code can use (or
    ``None``), and whether it holds no journal yet (missing, 0 bytes, no tables)."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None, True
    if size == 0:
        return None, True
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30.0)
    except sqlite3.Error as exc:
        return f"cannot be opened ({exc})", False
    try:
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        tables = {
            name: {column[1] for column in connection.execute(f"PRAGMA table_info({name})")}
            for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
            if not name.startswith("sqlite_")
        }
    except sqlite3.Error as exc:
        return f"is not a journal ({exc})", False
    finally:
        connection.close()
    if not tables and version == 0:
        return None, True
    if version not in (0, SCHEMA_VERSION):
        return (
            f"has schema version {version}, this topview-async reads version {SCHEMA_VERSION} "
            "(written by another release?)",
            False,
        )
    # Version 0 with the same tables: a journal written before versions were recorded.
    if any(not columns <= tables.get(name, set()) for name, columns in _COLUMNS.items()):
        return f"is of another schema (tables {', '.join(sorted(tables)) or 'none'})", False
    return None, False


def batch_traces(out_dir: Path) -> list[str]:
    """What in ``out_dir`` shows that a batch ran there: the manifest, the staging folder, job
    files. Not traces: the journal's own files, the lock, other hidden files, and JSON Lines
    files other than the manifest (a jobs file kept beside its output)."""
    own = {LOCK_NAME, *(JOURNAL_NAME + suffix for suffix in ("", "-wal", "-shm", "-journal"))}

    def trace(name: str) -> bool:
        if name in (MANIFEST_NAME, STAGING_NAME):
            return True
        return name not in own and not name.startswith(".") and not name.endswith(".jsonl")

    try:
        return sorted(p.name for p in out_dir.iterdir() if trace(p.name))
    except (FileNotFoundError, NotADirectoryError):
        return []


def journal_problem(out_dir: Path) -> str | None:
    """Why the journal of the batch in ``out_dir`` cannot be used, or ``None`` if it can
    (or need not be: nothing ran there yet)."""
    path = out_dir / JOURNAL_NAME
    problem, fresh = _inspect(path)
    if problem is None and fresh and batch_traces(out_dir):
        return "missing" if not path.exists() else "empty"
    return problem


def _unusable_message(out_dir: Path, path: Path, problem: str, traces: list[str]) -> str:
    shown = ", ".join(traces[:3]) + (f" and {len(traces) - 3} more" if len(traces) > 3 else "")
    return (
        f"{out_dir} holds a batch ({shown}) but its journal {path.name} is {problem}: "
        "running would submit every job again, so nothing was submitted. "
        + _how_to_continue(out_dir)
    )


def _how_to_continue(out_dir: Path) -> str:
    if (out_dir / MANIFEST_NAME).exists():
        return (
            f"Rebuild the journal from the manifest with `topview batch rebuild {out_dir}`, "
            "then run again"
        )
    return f"There is no {MANIFEST_NAME} to rebuild it from: use a new --out directory"
