"""Turn a callback body into a typed :class:`TaskNotice` (REFERENCE §4.1).

The body is first validated as the generated ``CallbackNotice``; then ``result`` (an object,
or a JSON-encoded string: which one Topview sends is UNCONFIRMED) is validated into the query
result model of the task type named by ``bizType``. Unknown ``bizType`` values are not an
error: the notice keeps ``result`` as a plain dict so newer task types still reach the handler.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, cast

import pydantic

from .._generated import task_kinds as _task_kinds
from .._generated.models import CallbackNotice
from .._models import TopviewModel
from ..lib._status import TaskState, normalize_status
from ._errors import InvalidWebhookPayloadError, WebhookTooLargeError

__all__ = [
    "BIZ_TYPE_KINDS",
    "DEFAULT_MAX_BODY_SIZE",
    "KIND_RESULT_MODELS",
    "TaskNotice",
    "parse_notice",
    "typed_result",
]

logger = logging.getLogger("topview_async.webhooks")

DEFAULT_MAX_BODY_SIZE: Final = 1024 * 1024
"""Largest callback body accepted (1 MiB): real notices are a few kilobytes."""

BIZ_TYPE_KINDS: Final[Mapping[str, str]] = _task_kinds.BIZ_TYPE_KINDS
"""Documented ``bizType`` -> the SDK's task kind (each kind's ``x-topview-task.bizTypes``).

``M2V_EXPORT`` is also sent for an M2V submit with preview=false, whose task handle has kind
``m2v``."""

KIND_RESULT_MODELS: Final[Mapping[str, type[TopviewModel]]] = {
    kind: cast("type[TopviewModel]", facts.result_type)
    for kind, facts in _task_kinds.TASK_KINDS.items()
}
"""Task kind -> the generated model of its query result (what a callback's ``result`` is)."""


@dataclass(frozen=True)
class TaskNotice:
    """One callback from Topview: a task reached a terminal state.

    ``result`` is the task's query result as its generated model (``M2vTaskResult`` for an
    ``M2V_EXPORT`` notice, ...), a plain dict for an unknown ``bizType``, or ``None`` when the
    notice carries none. ``task_kind`` is the SDK's kind name (``"m2v"``, ``"video_avatar"``,
    ...; ``None`` for an unknown ``bizType``). ``verified`` is true when ``result``, ``status``
    and ``error_msg`` were re-fetched from the authenticated API rather than taken from the
    callback body. ``raw`` is the body exactly as received. ::

        notice = parse_notice(body)
        if notice.succeeded and notice.task_kind == "video_avatar":
            print(notice.result.output_video_url)
    """

    uuid: str
    biz_type: str | None
    task_id: str
    status: str | None
    error_msg: str | None
    result: TopviewModel | dict[str, Any] | None
    task_kind: str | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)
    model: CallbackNotice = field(repr=False, compare=False)
    """The body validated as the generated ``CallbackNotice`` (``result`` as received)."""
    verified: bool = False

    @property
    def state(self) -> TaskState:
        """``status`` normalised exactly as task waits normalise a polled status."""
        return normalize_status(self.status)

    @property
    def succeeded(self) -> bool:
        """True when the task finished successfully."""
        return self.state is TaskState.SUCCEEDED

    @property
    def failed(self) -> bool:
        """True when the task failed (``fail``, ``failed``, ``failure`` or ``error``)."""
        return self.state is TaskState.FAILED


def parse_notice(
    body: bytes | bytearray | str | Mapping[str, Any],
    *,
    max_body_size: int = DEFAULT_MAX_BODY_SIZE,
    strict: bool = False,
) -> TaskNotice:
    """Parse a callback body (bytes, text or an already decoded dict) into a :class:`TaskNotice`.

    Raises :class:`WebhookTooLargeError` for a raw body over ``max_body_size`` bytes and
    :class:`InvalidWebhookPayloadError` for anything that is not a valid notice. A ``result``
    that does not match the model of its ``bizType`` is kept as a dict (and logged) unless
    ``strict`` is true, because refusing a real notice over a field the docs left
    UNCONFIRMED would only make Topview deliver it again, forever.
    """
    data = _decode(body, max_body_size) if not isinstance(body, Mapping) else dict(body)
    data = _wrap_bare_result(data)
    try:
        model = CallbackNotice.model_validate(data)
    except pydantic.ValidationError as exc:
        raise InvalidWebhookPayloadError(f"not a Topview callback: {_summary(exc)}") from exc
    if not model.uuid.strip():
        raise InvalidWebhookPayloadError("not a Topview callback: uuid is empty")
    result = _result_object(model.result, model.task_id)
    biz_type = model.biz_type
    kind = BIZ_TYPE_KINDS.get(biz_type) if biz_type is not None else None
    typed: TopviewModel | dict[str, Any] | None = result
    if kind is not None and result is not None:
        typed = typed_result(
            kind, result, task_id=model.task_id, status=model.status, strict=strict
        )
    return TaskNotice(
        uuid=model.uuid,
        biz_type=biz_type,
        task_id=model.task_id,
        status=model.status,
        error_msg=model.error_msg,
        result=typed,
        task_kind=kind,
        raw=data,
        model=model,
    )


def _wrap_bare_result(data: dict[str, Any]) -> dict[str, Any]:
    """A bare query result (no ``uuid``/``bizType`` wrapper; the spec's ``BareCallbackResult``)
    as a notice of unknown kind, identified by its ``taskId`` (CORRECTIONS #20).

    Its ``uuid`` is derived from the task id and status, so a redelivery is still a duplicate.
    """
    task_id = data.get("taskId")
    if "uuid" in data or "bizType" in data or not isinstance(task_id, str) or not task_id:
        return data
    status = data.get("status") or data.get("taskStatus") or ""
    return {
        "uuid": f"bare-{task_id}-{status}",
        "taskId": task_id,
        "status": str(status),
        "errorMsg": data.get("errorMsg"),
        "result": data,
    }


def typed_result(
    kind: str,
    result: Mapping[str, Any],
    *,
    task_id: str | None = None,
    status: str | None = None,
    strict: bool = False,
) -> TopviewModel | dict[str, Any]:
    """Validate a query result of task ``kind`` into its generated model.

    ``taskId`` and ``status`` are filled from the notice when the model requires them and the
    result leaves them out (the notice carries both at the top level). On a mismatch the dict
    comes back unchanged, or :class:`InvalidWebhookPayloadError` is raised when ``strict``.
    """
    model_type = KIND_RESULT_MODELS.get(kind)
    if model_type is None:
        return dict(result)
    data = dict(result)
    fields = model_type.model_fields
    if "taskId" not in data and fields["task_id"].is_required() and task_id is not None:
        data["taskId"] = task_id
    if "status" not in data and "status" in fields and fields["status"].is_required():
        data["status"] = status
    try:
        return model_type.model_validate(data)
    except pydantic.ValidationError as exc:
        message = f"{kind} result does not match {model_type.__name__}: {_summary(exc)}"
        if strict:
            raise InvalidWebhookPayloadError(message, task_id=task_id) from exc
        logger.warning("%s; keeping the raw result (task %s)", message, task_id)
        return dict(result)


def _decode(body: bytes | bytearray | str, max_body_size: int) -> dict[str, Any]:
    raw = body.encode() if isinstance(body, str) else bytes(body)
    if len(raw) > max_body_size:
        raise WebhookTooLargeError(
            f"callback body is larger than {max_body_size} bytes", limit=max_body_size
        )
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidWebhookPayloadError(f"callback body is not JSON: {exc}") from exc
    except RecursionError as exc:  # pathological nesting: refuse rather than crash
        raise InvalidWebhookPayloadError("callback body is nested too deeply") from exc
    if not isinstance(data, dict):
        raise InvalidWebhookPayloadError(
            f"callback body must be a JSON object, not {type(data).__name__}"
        )
    return data


def _result_object(result: dict[str, Any] | str | None, task_id: str) -> dict[str, Any] | None:
    if not isinstance(result, str):
        return result
    if not result.strip():
        return None
    try:
        decoded = json.loads(result)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise InvalidWebhookPayloadError(
            "callback result is a string but not JSON", task_id=task_id
        ) from exc
    if decoded is None or isinstance(decoded, dict):
        return decoded
    raise InvalidWebhookPayloadError(
        f"callback result must encode a JSON object, not {type(decoded).__name__}", task_id=task_id
    )


def _summary(exc: pydantic.ValidationError) -> str:
    # Field locations and error types only: the offending values may hold presigned URLs.
    parts = [
        f"{'.'.join(str(p) for p in error['loc']) or 'body'}: {error['msg']}"
        for error in exc.errors(include_url=False, include_input=False)[:5]
    ]
    return "; ".join(parts)
