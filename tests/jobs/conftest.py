"""Job runner tests: the runner over real loopback HTTP against the SDK's simulator.

Tasks run 200 times faster than Topview's; the client polls every 10-50 ms and the SDK's one
sleep is capped at 10 ms, so backoffs cost nothing. Nothing here asserts a duration.
"""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import pytest

from topview_async import AsyncTopview
from topview_async.lib.polling import PollPolicy, PollScheduler
from topview_async.testing import SimulatorConfig, SimulatorServer, set_testing

FAST_POLL = PollPolicy(
    wait_initial=0.01, wait_min=0.01, wait_max=0.05, wait_jitter=0.1, timeout=30.0
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def topview_simulator_config() -> SimulatorConfig:
    # The server's callback delivery loop sleeps: a test delivers callbacks from its own loop.
    return SimulatorConfig(seed=11, time_scale=200.0, media_size=4096, delivery_interval=3600)


@pytest.fixture(autouse=True)
def short_sdk_sleeps() -> Iterator[None]:
    async def capped(seconds: float) -> None:
        await anyio.sleep(min(seconds, 0.01))

    with set_testing(True, sleep=capped):
        yield


def make_client(sim: SimulatorServer) -> AsyncTopview:
    client = AsyncTopview(api_key=sim.api_key, uid=sim.uid, base_url=sim.base_url)
    client.poll_policy = FAST_POLL  # type: ignore[attr-defined]
    client._poll_scheduler = PollScheduler(max_in_flight=8, rate=None)  # type: ignore[attr-defined]
    return client
