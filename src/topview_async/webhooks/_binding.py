"""What a receiver built with ``client=`` takes from the client: fetcher, hub and uid."""

from __future__ import annotations

from typing import Any

from .._exceptions import ConfigurationError

__all__ = ["ClientTaskFetcher", "client_uid"]


class ClientTaskFetcher:
    """Re-reads a notified task through ``client``: the task kind's query operation, through
    the client's request pipeline and poll scheduler (so its retries, rate cap and typed
    results apply), exactly as ``client.tasks.get(kind, task_id).refresh()`` would."""

    def __init__(self, client: Any) -> None:
        self._client = client

    async def fetch(self, kind: str, task_id: str) -> object:
        """The current query result of task ``task_id`` of ``kind``."""
        from ..lib.tasks import get_task  # late: the task layer pulls in every model

        return await get_task(self._client, kind, task_id).refresh()


def client_uid(client: Any) -> str:
    """The Topview uid the client authenticates with (echoed in acknowledgements only)."""
    credentials = getattr(client, "_credentials", None)
    uid = getattr(credentials, "uid", None)
    if not isinstance(uid, str) or not uid:
        raise ConfigurationError("client= must be an AsyncTopview (it has no Topview uid)")
    return uid
