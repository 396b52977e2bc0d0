"""Which notices were already processed, so a redelivery does not run the handler twice.

A notice is identified by the outcome it reports (:func:`notice_key`), not by its ``uuid``:
Topview, or anyone who has the URL, may post the same outcome again under another uuid.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from .._exceptions import ConfigurationError

if TYPE_CHECKING:
    from ._parse import TaskNotice

__all__ = [
    "DEFAULT_MAX_REMEMBERED",
    "ClaimingDeliveryStore",
    "DeliveryStore",
    "InMemoryDeliveryStore",
    "notice_key",
]


def notice_key(notice: TaskNotice) -> str:
    """What identifies the outcome ``notice`` reports: its deduplication key.

    ``<kind>:<task id>:<state>``, the state normalised (``fail`` and ``failed`` are one
    outcome), so a re-post is a duplicate whatever its ``uuid``. An unknown ``bizType`` is
    keyed by that bizType. The exception is ``m2v_export``: one M2V task exports several
    scripts, each export calls back with its own uuid, and the notice does not say which
    script it is about, so the next export's notice and a re-post under a new uuid look the
    same; its key is the uuid (``m2v_export:<task id>:uuid=<uuid>``).

    >>> from topview_async.webhooks import parse_notice
    >>> body = {"uuid": "u1", "bizType": "SCRAPER", "taskId": "t1", "status": "fail"}
    >>> notice_key(parse_notice(body))
    'scraper:t1:failed'
    """
    if notice.task_kind == "m2v_export":
        return f"m2v_export:{notice.task_id}:uuid={notice.uuid}"
    kind = notice.task_kind or f"bizType={notice.biz_type}"
    return f"{kind}:{notice.task_id}:{notice.state.value}"


DEFAULT_MAX_REMEMBERED = 10_000
"""How many handled notices the in-memory store remembers."""


@runtime_checkable
class DeliveryStore(Protocol):
    """Remembers processed notices by their :func:`notice_key` (the parameter keeps its
    historical name ``uuid``). A client on a Redis notice bus gives its receivers one shared
    by the whole fleet; the default only knows its own process. Implement it on a database
    table for the same, and add :class:`ClaimingDeliveryStore`'s methods so that two workers
    receiving one outcome at the same moment run the handler once.

    Only notices whose handler succeeded are marked, so a failed one is processed again
    when Topview redelivers it.
    """

    async def is_processed(self, uuid: str) -> bool:
        """True if the notice keyed ``uuid`` was handled successfully before."""
        ...

    async def mark_processed(self, uuid: str) -> None:
        """Record that the notice keyed ``uuid`` was handled successfully."""
        ...


@runtime_checkable
class ClaimingDeliveryStore(DeliveryStore, Protocol):
    """A :class:`DeliveryStore` that can claim a notice atomically before its handler runs."""

    async def claim(self, key: str) -> Literal["claimed", "processed", "busy"]:
        """Take ``key`` for this worker (``"claimed"``) unless it was handled
        (``"processed"``) or another worker is handling it right now (``"busy"``). A claim
        must expire by itself should its worker die."""
        ...

    async def release(self, key: str) -> None:
        """Give up this worker's claim on ``key`` (its handler failed)."""
        ...


class InMemoryDeliveryStore:
    """A bounded in-process :class:`ClaimingDeliveryStore`: the ``max_entries`` most recently
    handled notice keys, and the ones being handled."""

    def __init__(self, max_entries: int = DEFAULT_MAX_REMEMBERED) -> None:
        if max_entries < 1:
            raise ConfigurationError(f"max_entries must be at least 1, got {max_entries}")
        self.max_entries = max_entries
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._claimed: set[str] = set()

    async def is_processed(self, uuid: str) -> bool:
        if uuid in self._seen:
            self._seen.move_to_end(uuid)
            return True
        return False

    async def claim(self, key: str) -> Literal["claimed", "processed", "busy"]:
        if await self.is_processed(key):
            return "processed"
        if key in self._claimed:
            return "busy"
        self._claimed.add(key)
        return "claimed"

    async def release(self, key: str) -> None:
        self._claimed.discard(key)

    async def mark_processed(self, uuid: str) -> None:
        self._claimed.discard(uuid)
        self._seen[uuid] = None
        self._seen.move_to_end(uuid)
        while len(self._seen) > self.max_entries:
            self._seen.popitem(last=False)

    def __len__(self) -> int:
        return len(self._seen)
