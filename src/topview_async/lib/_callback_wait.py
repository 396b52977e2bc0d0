"""Waiting for a task by callback, with slow polling as the safety net (``Task.wait()``).

Two things race for each task: the client's :class:`NoticeHub` handing over the task's
notice, and polling with a slow policy in case the callback never comes. Whichever sees
the end first wins and the other is cancelled; neither has to succeed for the wait to
end. Both run in one task group, so nothing outlives the wait.

With the default safety net the polling side first sleeps until the task should have
ended and called back (:func:`~._safety_net.safety_net_first_poll_age`, asked again each time that
age comes, since the scheduler keeps learning meanwhile): a callback that arrives in time
then costs no poll, only the receiver's verifying re-read.

A notice is a hint until the API confirms it: one the receiver verified (it re-read the
task through the client) is used as it is, any other makes the wait query the task
itself. If the answer shows the task still running (an export of another script of the
same M2V task, an API that lags behind its callback), the race starts again and waits
for a newer notice.
"""

from __future__ import annotations

import dataclasses
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

import anyio

from .. import _sleep
from .._exceptions import TopviewError
from ._safety_net import safety_net_first_poll_age
from ._task_types import TaskProgress, TaskTimeoutError, _notify
from .polling import PollPolicy

if TYPE_CHECKING:
    from ..webhooks._parse import TaskNotice
    from ._notice_hub import NoticeHub
    from .polling import PollScheduler
    from .tasks import Task

__all__ = ["wait_with_callbacks"]


async def wait_with_callbacks(
    task: Task[Any],
    hub: NoticeHub,
    *,
    safety_net: PollPolicy,
    first_poll_late: bool = False,
    on_progress: TaskProgress | None,
    verify_with_api: bool,
) -> None:
    """Return once ``task`` is done (its state tells how); raise ``TaskTimeoutError`` at the
    safety net policy's deadline. ``first_poll_late``: hold the first poll back until
    :func:`~._safety_net.safety_net_first_poll_age` (the default safety net)."""
    scheduler = task.client.poll_scheduler
    clock = scheduler.clock
    deadline = None if safety_net.timeout is None else clock() + safety_net.timeout
    while not task.done:
        # A notice that came before the wait began is taken without any race (or poll).
        notice = hub.latest(task.task_id, skip=task.polling.notices_seen)
        arrived_at = None
        if notice is None:
            remaining = None if deadline is None else deadline - clock()
            if remaining is not None and remaining <= 0:
                raise TaskTimeoutError(task=task, timeout=safety_net.timeout)
            policy = dataclasses.replace(safety_net, timeout=remaining)
            try:
                raced = await _race(task, hub, policy, on_progress, first_poll_late)
            except TaskTimeoutError:
                raise TaskTimeoutError(task=task, timeout=safety_net.timeout) from None
            if raced is None:
                return  # polling saw the end first
            notice, arrived_at = raced
        task.polling.notices_seen.add(notice.uuid)
        try:
            update = await _take(task, notice, scheduler, arrived_at, verify_with_api)
        except TopviewError as exc:
            if not task.polling.rides_out(exc):
                raise
            continue  # the re-read failed transiently: the safety-net polling carries on

        if update is not None and on_progress is not None:
            await _notify(on_progress, update)


async def _race(
    task: Task[Any],
    hub: NoticeHub,
    policy: PollPolicy,
    on_progress: TaskProgress | None,
    first_poll_late: bool,
) -> tuple[TaskNotice, float] | None:
    """Poll with ``policy`` until done, unless a new notice comes first (then return it)."""
    clock = task.client.poll_scheduler.clock
    started = clock()
    arrived: list[tuple[TaskNotice, float]] = []
    error: Exception | None = None
    async with anyio.create_task_group() as group:

        async def listen() -> None:
            notice = await hub.wait_for(task.task_id, skip=task.polling.notices_seen)
            arrived.append((notice, clock()))
            group.cancel_scope.cancel()  # stops the polling below, even mid-query

        group.start_soon(listen)
        try:
            late = first_poll_late and await _sleep_until_first_poll(task, policy)
            if late and policy.timeout is not None:
                # The polling starts later: what is left of the deadline, not all of it.
                slept = clock() - started
                policy = dataclasses.replace(policy, timeout=max(policy.timeout - slept, 0.0))
            async with aclosing(task.polling.updates(policy, look_now=late)) as updates:
                async for update in updates:
                    if on_progress is not None:
                        await _notify(on_progress, update)
        except Exception as exc:
            # Raised after the group, so the caller sees it rather than an exception group.
            error = exc
        finally:
            group.cancel_scope.cancel()  # polling ended first: stop listening
    if error is not None:
        raise error
    return arrived[0] if arrived else None


async def _sleep_until_first_poll(task: Task[Any], policy: PollPolicy) -> bool:
    """Sleep until the first safety-net poll is due; ``False`` if this does not apply.

    It applies to the first poll of a handle whose age is known. A handle rebuilt from an id
    may have finished long ago, so it looks at once; after any poll (or a notice that did
    not end the wait) the safety net's cadence takes over.
    """

    origin = task.polling.first_poll_origin()
    if origin is None:
        return False
    scheduler = task.client.poll_scheduler
    clock = scheduler.clock
    deadline = None if policy.timeout is None else clock() + policy.timeout
    while True:
        # Asked again on every wake-up: while this wait slept, the scheduler may have learned
        # (from callbacks, too) that tasks of this kind take longer than it thought.
        due = origin + safety_net_first_poll_age(scheduler, task.kind, learn=policy.learn)
        if deadline is not None:
            due = min(due, deadline)  # the poll at the deadline is the wait's last look
        now = clock()
        if now >= due:
            return True
        await _sleep.sleep(due - now)


async def _take(
    task: Task[Any],
    notice: TaskNotice,
    scheduler: PollScheduler,
    arrived_at: float | None,
    verify_with_api: bool,
) -> Any:
    """Act on one notice: use its result if it can be trusted, else re-read the task.

    ``arrived_at`` is when the notice was handed over during the race; ``None`` for one that
    came before the wait, at a time unknown, which then teaches the scheduler nothing.
    """
    result = notice.result
    result_type = task.polling.result_type
    trusted = notice.verified or (not verify_with_api and task.kind != "m2v_export")
    learn = arrived_at is not None
    if trusted and isinstance(result_type, type) and isinstance(result, result_type):
        return task.polling.observe(result, scheduler, finished_by=arrived_at, learn=learn)
    return await task.polling.poll_once(scheduler, finished_by=arrived_at, learn=learn)
