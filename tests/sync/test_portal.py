"""The sync client's portal: one loop thread, calls and iterators into it, a clean close."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import pytest

from topview_async import ClientClosedError, ClientStateError
from topview_async._portal import Portal


async def _double(value: int) -> int:
    await asyncio.sleep(0)
    return 2 * value


async def _fail() -> None:
    raise KeyError("inner")


def test_results_errors_and_the_loop_thread() -> None:
    portal = Portal()
    try:
        assert portal.run(_double(21)) == 42
        with pytest.raises(KeyError, match="inner"):
            portal.run(_fail())

        async def where() -> threading.Thread:
            return threading.current_thread()

        assert portal.run(where()) is portal.thread
        assert portal.wrap(_double)(4) == 8
    finally:
        portal.close()
    assert not portal.thread.is_alive()


def test_iterate_and_close_an_iterator_early() -> None:
    closed = threading.Event()

    async def numbers() -> AsyncIterator[int]:
        try:
            for n in range(100):
                yield n
        finally:
            closed.set()

    portal = Portal()
    try:
        assert list(portal.iterate(numbers())) == list(range(100))
        closed.clear()
        for n in portal.iterate(numbers()):
            if n == 2:
                break
        assert closed.is_set()  # finished on the loop when the loop above left
    finally:
        portal.close()


def test_a_call_from_the_loop_thread_itself_is_refused() -> None:
    portal = Portal()
    try:

        async def reenter() -> int:
            return portal.run(_double(1))

        with pytest.raises(ClientStateError):
            portal.run(reenter())
    finally:
        portal.close()


def test_close_refuses_new_calls_and_ends_calls_in_flight() -> None:
    portal = Portal()
    started = threading.Event()
    errors: list[BaseException] = []

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    def caller() -> None:
        try:
            portal.run(forever())
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=caller)
    thread.start()
    assert started.wait(30)
    portal.close()
    thread.join(30)
    assert not thread.is_alive()
    assert len(errors) == 1
    assert isinstance(errors[0], ClientClosedError)
    coroutine = _double(1)
    with pytest.raises(ClientClosedError):
        portal.run(coroutine)
    assert coroutine.cr_frame is None  # closed, no "never awaited" warning
    portal.close()  # twice is fine
    assert not portal.thread.is_alive()
