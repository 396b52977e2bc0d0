"""The transport's connection slots: one limit, first come first served, the pool timeout."""

from __future__ import annotations

import asyncio

import pytest

from topview_async._slots import Slots

pytestmark = pytest.mark.anyio


async def test_waiters_are_served_in_order_and_freed_slots_go_straight_to_them() -> None:
    slots = Slots(1)
    assert await slots.acquire()
    served: list[int] = []

    async def wait(number: int) -> None:
        assert await slots.acquire(5.0)
        served.append(number)

    tasks = [asyncio.create_task(wait(number)) for number in range(3)]
    await asyncio.sleep(0)  # let all three queue up
    for _ in range(3):
        slots.release()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    assert served == [0, 1, 2]
    assert slots.locked()  # the last one still holds the slot
    slots.release()
    assert not slots.locked()


async def test_a_late_waiter_gets_false_and_takes_no_slot() -> None:
    slots = Slots(1)
    assert await slots.acquire()
    patient = asyncio.create_task(slots.acquire(None))
    assert await slots.acquire(0.01) is False
    assert await slots.acquire(0.01) is False  # the shared timer is armed again
    slots.release()
    assert await patient is True  # the expired waiters were skipped
    slots.release()
    assert await slots.acquire(0.01) is True


async def test_a_cancelled_waiter_passes_its_slot_on() -> None:
    slots = Slots(1)
    assert await slots.acquire()
    cancelled = asyncio.create_task(slots.acquire(5.0))
    await asyncio.sleep(0)
    slots.release()  # handed to the waiter ...
    cancelled.cancel()  # ... which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert not slots.locked()
    assert await slots.acquire(0.01) is True
