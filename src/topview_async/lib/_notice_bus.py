"""Which notice bus a client's hub uses: in-process (the default) or Redis, shared by a fleet.

A bus carries every verified notice from the receiver that got it to every process that
waits on the same bus, and keeps what deduplication needs fleet-wide. It is chosen by one
setting: ``AsyncTopview(notice_bus=...)`` or the ``TOPVIEW_NOTICE_BUS`` environment variable.

* not set, ``""``, ``"local"``: in-process; callbacks resolve waits of this process only.
* ``"redis://host:6379/0"`` (``rediss://``, ``unix://`` too): Redis (the ``redis`` extra);
  every worker pointing at the same URL resolves its waits whichever worker got the callback.

The Redis implementation lives in :mod:`._redis_bus`, imported only when one is chosen.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from .._exceptions import ConfigurationError
from ._notice_codec import without_password

if TYPE_CHECKING:
    from ._redis_bus import RedisNoticeBus

__all__ = [
    "ENV_NOTICE_BUS",
    "LOCAL",
    "notice_bus_from",
]

ENV_NOTICE_BUS = "TOPVIEW_NOTICE_BUS"
"""The environment variable naming the notice bus when ``notice_bus=`` is not given."""

LOCAL = "local"
"""The in-process bus (the default): callbacks resolve the waits of the receiving process."""

_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def notice_bus_from(setting: object) -> RedisNoticeBus | None:
    """The shared bus ``setting`` names, or ``None`` for in-process.

    ``setting`` is ``notice_bus=`` as given to the client: ``None`` (then the environment
    variable decides), ``"local"``, a Redis URL, or a ready :class:`RedisNoticeBus`.
    """
    if setting is None:
        setting = os.environ.get(ENV_NOTICE_BUS, "")
        source = ENV_NOTICE_BUS
    else:
        source = "notice_bus"
    if not isinstance(setting, str):
        from ._redis_bus import RedisNoticeBus

        if isinstance(setting, RedisNoticeBus):
            return setting
        raise ConfigurationError(
            f"{source} must be 'local' or a redis:// URL, not {type(setting).__name__}"
        )
    text = setting.strip()
    if text in ("", LOCAL, "memory"):
        return None
    if text.startswith(_REDIS_SCHEMES):
        from ._redis_bus import RedisNoticeBus

        return RedisNoticeBus(text)
    raise ConfigurationError(
        f"{source} must be 'local' or a redis://, rediss:// or unix:// URL, "
        f"not {without_password(text)!r}"
    )
