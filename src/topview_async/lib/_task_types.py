"""The values and errors a task handle hands out: updates, progress callbacks, failures.

They live apart from :mod:`.tasks` so that module stays about waiting.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeAlias, TypeVar

from .._exceptions import TopviewError
from ._status import TaskState

if TYPE_CHECKING:
    from .tasks import Task

ResultT = TypeVar("ResultT")


class TaskFailedError(TopviewError):
    """Topview reported the task as failed.

    ``task_id`` and ``kind`` identify the task, ``error_msg`` is Topview's ``errorMsg``
    (``None`` when it gave none), ``status`` the raw failure status and ``result`` the
    last query result, with everything Topview sent.
    """

    def __init__(
        self, *, task_id: str, kind: str, error_msg: str | None, status: str | None, result: object
    ) -> None:
        self.kind = kind
        self.error_msg = error_msg
        self.status = status
        self.result = result
        detail = f": {error_msg}" if error_msg else ""
        super().__init__(f"{kind} task failed (status {status!r}){detail}", task_id=task_id)


class TaskTimeoutError(TopviewError):
    """The poll policy's ``timeout`` passed before the task finished.

    The task itself may still finish: ``task`` is the handle, and ``await task.wait()``
    resumes waiting. ``last_status`` is the raw status seen last (``None`` if never polled).
    From :func:`wait_all` and :func:`as_completed`, ``unfinished`` lists every handle that
    had not finished; ``task`` is the first of them.
    """

    def __init__(
        self,
        *,
        task: Task[Any],
        timeout: float | None,
        unfinished: Sequence[Task[Any]] = (),
    ) -> None:
        self.task = task
        self.kind = task.kind
        self.last_status = task.status
        self.timeout = timeout
        self.unfinished: tuple[Task[Any], ...] = tuple(unfinished) or (task,)
        count = len(self.unfinished)
        what = f"{task.kind} task" if count == 1 else f"{count} tasks (first: {task.kind})"
        super().__init__(
            f"{what} not finished after {timeout} s (last status {task.status!r})",
            task_id=task.task_id,
        )


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
