"""The one retry loop: every retry of the SDK is an iteration of :class:`RetryLoop`.

API calls (:mod:`._pipeline`), storage PUTs and upload checks (:mod:`.lib.uploads`) and
downloads (:mod:`.lib.downloads`) all repeat a failed attempt the same way, modelled on
stamina's ``retry_context``::

    async for attempt in RetryLoop(policy, "download"):
        try:
            return await fetch()
        except Transient as exc:
            attempt.failed(error_to_raise, cause=exc, retry_after=header)

The loop is the only place that decides whether another attempt starts, so these hold
everywhere by construction:

* ``retry=None`` (no policy): one attempt;
* the :class:`~topview_async.RetryPolicy`'s attempts and backoff, and its overall ``timeout``
  (no retry starts, no backoff is waited, past it);
* testing mode (:func:`topview_async.testing.set_testing`): its attempt cap and its sleep;
* a ``Retry-After`` longer than the policy's ``retry_after_max`` ends the loop with the
  attempt's typed error carrying ``retry_after`` (the SDK never retries before the server
  asked it to);
* every retry is logged (logger ``topview_async``, INFO) and reported to the policy's
  ``on_retry`` hook as a :class:`RetryEvent`: operation, attempt, cause and wait.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import _sleep
from ._config import parse_retry_after
from ._logging import logger

if TYPE_CHECKING:
    from ._config import RetryPolicy

__all__ = ["Attempt", "RetryEvent", "RetryHook", "RetryLoop", "attempts_allowed"]


@dataclass(frozen=True, slots=True)
class RetryEvent:
    """A retry about to happen, as the log line and the ``on_retry`` hook see it."""

    operation: str
    """What is retried: an operation id (``queryImageToVideoTask``), ``upload`` (the storage
    PUT), ``upload check`` or ``download``."""
    attempt: int
    """The attempt that failed (1 for the first); the next one is ``attempt + 1``."""
    cause: BaseException
    """The failure that caused the retry (a typed SDK error, or the transport's exception)."""
    wait: float
    """Seconds waited before the next attempt."""


RetryHook = Callable[[RetryEvent], None]
"""``RetryPolicy(on_retry=...)``: called before each retry's wait, from the event loop."""


def attempts_allowed(policy: RetryPolicy | None) -> int:
    """Attempts a loop under ``policy`` may make (testing mode's cap applied)."""
    attempts = 1 if policy is None else policy.attempts
    cap = _sleep.testing_attempts()
    return attempts if cap is None else min(attempts, cap)


class Attempt:
    """One iteration of a :class:`RetryLoop`; :meth:`failed` asks for another one."""

    __slots__ = ("_cause", "_error", "_retry_after", "_wait", "number")

    def __init__(self, number: int) -> None:
        self.number = number
        """1 for the first attempt."""
        self._error: BaseException | None = None
        self._cause: BaseException | None = None
        self._retry_after: str | None = None
        self._wait: float | None = None

    def failed(
        self,
        error: BaseException,
        *,
        cause: BaseException | None = None,
        retry_after: str | None = None,
        wait: float | None = None,
    ) -> None:
        """This attempt failed in a way that may be retried.

        ``error`` is raised if no attempt is left; ``cause`` is what the log line and hook
        report (default ``error``); ``retry_after`` is the server's header; ``wait`` replaces
        the policy's backoff (``0.0``: retry at once, for example with a fresh upload URL).
        """
        self._error = error
        self._cause = cause
        self._retry_after = retry_after
        self._wait = wait


class RetryLoop:
    """Attempts of one call, upload, check or download under a :class:`RetryPolicy`.

    Iterate it: each item is an :class:`Attempt`. Leave the loop (``return``/``break``) on
    success, raise on a failure that must not be retried, and call :meth:`Attempt.failed`
    for one that may: the next iteration then logs, reports, waits and yields the next
    attempt, or raises the attempt's error when none is allowed.
    """

    __slots__ = ("_attempt", "_deadline", "_started", "_virtual", "attempts", "operation", "policy")

    def __init__(self, policy: RetryPolicy | None, operation: str) -> None:
        self.policy = policy
        self.operation = operation
        self.attempts = attempts_allowed(policy)
        self._deadline = None if policy is None else policy.timeout
        self._started = time.monotonic()
        self._virtual = 0.0  # waits skipped in testing mode still count against the deadline
        self._attempt: Attempt | None = None

    def __aiter__(self) -> RetryLoop:
        return self

    async def __anext__(self) -> Attempt:
        previous = self._attempt
        if previous is None:
            self._attempt = Attempt(1)
            return self._attempt
        error = previous._error
        if error is None:  # the body went on without success or failure: nothing to retry
            raise StopAsyncIteration
        number = previous.number
        wait = self._wait_before(number, previous)
        if number >= self.attempts or (
            self._deadline is not None and self.elapsed() + wait > self._deadline
        ):
            raise error
        event = RetryEvent(self.operation, number, previous._cause or error, wait)
        logger.info(
            "retrying %s after attempt %d of %d failed (%s), waiting %.2fs",
            self.operation,
            number,
            self.attempts,
            _describe(event.cause),
            wait,
        )
        if self.policy is not None and self.policy.on_retry is not None:
            self.policy.on_retry(event)
        if _sleep.in_testing():
            self._virtual += wait
        await _sleep.sleep(wait)
        self._attempt = Attempt(number + 1)
        return self._attempt

    def elapsed(self) -> float:
        """Seconds spent so far (waits skipped in testing mode included)."""
        return time.monotonic() - self._started + self._virtual

    def _wait_before(self, number: int, attempt: Attempt) -> float:
        """The wait before attempt ``number + 1``; raises when Retry-After is beyond the limit."""
        if attempt._wait is not None:
            return attempt._wait
        policy = self.policy
        if policy is None:
            return 0.0
        wait = policy.wait_for_retry(number, attempt._retry_after)
        if wait is None:  # the server asked for longer than the policy allows: stop here
            error = attempt._error
            assert error is not None
            assert attempt._retry_after is not None
            _carry_retry_after(error, parse_retry_after(attempt._retry_after))
            raise error
        return wait


def _carry_retry_after(error: BaseException, asked: float | None) -> None:
    from ._exceptions import TopviewError

    if isinstance(error, TopviewError):
        error.retry_after = asked


def _describe(cause: BaseException) -> str:
    text = str(cause)
    name = type(cause).__name__
    return f"{name}: {text}" if text else name
