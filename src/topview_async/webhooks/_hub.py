"""In-process hand-off of notices to whoever waits for a task (``Task.wait()``, for one)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import anyio

from ._parse import TaskNotice

__all__ = ["DEFAULT_MAX_RETAINED", "NoticeHub"]

DEFAULT_MAX_RETAINED = 1024
"""How many tasks' latest notices a :class:`NoticeHub` keeps for late waiters."""


@dataclass(eq=False)
class _Waiter:
    task_kind: str | None
    arrived: anyio.Event = field(default_factory=anyio.Event)
    notice: TaskNotice | None = None


class NoticeHub:
    """Publish notices as they arrive; let tasks wait for theirs.

    The webhook router publishes every accepted notice (pass ``hub=`` to it). A task waiting
    for its result can then stop polling as soon as the callback lands::

        hub = NoticeHub()
        app.include_router(topview_webhook_router(secret=..., handler=..., hub=hub))
        ...
        notice = await hub.wait_for(task_id)        # returns at once if it already arrived

    The latest notice of the ``max_retained`` most recently notified tasks is kept, because a
    fast task can call back before anyone starts waiting. Nothing runs in the background:
    ``publish`` wakes the waiters and returns. Use a hub from one event loop only.
    """

    def __init__(self, *, max_retained: int = DEFAULT_MAX_RETAINED) -> None:
        if max_retained < 1:
            raise ValueError("max_retained must be at least 1")
        self.max_retained = max_retained
        # task id -> {task kind: latest notice}; insertion order = arrival order.
        self._retained: OrderedDict[str, dict[str | None, TaskNotice]] = OrderedDict()
        self._waiters: dict[str, list[_Waiter]] = {}

    def publish(self, notice: TaskNotice) -> None:
        """Record ``notice`` and wake everyone waiting for its task."""
        kinds = self._retained.pop(notice.task_id, {})
        kinds.pop(notice.task_kind, None)
        kinds[notice.task_kind] = notice
        self._retained[notice.task_id] = kinds
        while len(self._retained) > self.max_retained:
            self._retained.popitem(last=False)
        for waiter in self._waiters.get(notice.task_id, ()):
            if waiter.task_kind is None or waiter.task_kind == notice.task_kind:
                waiter.notice = notice
                waiter.arrived.set()

    def latest(self, task_id: str, *, task_kind: str | None = None) -> TaskNotice | None:
        """The most recent retained notice for ``task_id`` (of ``task_kind``, if given)."""
        kinds = self._retained.get(task_id)
        if not kinds:
            return None
        if task_kind is not None:
            return kinds.get(task_kind)
        return next(reversed(kinds.values()))

    async def wait_for(self, task_id: str, *, task_kind: str | None = None) -> TaskNotice:
        """Wait until a notice for ``task_id`` arrives (or return the one already retained).

        ``task_kind`` narrows it to one kind: an M2V task gets an ``m2v`` notice for its
        preview and an ``m2v_export`` one per export, all with the same task id. Wrap the
        call in ``anyio.fail_after`` / ``move_on_after`` for a deadline.
        """
        retained = self.latest(task_id, task_kind=task_kind)
        if retained is not None:
            return retained
        waiter = _Waiter(task_kind)
        self._waiters.setdefault(task_id, []).append(waiter)
        try:
            await waiter.arrived.wait()
        finally:
            waiters = self._waiters[task_id]
            waiters.remove(waiter)
            if not waiters:
                del self._waiters[task_id]
        assert waiter.notice is not None  # set together with the event
        return waiter.notice

    @property
    def waiting(self) -> int:
        """How many ``wait_for`` calls are blocked right now."""
        return sum(len(waiters) for waiters in self._waiters.values())
