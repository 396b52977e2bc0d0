"""Connection slots: the one ``max_connections`` limit of the aiohttp transport, with the pool
timeout.

A semaphore under ``asyncio.timeout`` would do, but at 1,000 calls in flight most calls wait
for a slot, and a timeout scope per wait (a timer armed and cancelled per call) costs more CPU
than the wait itself. Here the waiters share one timer, set for the earliest deadline; it
rarely fires (only when a waiter really is late), so a wait costs what a semaphore's does.
Waiters are served first come, first served; a freed slot goes straight to the next waiter.
"""

from __future__ import annotations

import asyncio
from collections import deque

__all__ = ["Slots"]


class _Waiter:
    __slots__ = ("deadline", "future")

    def __init__(self, future: asyncio.Future[bool], deadline: float | None) -> None:
        self.future = future
        self.deadline = deadline


class Slots:
    """``limit`` slots; :meth:`acquire` waits at most ``pool_timeout`` seconds for one."""

    def __init__(self, limit: int) -> None:
        self._free = limit
        self._waiters: deque[_Waiter] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0

    def locked(self) -> bool:
        return self._free == 0

    async def acquire(self, pool_timeout: float | None = None) -> bool:
        """Take a slot; ``False`` if none was free within ``pool_timeout`` (``None``: wait on)."""
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return True
        loop = asyncio.get_running_loop()
        deadline = None if pool_timeout is None else loop.time() + pool_timeout
        waiter = _Waiter(loop.create_future(), deadline)
        self._waiters.append(waiter)
        if deadline is not None and (self._timer is None or deadline < self._timer_at):
            self._arm(loop, deadline)
        try:
            return await waiter.future
        except asyncio.CancelledError:
            future = waiter.future
            if future.done() and not future.cancelled() and future.result():
                self.release()  # handed a slot just as we were cancelled: pass it on
            raise

    def release(self) -> None:
        while self._waiters:
            future = self._waiters.popleft().future
            if not future.done():
                future.set_result(True)  # the slot goes straight to the next waiter
                return
        self._free += 1

    def _arm(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = when
        self._timer = loop.call_at(when, self._expire, loop)

    def _expire(self, loop: asyncio.AbstractEventLoop) -> None:
        """Fail the waiters whose deadline passed; re-arm for the earliest one left."""
        self._timer = None
        now = loop.time()
        earliest: float | None = None
        for waiter in self._waiters:
            if waiter.future.done() or waiter.deadline is None:
                continue
            if waiter.deadline <= now:
                waiter.future.set_result(False)
            elif earliest is None or waiter.deadline < earliest:
                earliest = waiter.deadline
        if earliest is not None:
            self._arm(loop, earliest)
