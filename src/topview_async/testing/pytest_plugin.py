"""Pytest fixtures for testing code that calls Topview, registered as the plugin
``topview_async`` (entry point ``pytest11``).

``topview_simulator`` yields a running :class:`~topview_async.testing.SimulatorServer`
(one per test) on a loopback port::

    async def test_my_upload(topview_simulator):
        client = AsyncTopview(
            api_key=topview_simulator.api_key,
            uid=topview_simulator.uid,
            base_url=topview_simulator.base_url,
        )
        topview_simulator.faults.add(path="/v1/m2v/task/submit", business_code="5003", times=1)

Override ``topview_simulator_config`` in a conftest to change the configuration.
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


@pytest.fixture
def topview_simulator_config() -> SimulatorConfig:
    """The configuration of ``topview_simulator``: fast tasks, seed 0."""
    from ._config import SimulatorConfig

    return SimulatorConfig(seed=0, time_scale=20.0)


@pytest.fixture
def topview_simulator(topview_simulator_config: SimulatorConfig) -> Iterator[SimulatorServer]:
    """A running Topview simulator; see :class:`~topview_async.testing.SimulatorServer`."""
    from ._server import SimulatorServer

    with SimulatorServer(topview_simulator_config) as server:
        yield server
