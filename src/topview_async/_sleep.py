"""The one sleep every wait in the SDK goes through, and its testing switch.

Backoff between retries, poll intervals, upload checks and Retry-After waits all call
:func:`sleep`. Tests switch waiting off (or record it) with the public testing switch, the
way stamina's ``set_testing`` works, instead of patching this module::

    from topview_async.testing import set_testing

    with set_testing(True, attempts=1):       # no waits, no retries
        ...
    set_testing(True, sleep=recorder)         # every wait goes to ``recorder`` instead
    set_testing(False)

The one retry loop (:mod:`._retry_loop`) reads testing mode's attempt cap from here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType

__all__ = ["SleepFunction", "TestingMode", "in_testing", "set_testing", "sleep", "testing_attempts"]

SleepFunction = Callable[[float], Awaitable[None]]


async def _event_loop_sleep(seconds: float) -> None:
    # anyio is imported by the first wait, not with the client: a first call that succeeds
    # waits for nothing, and anyio's import is a tenth of a cold start.
    import anyio

    await anyio.sleep(seconds)


sleep_function: SleepFunction = _event_loop_sleep
"""The real wait. Replacing it still works outside testing mode (older tests do that);
:func:`set_testing` is the public way, and wins while it is on."""


@dataclass(frozen=True, slots=True)
class _Testing:
    attempts: int | None
    sleep: SleepFunction | None


_testing: _Testing | None = None


async def _no_wait(seconds: float) -> None:
    import anyio.lowlevel

    await anyio.lowlevel.checkpoint()  # still a scheduling point, like a real sleep


async def sleep(seconds: float) -> None:
    """Wait ``seconds``: for real, or as testing mode says."""
    seconds = max(0.0, seconds)
    testing = _testing
    if testing is None:
        await sleep_function(seconds)
    else:
        await (testing.sleep or _no_wait)(seconds)


def in_testing() -> bool:
    """Whether testing mode is on (waits are skipped or redirected)."""
    return _testing is not None


def testing_attempts() -> int | None:
    """Testing mode's cap on the attempts of every retry loop (``None``: no cap)."""
    testing = _testing
    return None if testing is None else testing.attempts


class TestingMode:
    """What :func:`set_testing` returns: leaving it as a context manager restores the mode
    that was active before the call."""

    __test__ = False  # not a pytest test class despite the name

    def __init__(self, previous: _Testing | None) -> None:
        self._previous = previous

    def __enter__(self) -> TestingMode:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        global _testing
        _testing = self._previous


def set_testing(
    testing: bool = True, *, attempts: int | None = None, sleep: SleepFunction | None = None
) -> TestingMode:
    """Switch the SDK's testing mode on or off, for the whole process.

    In testing mode no SDK wait touches the wall clock: retry backoff, ``Retry-After``,
    poll intervals and upload checks return at once (or call ``sleep(seconds)`` instead, for
    example to record the waits or advance a fake clock). ``attempts`` caps the attempts of
    every retry loop (``1``: no retries), whatever the client's :class:`RetryPolicy` says;
    ``None`` keeps the policies' own. Use it as a plain call or as a context manager::

        with topview_async.testing.set_testing(True, attempts=2):
            ...
    """
    global _testing
    if attempts is not None and attempts < 1:
        from ._exceptions import InvalidInputError

        raise InvalidInputError(f"set_testing(attempts=...) must be at least 1, got {attempts}")
    previous = _testing
    _testing = _Testing(attempts, sleep) if testing else None
    return TestingMode(previous)
