"""A notice on the wire of a shared bus: what a receiver publishes and every hub reads back.

The encoded form is the verified result as JSON plus the body as received, so a listener
rebuilds the same :class:`~topview_async.webhooks.TaskNotice` the receiver held.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..webhooks._parse import TaskNotice

__all__ = ["decode_notice", "encode_notice", "peek_task_id", "without_password"]


def without_password(url: str) -> str:
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
