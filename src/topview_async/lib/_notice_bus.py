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

import json
import os
from typing import TYPE_CHECKING, Any

from .._exceptions import ConfigurationError

if TYPE_CHECKING:
    from ..webhooks._parse import TaskNotice
    from ._redis_bus import RedisNoticeBus

__all__ = [
    "ENV_NOTICE_BUS",
    "LOCAL",
    "decode_notice",
    "encode_notice",
    "notice_bus_from",
    "peek_task_id",
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
        f"not {_without_password(text)!r}"
    )


def _without_password(url: str) -> str:
    """``url`` with a password (``scheme://user:password@host``) masked, for messages."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in credentials:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


def encode_notice(notice: TaskNotice) -> bytes:
    """``notice`` as bytes for the bus: the (verified) result as JSON, the body as received."""
    result: Any = notice.result
    if result is not None and not isinstance(result, dict):
        result = result.model_dump(mode="json", by_alias=True, exclude_unset=True)
    payload = {
        "v": 1,
        "uuid": notice.uuid,
        "biz_type": notice.biz_type,
        "task_id": notice.task_id,
        "status": notice.status,
        "error_msg": notice.error_msg,
        "task_kind": notice.task_kind,
        "verified": notice.verified,
        "result": result,
        "raw": dict(notice.raw),
    }
    return json.dumps(payload, separators=(",", ":"), default=str).encode()


def peek_task_id(data: bytes | str) -> str | None:
    """The task id of an encoded notice, without building the notice (``None``: not one)."""
    try:
        payload = json.loads(data)
    except ValueError:
        return None
    task_id = payload.get("task_id") if isinstance(payload, dict) else None
    return task_id if isinstance(task_id, str) else None


def decode_notice(data: bytes | str) -> TaskNotice:
    """The :class:`TaskNotice` :func:`encode_notice` made (``ValueError`` if it is not one)."""
    from .._generated.models import CallbackNotice
    from ..webhooks._parse import TaskNotice, typed_result

    payload = json.loads(data)
    if not isinstance(payload, dict) or payload.get("v") != 1:
        raise ValueError("not a notice of this SDK's bus")
    kind = payload["task_kind"]
    result = payload["result"]
    if kind is not None and isinstance(result, dict):
        result = typed_result(kind, result, task_id=payload["task_id"], status=payload["status"])
    raw = payload["raw"]
    return TaskNotice(
        uuid=payload["uuid"],
        biz_type=payload["biz_type"],
        task_id=payload["task_id"],
        status=payload["status"],
        error_msg=payload["error_msg"],
        result=result,
        task_kind=kind,
        raw=raw,
        model=CallbackNotice.model_validate(raw),
        verified=bool(payload["verified"]),
    )
