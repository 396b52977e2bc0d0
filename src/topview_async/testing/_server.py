"""Run a simulator on a real loopback port: uvicorn in a background thread.

A thread with its own event loop works the same under any test framework or event
loop (asyncio or trio) and lets blocking code call the simulator too. The socket is
bound before the thread starts, so the port is known at once and never races.

Stopping is quick (milliseconds, not uvicorn's ~0.2 s): uvicorn looks at ``should_exit``
every 0.1 s and waits for connections in 0.1 s steps, which cost seconds in a suite that
starts a server per test. :func:`_quick_server`'s server wakes on request and polls in 5 ms steps;
requests still in progress get up to ``GRACEFUL_SHUTDOWN`` seconds to finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import socket
import threading
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self

import anyio.to_thread

from .._exceptions import ClientStateError
from ._config import SimulatorConfig
from ._faults import FaultSet
from ._simulator import Simulator

if TYPE_CHECKING:
    import uvicorn

STARTUP_TIMEOUT = 10.0
GRACEFUL_SHUTDOWN = 2.0
"""Seconds requests still in progress at :meth:`SimulatorServer.stop` get to finish."""
_POLL = 0.005


class _HideSimulatedDisconnects(logging.Filter):
    """Keep uvicorn from logging the tracebacks of requests aborted on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        # Requests still running at a reset or stop are cancelled on purpose, too.
        return not isinstance(exc, asyncio.CancelledError) and (
            type(exc).__name__ != "SimulatedDisconnect"
        )


_HIDE_SIMULATED_DISCONNECTS = _HideSimulatedDisconnects()  # one instance: added once


class _Served(Protocol):
    def run(self, sockets: list[socket.socket] | None = None) -> None: ...

    def request_exit(self) -> None: ...

    def call_when_idle(self, action: Callable[[], None], grace: float) -> None: ...


@functools.cache
def _quick_server() -> Callable[[uvicorn.Config], _Served]:
    """``uvicorn.Server`` that stops when asked instead of at its next 0.1 s tick, and can
    run an action once the requests in progress have ended (for :meth:`SimulatorServer.reset`).

    Built on first use so that importing this module does not import uvicorn.
    """
    import uvicorn

    class _QuickServer(uvicorn.Server):
        def __init__(self, config: uvicorn.Config) -> None:
            super().__init__(config)
            self._lock = threading.Lock()
            self._loop: asyncio.AbstractEventLoop | None = None
            self._wake: asyncio.Event | None = None

        async def serve(self, sockets: list[socket.socket] | None = None) -> None:
            with self._lock:  # before the app starts: SimulatorServer.start waits for that
                self._loop = asyncio.get_running_loop()
                self._wake = asyncio.Event()
            await super().serve(sockets)

        def request_exit(self) -> None:
            """Ask the server to stop (from any thread); returns at once."""
            with self._lock:
                self.should_exit = True
                loop, wake = self._loop, self._wake
            if loop is not None and wake is not None:
                with contextlib.suppress(RuntimeError):  # the loop has already ended
                    loop.call_soon_threadsafe(wake.set)

        def call_when_idle(self, action: Callable[[], None], grace: float) -> None:
            """From another thread: let the requests in progress end (cut off after
            ``grace`` seconds), then run ``action`` in the server's loop, between requests."""
            with self._lock:
                loop = self._loop
            if loop is None or loop.is_closed():
                raise ClientStateError("the simulator server is not running")

            async def settle_then_act() -> None:
                await self._end_requests(grace)
                action()

            asyncio.run_coroutine_threadsafe(settle_then_act(), loop).result(
                2 * grace + STARTUP_TIMEOUT
            )

        async def _end_requests(self, grace: float) -> None:
            tasks = set(self.server_state.tasks)
            if not tasks:
                return
            _, late = await asyncio.wait(tasks, timeout=grace)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=grace)

        async def main_loop(self) -> None:
            wake = self._wake
            assert wake is not None
            # uvicorn refreshes its Date header on every tenth tick: once a second.
            while not await self.on_tick(0):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), 1.0)

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            # uvicorn's own shutdown, with short polls instead of fixed 0.1 s waits.
            for server in self.servers:
                server.close()
            for sock in sockets or []:
                sock.close()
            state = self.server_state
            for connection in list(state.connections):
                connection.shutdown()
            loop = asyncio.get_running_loop()
            deadline = loop.time() + GRACEFUL_SHUTDOWN
            await self._end_requests(GRACEFUL_SHUTDOWN)
            # A connection leaves the set a loop turn or two after it is closed; uvicorn
            # offers nothing to await for that, so look again in short steps.
            while state.connections and loop.time() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(_POLL)
            for server in self.servers:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(server.wait_closed(), _POLL * 20)
            await self.lifespan.shutdown()

    return _QuickServer


class SimulatorServer:
    """A :class:`Simulator` served over HTTP on ``host`` (port 0: any free port).

    >>> with SimulatorServer() as server:
    ...     client = AsyncTopview(api_key=server.api_key, uid=server.uid, base_url=server.base_url)

    ``async with SimulatorServer() as server:`` works too (start-up runs in a worker thread).
    """

    def __init__(
        self,
        config: SimulatorConfig | Simulator | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.simulator = config if isinstance(config, Simulator) else Simulator(config)
        self.host = host
        self._requested_port = port
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._server: _Served | None = None

    @property
    def port(self) -> int:
        if self._socket is None:
            raise ClientStateError("the simulator server is not started")
        return int(self._socket.getsockname()[1])

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the running server (the Topview base URL to use)."""
        return f"http://{self.host}:{self.port}"

    @property
    def api_key(self) -> str:
        return self.simulator.api_key

    @property
    def uid(self) -> str:
        return self.simulator.uid

    @property
    def faults(self) -> FaultSet:
        return self.simulator.faults

    @property
    def app(self) -> object:
        return self.simulator.app

    def start(self) -> None:
        """Bind the port, start uvicorn in a thread and wait until the app is serving."""
        import uvicorn

        if self._thread is not None:
            raise ClientStateError("the simulator server is already started")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._requested_port))
        sock.listen(128)
        self._socket = sock
        logging.getLogger("uvicorn.error").addFilter(_HIDE_SIMULATED_DISCONNECTS)
        config = uvicorn.Config(
            self.simulator.app,
            lifespan="on",
            log_level="warning",
            access_log=False,
        )
        server = _quick_server()(config)
        self._server = server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="topview-simulator", daemon=True
        )
        self._thread.start()
        if not self.simulator.serving.wait(STARTUP_TIMEOUT):
            self.stop()
            raise ClientStateError("the Topview simulator did not start")

    @property
    def running(self) -> bool:
        """Whether the server is started and its thread still serves."""
        return self._thread is not None and self._thread.is_alive()

    def reset(self, config: SimulatorConfig | None = None) -> None:
        """Make this a new simulator again (:meth:`Simulator.reset`), on the same port.

        Requests still in progress get ``GRACEFUL_SHUTDOWN`` seconds to end and are then cut
        off, so none of them touches the new state; the reset itself runs between two
        requests. Much cheaper than a new server: one server can serve test after test.
        """
        if self._server is None or not self.running:
            self.simulator.reset(config)
            return
        self._server.call_when_idle(lambda: self.simulator.reset(config), GRACEFUL_SHUTDOWN)

    def stop(self) -> None:
        """Ask uvicorn to exit, wait for the thread and release the port."""
        server, thread = self._server, self._thread
        if server is not None:
            server.request_exit()
        if thread is not None:
            thread.join(STARTUP_TIMEOUT)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        await anyio.to_thread.run_sync(self.start)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await anyio.to_thread.run_sync(self.stop)
