"""Run a simulator on a real loopback port: uvicorn in a background thread.

A thread with its own event loop works the same under any test framework or event
loop (asyncio or trio) and lets blocking code call the simulator too. The socket is
bound before the thread starts, so the port is known at once and never races.
"""

from __future__ import annotations

import logging
import socket
import threading
from types import TracebackType
from typing import TYPE_CHECKING, Self

import anyio.to_thread

from ._config import SimulatorConfig
from ._faults import FaultSet
from ._simulator import Simulator

if TYPE_CHECKING:
    import uvicorn

STARTUP_TIMEOUT = 10.0


class _HideSimulatedDisconnects(logging.Filter):
    """Keep uvicorn from logging the tracebacks of faults that abort a response on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return type(exc).__name__ != "SimulatedDisconnect"


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
        self._server: uvicorn.Server | None = None

    @property
    def port(self) -> int:
        if self._socket is None:
            raise RuntimeError("the simulator server is not started")
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
            raise RuntimeError("the simulator server is already started")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._requested_port))
        sock.listen(128)
        self._socket = sock
        logging.getLogger("uvicorn.error").addFilter(_HideSimulatedDisconnects())
        config = uvicorn.Config(
            self.simulator.app,
            lifespan="on",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="topview-simulator", daemon=True
        )
        self._thread.start()
        if not self.simulator.serving.wait(STARTUP_TIMEOUT):
            self.stop()
            raise RuntimeError("the Topview simulator did not start")

    def stop(self) -> None:
        """Ask uvicorn to exit, wait for the thread and release the port."""
        server, thread = self._server, self._thread
        if server is not None:
            server.should_exit = True
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
