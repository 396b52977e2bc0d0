"""End-to-end fixtures: the SDK over real loopback HTTP against the Topview simulator.

Every test gets a new simulator on a loopback port (the ``topview_simulator`` fixture of
the SDK's own pytest plugin) and an
:class:`AsyncTopview` with its default aiohttp-backed transport pointed at it. Three things
make runs fast without making them timing dependent:

* the simulator runs tasks 50 times faster than Topview (the longest, M2V, takes 0.12 s);
* the client polls every 10-50 ms and has no query rate limit;
* every SDK sleep is capped at 10 ms (``topview_async.testing.set_testing``), so retry and upload
  backoffs cost nothing. Poll loops stay correct when a sleep returns early: they only
  look at the clock again. Nothing here asserts how long anything took.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import anyio
import pytest

from topview_async import AsyncTopview
from topview_async.testing import SimulatorConfig, SimulatorServer, set_testing

from .helpers import MAX_SDK_SLEEP, TIME_SCALE, make_client


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def topview_simulator_config() -> SimulatorConfig:
    """Overrides the plugin's configuration: fast tasks, seeded."""
    return SimulatorConfig(seed=5, time_scale=TIME_SCALE)


@pytest.fixture(autouse=True)
def fast_sdk_sleep() -> Iterator[list[float]]:
    """Cap every SDK sleep at 10 ms; returns the requested durations (for inspection)."""
    requested: list[float] = []

    async def capped(seconds: float) -> None:
        requested.append(seconds)
        await anyio.sleep(min(seconds, MAX_SDK_SLEEP))

    with set_testing(True, sleep=capped):
        yield requested


@pytest.fixture
def sim(topview_simulator: SimulatorServer) -> SimulatorServer:
    """The running simulator (a shorter name for the plugin's fixture)."""
    return topview_simulator


@pytest.fixture
async def client(sim: SimulatorServer) -> AsyncIterator[AsyncTopview]:
    async with make_client(sim) as client:
        yield client
