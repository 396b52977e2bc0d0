"""Waiting on many tasks with a bounded pool of pollers.

Each task is one entry ``(next poll time, sequence, index)`` in a heap; a fixed number of
workers (at most the scheduler's in-flight cap) take the entries that are due, poll them
through the client's :class:`PollScheduler` and put them back. Waiting on 10,000 tasks
therefore costs 10,000 small heap entries and a handful of coroutines, never 10,000
coroutines or requests, and the finished handles are handed over through a bounded
stream (a slow consumer slows the pollers down instead of filling memory).
"""

from __future__ import annotations

import heapq
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar, cast

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from .. import _sleep
from .._exceptions import TaskTimeoutError, TopviewError
from .polling import PollPolicy, PollScheduler

if TYPE_CHECKING:
    from ._task_types import TaskProgress
    from .tasks import Task

__all__ = ["as_completed", "wait_all"]

ResultT = TypeVar("ResultT")


class _Driver:
    def __init__(
        self,
        tasks: Sequence[Task[Any]],
        scheduler: PollScheduler,
        policy: PollPolicy,
        on_progress: TaskProgress | None,
    ) -> None:
        self.tasks = tasks
        self.scheduler = scheduler
        self.policy = policy
        self.on_progress = on_progress
        clock = scheduler.clock
        self.deadline = None if policy.timeout is None else clock() + policy.timeout
        self.heap: list[tuple[float, int]] = []
        self.failures: dict[int, int] = {}
        """Consecutive transient query failures per task index (they back off, then retry)."""
        self.error: BaseException | None = None
        self.timed_out = False

    def _push(self, index: int) -> None:
        due = self.tasks[index].polling.next_poll_at(self.scheduler, self.policy)
        if self.deadline is not None:
            due = min(due, self.deadline)
        # No need to wake sleeping workers when this becomes the earliest entry: the worker
        # that pushes it looks at the heap again right away and sleeps towards it.
        heapq.heappush(self.heap, (due, index))

    async def run(self, send: MemoryObjectSendStream[Task[Any]]) -> None:
        # Closing ``send`` (also on error or timeout) ends the consumer's loop.
        async with send:
            for index, task in enumerate(self.tasks):
                if task.done:
                    await send.send(task)
                else:
                    self._push(index)
            workers = min(len(self.heap), self.scheduler.max_in_flight)
            async with anyio.create_task_group() as group:
                for _ in range(workers):
                    group.start_soon(self._worker, send, group.cancel_scope)

    async def _worker(
        self, send: MemoryObjectSendStream[Task[Any]], group_scope: anyio.CancelScope
    ) -> None:
        clock = self.scheduler.clock
        while self.heap:
            due, index = self.heap[0]
            now = clock()
            if due > now:
                await _sleep.sleep(due - now)
                continue
            heapq.heappop(self.heap)
            task = self.tasks[index]
            try:
                update = await task.polling.poll_once(self.scheduler)
                self.failures.pop(index, None)
                if update is not None and self.on_progress is not None:
                    from ._task_types import _notify

                    await _notify(self.on_progress, update)
            except TopviewError as exc:
                if not task.polling.rides_out(exc):
                    self.error = exc
                    group_scope.cancel()
                    return
                # Transient: this task backs off and is tried again; the others go on.
                failures = self.failures[index] = self.failures.get(index, 0) + 1
                retry_at = clock() + task.client.retry.backoff(failures)
                if self.deadline is not None:
                    if clock() >= self.deadline:
                        self.timed_out = True
                        heapq.heappush(self.heap, (due, index))
                        group_scope.cancel()
                        return
                    retry_at = min(retry_at, self.deadline)
                heapq.heappush(self.heap, (retry_at, index))
                continue
            except Exception as exc:
                # Keep the first failure and stop everything; raised after the group exits,
                # so callers see the exception itself rather than an exception group.
                self.error = exc
                group_scope.cancel()
                return
            if task.done:
                await send.send(task)
            elif self.deadline is not None and clock() >= self.deadline:
                self.timed_out = True
                heapq.heappush(self.heap, (due, index))
                group_scope.cancel()
                return
            else:
                self._push(index)

    def raise_if_failed(self) -> None:
        if self.error is not None:
            raise self.error
        if self.timed_out:
            unfinished = [self.tasks[i] for _, i in sorted(self.heap)]
            unfinished += [t for t in self.tasks if not t.done and t not in unfinished]
            raise TaskTimeoutError(
                task=unfinished[0], timeout=self.policy.timeout, unfinished=unfinished
            )


@asynccontextmanager
async def as_completed(
    tasks: Sequence[Task[ResultT]],
    *,
    poll: PollPolicy | None = None,
    on_progress: TaskProgress | None = None,
) -> AsyncIterator[AsyncIterator[Task[ResultT]]]:
    """Yield task handles as they finish (succeeded or failed), polled by a bounded pool::

        async with as_completed(tasks) as finished:
            async for task in finished:
                try:
                    result = await task.wait()   # finished: returns or raises at once
                except TaskFailedError as error:
                    ...

    All tasks must belong to one client. Leaving the block early stops the polling. The
    poll policy's ``timeout`` covers the whole block: when it passes, leaving the block
    raises :class:`TaskTimeoutError` with every ``unfinished`` handle (each still usable).
    A transient query failure backs that task off and polls it again; a permanent query
    error stops the polling and is raised.
    """
    if not tasks:

        async def _nothing() -> AsyncIterator[Task[ResultT]]:
            return
            yield

        yield _nothing()
        return
    client = tasks[0].client
    driver = _Driver(tasks, client.poll_scheduler, tasks[0].polling.policy(poll), on_progress)
    # Bounded: at most one finished handle per worker waits for the consumer.
    send, receive = anyio.create_memory_object_stream["Task[Any]"](
        max_buffer_size=driver.scheduler.max_in_flight
    )
    consumer_error: Exception | None = None
    async with anyio.create_task_group() as group:
        group.start_soon(driver.run, send)
        try:
            async with receive:
                yield cast("AsyncIterator[Task[ResultT]]", receive)
        except Exception as exc:
            # Re-raised below, outside the task group, so it is not wrapped in a group.
            consumer_error = exc
        finally:
            group.cancel_scope.cancel()
    if consumer_error is not None:
        raise consumer_error
    driver.raise_if_failed()


async def wait_all(
    tasks: Sequence[Task[ResultT]],
    *,
    poll: PollPolicy | None = None,
    on_progress: TaskProgress | None = None,
    return_exceptions: bool = False,
) -> list[ResultT | BaseException]:
    """Wait for every task; results in the order of ``tasks``.

    The first failure raises :class:`TaskFailedError` and stops polling the others (their
    handles stay usable), unless ``return_exceptions=True``, which puts the
    ``TaskFailedError`` in the result list instead.
    """
    async with as_completed(tasks, poll=poll, on_progress=on_progress) as finished:
        async for task in finished:
            if not return_exceptions:
                await task.wait()  # raises TaskFailedError for a failed task
    outcomes: list[ResultT | BaseException] = []
    for task in tasks:
        try:
            outcomes.append(await task.wait())
        except Exception as exc:
            if not return_exceptions:
                raise
            outcomes.append(exc)
    return outcomes
