"""Polling: the poll policy, and the one scheduler per client that every poll goes through.

:class:`PollPolicy` says how a wait polls (first delay, growth, bounds, jitter, deadline).
:class:`PollScheduler` is shared by every task handle of a client: it caps the queries in
flight and the query rate, so 10,000 waiting tasks never mean 10,000 requests at once, and
it learns how long each task kind takes so it can poll densely only where completion is
likely (see :mod:`._poll_planner` for the reasoning).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from .. import _sleep
from .._config import _jitter_fraction
from .._exceptions import ConfigurationError
from .._operation import Operation

if TYPE_CHECKING:
    import anyio

    from .._client import AsyncTopview
    from ._poll_planner import PollPlanner

__all__ = [
    "DEFAULT_MAX_IN_FLIGHT_POLLS",
    "DEFAULT_POLL_POLICY",
    "DEFAULT_POLL_RATE",
    "Clock",
    "PollPolicy",
    "PollScheduler",
]

Clock = Callable[[], float]
"""A monotonic clock in seconds."""


def _event_loop_time() -> float:
    """``anyio.current_time()``: anyio is imported when a scheduler first needs it, not when
    the client class is (a first call that polls nothing never loads it)."""
    import anyio

    return anyio.current_time()


DEFAULT_MAX_IN_FLIGHT_POLLS: Final = 16
DEFAULT_POLL_RATE: Final = 100.0
"""Task queries per second, per client.

Topview publishes no rate limit. The in-flight cap already bounds the load; the rate only
stops a burst, and a 429 is honoured by the pipeline's Retry-After handling. At 20/s a
client waiting on 1,000 long tasks could look at each only every 50 s, which is what the
polling benchmark showed as a 5x detection delay."""


@dataclass(frozen=True, slots=True)
class PollPolicy:
    """How waiting for a task polls its query endpoint.

    Until the client has seen ``PollScheduler.planner.min_samples`` tasks of a kind finish,
    polls back off geometrically: ``wait_initial``, then times ``wait_exp_base`` each poll.
    Afterwards (with ``learn=True``) the interval follows the learned duration distribution
    of the kind, aiming at a mean detection delay of ``target_delay``: a smaller value
    costs more requests, a larger one saves requests. Every interval is kept within
    ``[wait_min, wait_max]``; up to the fraction ``wait_jitter`` of it is taken off at random
    (the same meaning as :attr:`RetryPolicy.wait_jitter <topview_async.RetryPolicy.wait_jitter>`,
    see :func:`~topview_async._config.jittered`) so tasks submitted together do not poll in
    lockstep.

    A query that fails transiently (HTTP 5xx, a dropped connection, a timeout, a code marked
    retryable), after the pipeline's own retries, does not end the wait: it is tried again
    with the client's retry backoff until ``timeout``. Only permanent errors (401, not found,
    invalid request, validation) end a wait early.

    ``timeout`` bounds one ``wait()`` (seconds from its start; ``None`` waits forever).
    When it expires, :class:`~topview_async.lib.tasks.TaskTimeoutError` is raised and the
    task handle can be waited on again.
    """

    wait_initial: float = 2.0
    wait_exp_base: float = 1.5
    wait_max: float = 30.0
    wait_min: float = 1.0
    wait_jitter: float = 0.1
    timeout: float | None = 1800.0
    learn: bool = True
    target_delay: float = 2.5
    """Mean detection delay the learned schedule aims for (the requests/latency knob)."""

    def __post_init__(self) -> None:
        if self.wait_initial < 0 or self.wait_min < 0 or self.wait_max < self.wait_min:
            raise ConfigurationError(
                "PollPolicy needs 0 <= wait_min <= wait_max and wait_initial >= 0"
            )
        if self.wait_exp_base < 1:
            raise ConfigurationError("PollPolicy.wait_exp_base must be at least 1")
        object.__setattr__(self, "wait_jitter", _jitter_fraction("PollPolicy", self.wait_jitter))
        if self.timeout is not None and self.timeout < 0:
            raise ConfigurationError("PollPolicy.timeout must not be negative")
        if self.target_delay <= 0:
            raise ConfigurationError("PollPolicy.target_delay must be positive")


DEFAULT_POLL_POLICY: Final = PollPolicy()


class _TokenBucket:
    """At most ``rate`` acquisitions per second on average, bursts up to ``burst``."""

    def __init__(self, rate: float, burst: float, clock: Clock) -> None:
        self._rate = rate
        self._burst = burst
        self._clock = clock
        self._tokens = burst
        self._updated = clock()

    async def acquire(self) -> None:
        while True:
            now = self._clock()
            self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
            self._updated = now
            # The epsilon absorbs float rounding: without it a wait of 1e-14 s can be lost
            # in the clock's own rounding and the loop would never see a whole token.
            if self._tokens >= 1.0 - 1e-9:
                self._tokens = max(0.0, self._tokens - 1.0)
                return
            await _sleep.sleep((1.0 - self._tokens) / self._rate)


class PollScheduler:
    """Every task query of one client passes through here.

    ``max_in_flight`` caps simultaneous queries (an :class:`anyio.CapacityLimiter`);
    ``rate`` caps queries per second (a token bucket on ``clock`` that waits through
    ``_sleep.sleep``; ``None`` disables it). ``planner`` holds what has been learned about
    task durations; it is bounded per kind. Every client owns one as
    ``client.poll_scheduler``; assign another there to inject one (tests do, to pass a
    fake clock).
    """

    def __init__(
        self,
        *,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT_POLLS,
        rate: float | None = DEFAULT_POLL_RATE,
        clock: Clock = _event_loop_time,
        planner: PollPlanner | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if max_in_flight < 1:
            raise ConfigurationError(
                f"max_in_flight (AsyncTopview(max_in_flight_polls=...)) must be at least 1, got "
                f"{max_in_flight}"
            )
        if rate is not None and rate <= 0:
            raise ConfigurationError(
                "rate (AsyncTopview(poll_rate=...)) must be positive (or None for no limit)"
            )
        self.max_in_flight = max_in_flight
        self.rate = rate
        self.clock = clock
        self._planner = planner
        self.rng = rng or random.Random()
        self._limiter: anyio.CapacityLimiter | None = None
        self._bucket: _TokenBucket | None = None

    @property
    def planner(self) -> PollPlanner:
        """What has been learned about task durations; built at the first poll, since every
        client has a scheduler and most first calls poll nothing."""
        if self._planner is None:
            from ._poll_planner import PollPlanner

            self._planner = PollPlanner()
        return self._planner

    @planner.setter
    def planner(self, planner: PollPlanner) -> None:
        self._planner = planner

    @property
    def limiter(self) -> anyio.CapacityLimiter:
        """Created on first use, because an anyio limiter belongs to a running event loop."""
        if self._limiter is None:
            import anyio

            self._limiter = anyio.CapacityLimiter(self.max_in_flight)
        return self._limiter

    async def query(
        self, client: AsyncTopview, operation: Operation, task_id: str, result_type: Any
    ) -> Any:
        """Query one task through the caps; returns the typed ``result``."""
        async with self.limiter:
            if self.rate is not None:
                if self._bucket is None:
                    self._bucket = _TokenBucket(self.rate, max(1.0, self.rate), self.clock)
                await self._bucket.acquire()
            return await client.request(
                operation, query={"taskId": task_id}, result_type=result_type, task_id=task_id
            )

    def interval(self, kind: str, *, age: float | None, polls: int, policy: PollPolicy) -> float:
        """Seconds between the previous poll (or submit) and the next one."""
        return self.planner.interval(kind, age=age, polls=polls, policy=policy, rng=self.rng)

    def record_duration(self, kind: str, seconds: float) -> None:
        """Learn from a finished task."""
        self.planner.record(kind, seconds)
