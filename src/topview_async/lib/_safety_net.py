"""The safety net of a wait by callback: when to poll a task whose callback may be lost.

Re-exported by :mod:`topview_async.lib.tasks`; its own module so that the callback wait
(:mod:`._callback_wait`) and the task handle read one definition without importing each other.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Final

from .polling import PollPolicy, PollScheduler

__all__ = [
    "SAFETY_NET_FIRST_MAX",
    "SAFETY_NET_WAIT_MAX",
    "SAFETY_NET_WAIT_MIN",
    "safety_net_first_poll_age",
    "safety_net_policy",
]

SAFETY_NET_WAIT_MIN: Final = 30.0
"""Fewest seconds between two safety-net polls of a task waited on by callback (see
`Task.wait()`); also the allowance, after the learned end of a kind's tasks, for the
callback to arrive before the first one (see :func:`safety_net_first_poll_age`)."""
SAFETY_NET_WAIT_MAX: Final = 120.0
"""Most seconds between two safety-net polls after the first, so a task whose callback was
lost and that ends after the first one is noticed within this long (see
:data:`SAFETY_NET_FIRST_MAX` for one that ends before). Also the task age of the first
poll while the client has not yet learned how long tasks of the kind take."""
SAFETY_NET_FIRST_MAX: Final = 600.0
"""The latest task age (seconds since its submit) of the first safety-net poll.

With :data:`SAFETY_NET_WAIT_MAX` this bounds how late a lost callback is made up for: a task
waited on by callback whose callback never comes is noticed by task age
``SAFETY_NET_FIRST_MAX`` or ``SAFETY_NET_WAIT_MAX`` seconds after it ended, whichever is
later (a poll policy with a larger ``wait_max`` stretches the latter; the scheduler's caps
on queries in flight and per second come on top)."""
_SAFETY_NET_LATE_Z: Final = 2.326
"""The 99th percentile of a lognormal, in standard deviations of ``log(duration)``."""


def safety_net_policy(policy: PollPolicy) -> PollPolicy:
    """``policy`` slowed down to a safety net: intervals of at least :data:`SAFETY_NET_WAIT_MIN`
    and up to :data:`SAFETY_NET_WAIT_MAX` seconds; the deadline (``timeout``) is kept.

    This is the cadence once the safety net has started. By default `Task.wait()` holds
    the first poll back until the task should have ended and called back
    (:func:`safety_net_first_poll_age`), so a callback that arrives costs no poll at all.
    """
    return dataclasses.replace(
        policy,
        wait_initial=max(policy.wait_initial, SAFETY_NET_WAIT_MIN),
        wait_min=max(policy.wait_min, SAFETY_NET_WAIT_MIN),
        wait_max=max(policy.wait_max, SAFETY_NET_WAIT_MAX),
    )


def safety_net_first_poll_age(scheduler: PollScheduler, kind: str, *, learn: bool = True) -> float:
    """Task age (seconds since submit) of the first safety-net poll of a wait by callback.

    Once ``scheduler`` has learned ``kind``'s durations (from the tasks it saw finish, by
    poll or by callback): the 99th percentile of those durations plus
    :data:`SAFETY_NET_WAIT_MIN` for the callback to arrive, so the poll only comes for a
    task that by then should have called back. Before that (or with ``learn=False``):
    :data:`SAFETY_NET_WAIT_MAX`. Never later than :data:`SAFETY_NET_FIRST_MAX`. A wait asks
    again when that age comes, so what was learned in the meantime moves it.
    """
    planner = scheduler.planner
    stats = planner.stats(kind) if learn else None
    if stats is None or stats.count < planner.min_samples:
        return SAFETY_NET_WAIT_MAX
    late = math.exp(stats.mean + _SAFETY_NET_LATE_Z * stats.sigma) + SAFETY_NET_WAIT_MIN
    return min(late, SAFETY_NET_FIRST_MAX)
