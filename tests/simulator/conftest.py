"""Fixtures for the simulator's own tests.

Logic is tested through ``httpx.ASGITransport`` with a :class:`ManualClock`; HTTP
behaviour (Range, dropped connections, presigned PUT) against a real uvicorn server.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

try:  # until the package is installed into the venv (editable), import it from src/
    import topview_async.testing  # noqa: F401
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from topview_async.testing import ManualClock, Simulator, SimulatorConfig, SimulatorServer

# The plugin's fixtures, also available when its entry point is not installed.
from topview_async.testing.pytest_plugin import (  # noqa: F401
    _topview_shared_simulator,
    topview_simulator,
    topview_simulator_config,
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def config(clock: ManualClock) -> SimulatorConfig:
    return SimulatorConfig(seed=1, clock=clock)


@pytest.fixture
def sim(config: SimulatorConfig) -> Simulator:
    return Simulator(config)


def auth_headers(sim: Simulator) -> dict[str, str]:
    return {"Authorization": f"Bearer {sim.api_key}", "Topview-Uid": sim.uid}


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    """Authenticated client talking to ``sim`` in-process."""
    transport = httpx.ASGITransport(app=sim.app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://sim.test", headers=auth_headers(sim)
    ) as http:
        yield http


@pytest.fixture
def server(config: SimulatorConfig) -> Iterator[SimulatorServer]:
    """The same simulator configuration, on a real loopback port."""
    with SimulatorServer(config) as running:
        yield running
