"""The shared deadline timer of direct calls (``_deadlines.py``)."""

from __future__ import annotations

import asyncio

import pytest

from topview_async._deadlines import Deadlines

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the direct path, and so its deadlines, is asyncio only


async def _wait_under(deadlines: Deadlines, seconds: float, until: asyncio.Event) -> str:
    entry = deadlines.enter(seconds)
    try:
        await until.wait()
    except asyncio.CancelledError:
        if not deadlines.expired(entry):
            raise
        return "timed out"
    finally:
        deadlines.leave(entry)
    return "done"


async def test_a_passed_deadline_becomes_a_timeout_and_the_others_carry_on() -> None:
    deadlines = Deadlines()
    never, soon = asyncio.Event(), asyncio.Event()
    late = asyncio.create_task(_wait_under(deadlines, 3600, soon))
    assert await _wait_under(deadlines, 0.01, never) == "timed out"
    assert not late.done()  # one timer, re-armed for the deadline left
    soon.set()
    assert await late == "done"
    assert deadlines._entries == {}
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_leaving_in_time_cancels_nothing() -> None:
    deadlines = Deadlines()
    done = asyncio.Event()
    done.set()
    assert await _wait_under(deadlines, 0.01, done) == "done"
    await asyncio.sleep(0.02)  # let the timer fire with nothing left to expire
    assert deadlines._entries == {}


async def test_a_cancellation_from_elsewhere_is_not_turned_into_a_timeout() -> None:
    deadlines = Deadlines()
    task = asyncio.create_task(_wait_under(deadlines, 3600, asyncio.Event()))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_cancelled_by_both_at_once_stays_cancelled() -> None:
    deadlines = Deadlines()
    started = asyncio.Event()

    async def waiter() -> str:
        entry = deadlines.enter(3600)
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            if not deadlines.expired(entry):
                raise
            return "timed out"
        finally:
            deadlines.leave(entry)
        return "done"

    task = asyncio.create_task(waiter())
    await started.wait()
    loop = asyncio.get_running_loop()
    for entry in list(deadlines._entries):
        entry.when = loop.time()  # due now
    deadlines._fire(loop)  # the deadline's cancel ...
    task.cancel()  # ... and someone else's
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_restarted_deadline_runs_from_the_restart() -> None:
    """The direct path's connect deadline becomes its read deadline (issue 21.4)."""
    deadlines = Deadlines()
    entry = deadlines.enter(3600)  # the connect phase: a long deadline armed the timer
    deadlines.restart(entry, 0.01)  # connected: the read deadline, shorter, re-arms it
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        assert deadlines.expired(entry)
    finally:
        deadlines.leave(entry)
    assert deadlines._entries == {}
