"""Pytest fixtures for testing code that calls Topview, registered as the plugin
``topview_async`` (entry point ``pytest11``).

``topview_simulator`` yields a running :class:`~topview_async.testing.SimulatorServer`
on a loopback port, as new for every test::

    async def test_my_upload(topview_simulator):
        client = AsyncTopview(
            api_key=topview_simulator.api_key,
            uid=topview_simulator.uid,
            base_url=topview_simulator.base_url,
        )
        topview_simulator.faults.add(path="/v1/m2v/task/submit", business_code="5003", times=1)

Override ``topview_simulator_config`` in a conftest to change the configuration.

Each test has a server of its own (stopping one takes milliseconds). The session-scoped
``_topview_shared_simulator`` reuses one server, reset before each use; it is not used by
``topview_simulator`` until a sharing problem with callback tests is understood.

This module imports nothing heavy until a fixture is used: pytest loads it in every
project that has the SDK installed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ._config import SimulatorConfig
    from ._server import SimulatorServer


class _SharedServer:
    """The session's one server, started on first use."""

    def __init__(self) -> None:
        self.server: SimulatorServer | None = None

    def fresh(self, config: SimulatorConfig) -> SimulatorServer:
        """The shared server, reset to a new simulator with ``config``."""
        from ._server import SimulatorServer

        server = self.server
        if server is not None and server.running:
            server.reset(config)
            return server
        if server is not None:
            server.stop()  # stopped by a test, or its thread died: release the port
        self.server = server = SimulatorServer(config)
        server.start()
        return server

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


@pytest.fixture(scope="session")
def _topview_shared_simulator() -> Iterator[_SharedServer]:
    shared = _SharedServer()
    try:
        yield shared
    finally:
        shared.close()


@pytest.fixture
def topview_simulator_config() -> SimulatorConfig:
    """The configuration of ``topview_simulator``: fast tasks, seed 0."""
    from ._config import SimulatorConfig

    return SimulatorConfig(seed=0, time_scale=20.0)


@pytest.fixture
def topview_simulator(
    topview_simulator_config: SimulatorConfig, _topview_shared_simulator: _SharedServer
) -> Iterator[SimulatorServer]:
    """A running Topview simulator, new for this test; see
    :class:`~topview_async.testing.SimulatorServer`."""
    # A server of its own for now: sharing one (reset before each test) broke callback tests
    # in the full suite after the jobs/docs merge (an old delivery pass can hold the loop).
    from ._server import SimulatorServer

    with SimulatorServer(topview_simulator_config) as server:
        yield server
