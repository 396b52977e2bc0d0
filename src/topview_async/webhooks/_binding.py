"""What a receiver built with ``client=`` takes from the client: fetcher, hub and uid."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._exceptions import ConfigurationError

if TYPE_CHECKING:
    from .._client import AsyncTopview

__all__ = ["ClientTaskFetcher", "client_uid"]


class ClientTaskFetcher:
    """Re-reads a notified task through ``client``: the task kind's query operation, through
    the client's request pipeline and poll scheduler (so its retries, rate cap and typed
    results apply), exactly as ``client.tasks.get(kind, task_id).refresh()`` would."""

    def __init__(self, client: AsyncTopview) -> None:
        self._client = client

    async def fetch(self, kind: str, task_id: str) -> object:
        """The current query result of task ``task_id`` of ``kind``."""
        from ..lib.tasks import get_task  # late: the task layer pulls in every model

        return await get_task(self._client, kind, task_id).refresh()


def client_uid(client: AsyncTopview) -> str:
    """The Topview uid the client authenticates with (echoed in acknowledgements only)."""
    from .._client import AsyncTopview

    if not isinstance(client, AsyncTopview):
        raise ConfigurationError(f"client= must be an AsyncTopview, not {type(client).__name__}")
    return client.uid
