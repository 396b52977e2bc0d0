"""The portal of a sync client: one private event loop on one thread, and calls into it.

:class:`~topview_async.Topview` runs the async core (:class:`AsyncTopview`) on an asyncio
loop of its own, on a daemon thread it starts, so a caller needs no loop, and a loop already
running in the caller's thread (a notebook, an async framework calling sync code) is never
touched. Any number of threads may call at once: each call is handed to the loop
(``asyncio.run_coroutine_threadsafe``) and the caller's thread blocks on its result.
Interrupting the wait (Ctrl-C) cancels the call in the loop.

The generated sync resources only say which async method a call runs; :meth:`Portal.run`,
:meth:`Portal.iterate` and :meth:`Portal.wrap` are everything they use.
"""

from __future__ import annotations

import _thread
import asyncio
import functools
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from typing import Any, ParamSpec, TypeVar, cast

from ._exceptions import ClientClosedError, ClientStateError

__all__ = ["Portal"]

T = TypeVar("T")
P = ParamSpec("P")

_END = object()


class Portal:
    """An event loop on a private daemon thread, started at once, stopped by :meth:`close`."""

    def __init__(self, name: str = "topview-portal") -> None:
        self._loop = asyncio.new_event_loop()
        self._closed = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    @property
    def thread(self) -> threading.Thread:
        """The thread the loop runs on."""
        return self._thread

    @property
    def is_closed(self) -> bool:
        return self._closed

    def _serve(self) -> None:
        loop = self._loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            # Whatever is still running (a call another thread gave up on) is cancelled and
            # allowed to clean up before the loop closes.
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def _refuse(self, awaitable: Awaitable[Any]) -> None:
        if self._closed:
            _discard(awaitable)
            raise ClientClosedError("this Topview client is closed; create a new one")
        if threading.current_thread() is self._thread:
            _discard(awaitable)
            raise ClientStateError(
                "a sync Topview call from inside its own event loop (a callback of the same "
                "client?) would wait for itself; use the async client there"
            )

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the loop and return its result (or raise its error)."""
        self._refuse(coroutine)
        # One pre-acquired lock, released by the task itself as it ends: the cheapest hand-over
        # (``asyncio.run_coroutine_threadsafe`` chains two futures and a condition per call,
        # and a done callback would cost the loop one more turn).
        done = _thread.allocate_lock()
        done.acquire()
        outcome: list[Any] = []
        tasks: list[asyncio.Task[None]] = []

        async def runner() -> None:
            try:
                outcome.append(await coroutine)
            except BaseException as exc:  # handed to the caller's thread, raised there
                outcome.append(_Raised(exc))
            finally:
                done.release()

        def start() -> None:
            if self._closed:  # closed after the check above: never started
                coroutine.close()
                done.release()
                return
            tasks.append(self._loop.create_task(runner()))

        try:
            self._loop.call_soon_threadsafe(start)
        except RuntimeError:  # the loop closed after the check above
            coroutine.close()
            raise ClientClosedError("this Topview client is closed; create a new one") from None
        try:
            done.acquire()
        except BaseException:
            # Interrupted (Ctrl-C): cancel the call in the loop; nothing keeps running.
            self._loop.call_soon_threadsafe(lambda: tasks and tasks[0].cancel())
            raise
        if not outcome:
            raise ClientClosedError("this Topview client was closed during the call")
        value = outcome[0]
        if isinstance(value, _Raised):
            if isinstance(value.error, asyncio.CancelledError) and self._closed:
                raise ClientClosedError(
                    "this Topview client was closed during the call"
                ) from value.error
            raise value.error
        return cast(T, value)

    def iterate(self, iterator: AsyncIterator[T]) -> Iterator[T]:
        """``iterator`` as a plain iterator: each item fetched on the loop when asked for."""
        try:
            while True:
                item = self.run(_next(iterator))
                if item is _END:
                    return
                yield cast(T, item)
        finally:
            close = getattr(iterator, "aclose", None)
            if close is not None and not self._closed:
                self.run(close())

    def wrap(self, method: Callable[P, Awaitable[T]]) -> Callable[P, T]:
        """``method`` (an async callable) as a blocking one with the same signature."""

        @functools.wraps(method)
        def blocking(*args: P.args, **kwargs: P.kwargs) -> T:
            return self.run(_awaited(method(*args, **kwargs)))

        return blocking

    def close(self, last: Callable[[], Coroutine[Any, Any, object]] | None = None) -> None:
        """Run ``last()`` on the loop (closing the async client), then stop the loop and end
        its thread. Safe to call twice; from the loop's own thread it only stops the loop."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        on_own_thread = threading.current_thread() is self._thread
        try:
            if last is not None and not on_own_thread:
                asyncio.run_coroutine_threadsafe(last(), self._loop).result()
        finally:
            if not self._loop.is_closed():
                self._loop.call_soon_threadsafe(self._loop.stop)
            if not on_own_thread:
                self._thread.join()


class _Raised:
    """An error of a call, on its way to the caller's thread."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


async def _next(iterator: AsyncIterator[T]) -> T | object:
    try:
        return await iterator.__anext__()
    except StopAsyncIteration:
        return _END


async def _awaited(awaitable: Awaitable[T]) -> T:
    return await awaitable


def _discard(awaitable: Awaitable[Any]) -> None:
    """Close a coroutine that will not run (no "never awaited" warning)."""
    close = getattr(awaitable, "close", None)
    if close is not None:
        close()
