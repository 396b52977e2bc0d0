"""Deadlines of many concurrent requests under one event-loop timer.

The read timeout of a direct Topview call was aiohttp's ``sock_read``: a timer created at
the request and created again (the old one cancelled) at every chunk received, two or three
timers per call. At 1,000 calls in flight that was the one part of the client's CPU per call
that grew with the calls in flight (benchmarks/RESULTS.md, section 1). Here every call's
deadline is an entry in one dict; one timer is armed for the earliest deadline and fires
once per timeout period in steady state (the entry it was armed for finished long before),
so a call costs an insertion and a removal. A task whose deadline passes is cancelled and
its :meth:`Deadlines.expired` check turns the cancellation into a timeout, as
``asyncio.timeout`` does (including when someone else cancelled the task as well).
"""

from __future__ import annotations

import asyncio
import math

__all__ = ["Deadline", "Deadlines"]


class Deadline:
    """One task's deadline; hashable by identity."""

    __slots__ = ("cancelling", "expired", "task", "when")

    def __init__(self, task: asyncio.Task[object], when: float) -> None:
        self.task = task
        self.when = when
        self.cancelling = task.cancelling()
        self.expired = False


class Deadlines:
    """Deadlines of the tasks of one event loop (see the module docstring)."""

    def __init__(self) -> None:
        self._entries: dict[Deadline, None] = {}  # an insertion-ordered set
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf

    def enter(self, seconds: float) -> Deadline:
        """Cancel the current task if it has not called :meth:`leave` within ``seconds``."""
        loop = asyncio.get_running_loop()
        task = asyncio.current_task(loop)
        assert task is not None, "a deadline needs a running task"
        entry = Deadline(task, loop.time() + seconds)
        self._entries[entry] = None
        if entry.when < self._timer_at:
            self._arm(loop, entry.when)
        return entry

    def restart(self, entry: Deadline, seconds: float) -> None:
        """Move ``entry``'s deadline to ``seconds`` from now (one entry for two phases)."""
        loop = asyncio.get_running_loop()
        entry.when = loop.time() + seconds
        if entry.when < self._timer_at:
            self._arm(loop, entry.when)
        # Later than the timer: it fires first, finds the entry not due and re-arms for it.

    def leave(self, entry: Deadline) -> None:
        self._entries.pop(entry, None)

    @staticmethod
    def expired(entry: Deadline) -> bool:
        """After a ``CancelledError``: whether it was this deadline's cancellation alone.

        ``True``: the cancellation is withdrawn and the caller raises its timeout error;
        ``False``: the task was (also) cancelled by someone else, so the cancellation stands.
        """
        if not entry.expired:
            return False
        entry.expired = False
        return entry.task.uncancel() <= entry.cancelling

    def _arm(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = when
        self._timer = loop.call_at(when, self._fire, loop)

    def _fire(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        self._timer_at = math.inf
        now = loop.time()
        earliest = math.inf
        for entry in list(self._entries):
            if entry.when <= now:
                del self._entries[entry]
                entry.expired = True
                entry.task.cancel()
            elif entry.when < earliest:
                earliest = entry.when
        if earliest < math.inf:
            self._arm(loop, earliest)
