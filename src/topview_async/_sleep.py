"""The one sleep every wait in the SDK goes through.

Backoff between retries, poll intervals and Retry-After waits all call :func:`sleep`,
so tests (and users) can replace it once instead of waiting on the wall clock::

    from topview_async import _sleep
    monkeypatch.setattr(_sleep, "sleep_function", fake_sleep)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio

SleepFunction = Callable[[float], Awaitable[None]]

sleep_function: SleepFunction = anyio.sleep
"""Replace to change how the SDK waits (for example with a recorder in tests)."""


async def sleep(seconds: float) -> None:
    """Wait ``seconds`` through the current :data:`sleep_function`."""
    await sleep_function(max(0.0, seconds))
