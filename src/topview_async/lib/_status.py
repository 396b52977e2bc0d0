"""Reading a task's state out of a query result, the same way for every endpoint.

Topview's query endpoints disagree on where the status lives (``status`` on most,
``taskStatus`` on the product-avatar replace query) and on how failure is spelled
(``fail``, ``failed``, ``failure``). Everything here is pure, so the rules are tested
as a table and every poller, callback and waiter applies exactly the same ones.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from .._generated.task_kinds import TASK_KINDS
from .._operation import FieldName

__all__ = [
    "COMPLETION_RULES",
    "Outcome",
    "TaskState",
    "evaluate",
    "normalize_status",
    "read_field",
    "read_status",
    "reports_finished",
]


class TaskState(enum.StrEnum):
    """Where a task is, whatever the endpoint calls it."""

    RUNNING = "running"
    """Not finished: ``init``, ``running``, ``processing``, no status yet, or an unknown value."""
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def is_terminal(self) -> bool:
        """``True`` once the task succeeded or failed."""
        return self is not TaskState.RUNNING


_ANY_STATUS_FIELD: Final = tuple(
    dict.fromkeys(
        field
        for facts in TASK_KINDS.values()
        for field in (facts.status_field, *facts.status_fallbacks)
    )
)
"""Every place some kind keeps its status, in spec order (``status`` first)."""

_SUCCESS: Final = frozenset({"success"})
_FAILURE: Final = frozenset({"fail", "failed", "failure", "error"})


def normalize_status(raw: object) -> TaskState:
    """Map a raw Topview status to a :class:`TaskState` (case-insensitive).

    ``success`` is done; ``fail``, ``failed``, ``failure`` and ``error`` are failures;
    anything else, including ``None`` and values Topview adds later, means still running.
    """
    if raw is None:
        return TaskState.RUNNING
    text = str(getattr(raw, "value", raw)).strip().lower()
    if text in _SUCCESS:
        return TaskState.SUCCEEDED
    if text in _FAILURE:
        return TaskState.FAILED
    return TaskState.RUNNING


def read_field(obj: object, python_name: str, wire_name: str) -> object:
    """A field of a result by Python name or wire name; works on models and raw dicts.

    Lenient clients hand back raw dicts, and unknown fields sit in ``model_extra``
    under their wire names, so all three places are looked at.
    """
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        value = obj.get(wire_name)
        return obj.get(python_name) if value is None else value
    value = getattr(obj, python_name, None)
    if value is None:
        extra = getattr(obj, "model_extra", None)
        if isinstance(extra, Mapping):
            value = extra.get(wire_name, extra.get(python_name))
    return value


def _status_fields(kind: str | None) -> tuple[FieldName, ...]:
    facts = TASK_KINDS.get(kind) if kind is not None else None
    if facts is None:
        return _ANY_STATUS_FIELD
    return (facts.status_field, *facts.status_fallbacks)


def read_status(result: object, kind: str | None = None) -> str | None:
    """The raw status of a query result of task ``kind``, where the spec says it is
    (``statusField``, then ``statusFieldFallbacks``); for no or an unknown kind, wherever any
    kind keeps it (``status``, then ``taskStatus``)."""
    raw = None
    for wire_name, python_name in _status_fields(kind):
        raw = read_field(result, python_name, wire_name)
        if raw is not None:
            break
    if raw is None:
        return None
    return str(getattr(raw, "value", raw))


def _read_error(obj: object) -> str | None:
    value = read_field(obj, "error_msg", "errorMsg")
    return None if value is None or value == "" else str(value)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one query result says about a task."""

    state: TaskState
    status: str | None
    """The raw status the decision was based on."""
    error_msg: str | None = None


@dataclass(frozen=True, slots=True)
class _Context:
    kind: str
    script_id: int | None


CompletionRule = Callable[[object, "_Context"], Outcome]


def _task_status_rule(result: object, context: _Context) -> Outcome:
    status = read_status(result, context.kind)
    state = normalize_status(status)
    return Outcome(state, status, _read_error(result) if state is TaskState.FAILED else None)


def _m2v_export_rule(result: object, context: _Context) -> Outcome:
    """An export is one entry of ``exportVideos``: done when it has succeeded *and* has a URL.

    The M2V task's own status already says ``success`` once the previews are ready, so
    it cannot tell whether the export finished; only the entry for our ``scriptId`` can.
    """
    wanted = 0 if context.script_id is None else context.script_id
    (list_wire, list_python), (url_wire, url_python) = _export_fields()
    videos = read_field(result, list_python, list_wire) or ()
    entry = _entry_for_script(videos, wanted)
    if entry is None and str(wanted) == "0":
        # Topview documents scriptId 0 as "the first script", but the ids it hands out are
        # not confirmed to start at 0: fall back to the smallest id the task has.
        first = _first_script_id(result)
        if first is not None:
            entry = _entry_for_script(videos, first)
    if entry is None:
        # No entry yet: only a failure of the whole task is final.
        task_status = read_status(result, context.kind)
        if normalize_status(task_status) is TaskState.FAILED:
            return Outcome(TaskState.FAILED, task_status, _read_error(result))
        return Outcome(TaskState.RUNNING, None)
    status = read_status(entry)
    state = normalize_status(status)
    if state is TaskState.FAILED:
        return Outcome(state, status, _read_error(entry) or _read_error(result))
    if state is TaskState.SUCCEEDED and not read_field(entry, url_python, url_wire):
        return Outcome(TaskState.RUNNING, status)  # marked done, URL not published yet
    return Outcome(state, status)


def _export_fields() -> tuple[FieldName, FieldName]:
    """The export list and its URL field: the first ``resultFiles`` path of ``m2v_export``."""
    path = TASK_KINDS["m2v_export"].result_files[0]
    return path[0].names[0], path[-1].names[0]


def _entry_for_script(videos: object, wanted: object) -> object | None:
    if not isinstance(videos, list | tuple):
        return None
    for video in videos:
        script_id = read_field(video, "script_id", "scriptId")
        if script_id is not None and str(script_id) == str(wanted):
            found: object = video
            return found
    return None


def _first_script_id(result: object) -> int | None:
    ids: list[int] = []
    for field in (("preview_videos", "previewVideos"), ("export_videos", "exportVideos")):
        videos = read_field(result, *field) or ()
        if isinstance(videos, list | tuple):
            for video in videos:
                script_id = read_field(video, "script_id", "scriptId")
                if script_id is not None and str(script_id).lstrip("-").isdigit():
                    ids.append(int(str(script_id)))
    return min(ids) if ids else None


COMPLETION_RULES: Final[Mapping[str, CompletionRule]] = {
    "m2v_export": _m2v_export_rule,
}
"""Kinds whose completion is not just the task status. Every other kind uses the status.

``m2v`` needs no entry: with ``preview=true`` the task status turns ``success`` once the
previews are ready, which is exactly when a caller can pick a script to export.
"""


def evaluate(kind: str, result: object, *, script_id: int | None = None) -> Outcome:
    """Decide from one query result whether a task of ``kind`` is running, done or failed."""
    rule = COMPLETION_RULES.get(kind, _task_status_rule)
    return rule(result, _Context(kind=kind, script_id=script_id))


def reports_finished(kind: str, result: object) -> bool:
    """Whether a query result confirms that a callback of task ``kind`` had reason to come.

    A callback says "finished", and the receiver asks the API whether that is true. For most
    kinds that is the task status. An ``m2v_export`` callback is about one export, whose
    script the callback does not name, while the M2V task's own status reads ``running``
    as long as any other export still renders: there, one finished export is enough.
    A result with no status at all (UNCONFIRMED shapes) confirms nothing and denies nothing:
    it counts as finished, and the caller keeps the callback's own status.
    """
    status = read_status(result, kind)
    if status is None or normalize_status(status) is not TaskState.RUNNING:
        return True
    if kind != "m2v_export":
        return False
    (list_wire, list_python), _url = _export_fields()
    videos = read_field(result, list_python, list_wire) or ()
    if not isinstance(videos, list | tuple):
        return False
    for video in videos:
        script_id = read_field(video, "script_id", "scriptId")
        if script_id is None or not str(script_id).lstrip("-").isdigit():
            continue
        if evaluate(kind, result, script_id=int(str(script_id))).state.is_terminal:
            return True
    return False
