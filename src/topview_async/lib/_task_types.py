"""The values a task handle hands out: updates and progress callbacks (its errors are in
:mod:`.._exceptions`).

They live apart from :mod:`.tasks` so that module stays about waiting.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeAlias, TypeVar

# The task errors live in _exceptions.py; re-exported from their old home.
from .._exceptions import TaskFailedError as TaskFailedError
from .._exceptions import TaskTimeoutError as TaskTimeoutError
from ._status import TaskState

ResultT = TypeVar("ResultT")


@dataclass(frozen=True, slots=True)
class TaskUpdate(Generic[ResultT]):
    """One observed change of a task's status, as passed to progress callbacks."""

    task_id: str
    kind: str
    status: str | None
    """Topview's raw status (for ``m2v_export``, the status of the exported script's video)."""
    state: TaskState
    result: ResultT
    """The full query result the change was seen in."""
    error_msg: str | None = None


TaskProgress: TypeAlias = Callable[[TaskUpdate[Any]], Awaitable[None] | None]
"""``on_progress(update)`` of ``task.wait()``, ``as_completed`` and ``wait_all``: called with
every :class:`TaskUpdate` (a status change); a plain function or a coroutine function.
(Byte progress of uploads and downloads is :data:`~topview_async.TransferProgress`.)"""

ProgressCallback: TypeAlias = TaskProgress
"""The old name of :data:`TaskProgress`, kept so existing code keeps working."""


async def _notify(callback: TaskProgress, update: TaskUpdate[Any]) -> None:
    outcome = callback(update)
    if inspect.isawaitable(outcome):
        await outcome
