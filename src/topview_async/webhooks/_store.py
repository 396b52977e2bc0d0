"""Which notices were already processed, so a redelivery does not run the handler twice."""

from __future__ import annotations

from collections import OrderedDict
from typing import Protocol, runtime_checkable

from .._exceptions import ConfigurationError

__all__ = ["DEFAULT_MAX_REMEMBERED", "DeliveryStore", "InMemoryDeliveryStore"]

DEFAULT_MAX_REMEMBERED = 10_000
"""How many processed notice uuids the in-memory store remembers."""


@runtime_checkable
class DeliveryStore(Protocol):
    """Remembers processed notice uuids. Implement it on Redis or a database table to share
    deduplication between worker processes; the default only knows its own process.

    Only notices whose handler succeeded are marked, so a failed one is processed again
    when Topview redelivers it.
    """

    async def is_processed(self, uuid: str) -> bool:
        """True if notice ``uuid`` was handled successfully before."""
        ...

    async def mark_processed(self, uuid: str) -> None:
        """Record that notice ``uuid`` was handled successfully."""
        ...


class InMemoryDeliveryStore:
    """A bounded in-process :class:`DeliveryStore`: the ``max_entries`` most recent uuids."""

    def __init__(self, max_entries: int = DEFAULT_MAX_REMEMBERED) -> None:
        if max_entries < 1:
            raise ConfigurationError(f"max_entries must be at least 1, got {max_entries}")
        self.max_entries = max_entries
        self._seen: OrderedDict[str, None] = OrderedDict()

    async def is_processed(self, uuid: str) -> bool:
        if uuid in self._seen:
            self._seen.move_to_end(uuid)
            return True
        return False

    async def mark_processed(self, uuid: str) -> None:
        self._seen[uuid] = None
        self._seen.move_to_end(uuid)
        while len(self._seen) > self.max_entries:
            self._seen.popitem(last=False)

    def __len__(self) -> int:
        return len(self._seen)
