"""The client's notice hub, as the webhooks package shows it (it lives in ``lib/``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lib._notice_hub import DEFAULT_MAX_RETAINED, NoticeHub

if TYPE_CHECKING:
    from .._client import AsyncTopview

__all__ = ["DEFAULT_MAX_RETAINED", "NoticeHub", "notice_hub"]


def notice_hub(client: AsyncTopview) -> NoticeHub:
    """The client's own hub, ``client.notice_hub`` (kept for code written before it was an
    attribute)."""
    return client.notice_hub
