"""The journal interface, and the in-memory journal.

The runner keeps every record in memory and writes each change through
:meth:`Journal.save` *before* acting on it (write-ahead). A journal only has to store
records durably and give them back; :class:`~topview_async.jobs.SqliteJournal` is the
default, :class:`MemoryJournal` keeps nothing across processes (tests, benchmarks).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from ._model import JobRecord

__all__ = ["JOURNAL_NAME", "Journal", "MemoryJournal"]

JOURNAL_NAME = "journal.sqlite3"
"""The journal's file name in a batch's output directory."""


@runtime_checkable
class Journal(Protocol):
    """Durable storage of :class:`JobRecord` values, keyed by ``JobRecord.key``.

    ``save`` must be atomic for the whole sequence and durable when it returns: the runner
    sends a submit only after the intent is saved.
    """

    async def load(self) -> list[JobRecord]:
        """Every stored record."""
        ...

    async def save(self, records: Sequence[JobRecord]) -> None:
        """Insert or replace ``records`` in one transaction."""
        ...

    async def aclose(self) -> None:
        """Release the store (safe to call twice)."""
        ...


class MemoryJournal:
    """A :class:`Journal` in a dict: survives nothing, costs nothing."""

    def __init__(self) -> None:
        self._records: dict[str, JobRecord] = {}

    async def load(self) -> list[JobRecord]:
        return [record.copy() for record in self._records.values()]

    async def save(self, records: Sequence[JobRecord]) -> None:
        for record in records:
            self._records[record.key] = record.copy()

    async def aclose(self) -> None:
        pass
