"""Fault injection and request introspection (logic, in-process)."""

from __future__ import annotations

import anyio
import httpx
import pytest
from sim_helpers import code, ok

from topview_async.testing import Fault, ManualClock, Simulator, SimulatorConfig

pytestmark = pytest.mark.anyio

SUBMIT = "/v1/scraper/task/submit"
LINK = {"productLink": "https://shop.test/p"}


def client_for(sim: Simulator) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {sim.api_key}", "Topview-Uid": sim.uid}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim.app), base_url="http://t", headers=headers
    )


async def test_business_code_times_one(client: httpx.AsyncClient, sim: Simulator) -> None:
    fault = sim.faults.add(path=SUBMIT, business_code="5003", times=1)
    response = await client.post(SUBMIT, json=LINK)
    assert response.status_code == 200
    assert response.json() == {
        "code": "5003",
        "message": "Server is busy, please try again later!",
        "result": None,
    }
    assert ok(await client.post(SUBMIT, json=LINK))["taskId"]
    assert fault.hits == 1
    assert len(sim.tasks) == 1  # the faulted submit created no task


async def test_fault_by_operation_name_and_method(
    client: httpx.AsyncClient, sim: Simulator
) -> None:
    sim.faults.add(name="submitScraperTask", business_code="4007")
    sim.faults.add(path="/v1/caption/list", method="POST", business_code="5000")
    assert code(await client.post(SUBMIT, json=LINK)) == "4007"
    assert code(await client.post(SUBMIT, json=LINK)) == "4007"  # no times: every time
    assert code(await client.get("/v1/caption/list")) == "200"  # method does not match
    sim.faults.clear()
    assert code(await client.post(SUBMIT, json=LINK)) == "200"


async def test_http_429_with_retry_after(client: httpx.AsyncClient, sim: Simulator) -> None:
    sim.faults.add(path=SUBMIT, http_status=429, retry_after=2.5, times=1)
    response = await client.post(SUBMIT, json=LINK)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"


async def test_http_5xx(client: httpx.AsyncClient, sim: Simulator) -> None:
    fault = sim.faults.add(path="/v1/*", http_status=503, times=2)
    assert (await client.get("/v1/caption/list")).status_code == 503
    assert (await client.post(SUBMIT, json=LINK)).status_code == 503
    assert (await client.get("/v1/caption/list")).status_code == 200
    assert fault.exhausted


async def test_latency_goes_through_the_injected_sleep(clock: ManualClock) -> None:
    slept: list[float] = []

    async def record(seconds: float) -> None:
        slept.append(seconds)

    sim = Simulator(SimulatorConfig(clock=clock, sleep=record))
    sim.faults.add(path="/v1/caption/list", latency=1.5)
    async with client_for(sim) as client:
        assert code(await client.get("/v1/caption/list")) == "200"
    assert slept == [1.5]


async def _rate_pattern(seed: int) -> list[str]:
    sim = Simulator(
        SimulatorConfig(
            seed=seed,
            clock=ManualClock(),
            faults=[Fault(path=SUBMIT, business_code="5003", rate=0.5)],
        )
    )
    async with client_for(sim) as client:
        return [code(await client.post(SUBMIT, json=LINK)) for _ in range(24)]


async def test_rate_mode_is_seeded() -> None:
    pattern = await _rate_pattern(3)
    assert pattern == await _rate_pattern(3)
    assert {"200", "5003"} == set(pattern)


async def test_faults_set_at_construction(clock: ManualClock) -> None:
    config = SimulatorConfig(clock=clock, faults=[Fault(path=SUBMIT, business_code="6001")])
    async with client_for(Simulator(config)) as client:
        assert code(await client.post(SUBMIT, json=LINK)) == "6001"


async def test_request_log_and_counts(client: httpx.AsyncClient, sim: Simulator) -> None:
    await client.post(SUBMIT, json=LINK)
    await client.get("/v1/caption/list")
    await client.get("/v1/caption/list")
    assert sim.requests.counts["/v1/caption/list"] == 2
    (submit,) = sim.requests.for_path(SUBMIT)
    assert submit.method == "POST"
    assert submit.header("Authorization") == f"Bearer {sim.api_key}"
    assert submit.header("topview-uid") == sim.uid
    assert b"productLink" in submit.body
    assert len(sim.requests) == 3
    sim.requests.clear()
    assert len(sim.requests) == 0


async def test_peak_of_requests_in_progress(clock: ManualClock) -> None:
    """Requests held by a latency fault count as in progress, per path and in all."""
    release = anyio.Event()

    async def hold(_seconds: float) -> None:
        await release.wait()

    sim = Simulator(SimulatorConfig(clock=clock, sleep=hold))
    sim.faults.add(path="/v1/caption/list", latency=1.0)
    log = sim.requests
    async with client_for(sim) as client, anyio.create_task_group() as group:
        for _ in range(3):
            group.start_soon(client.get, "/v1/caption/list")
        with anyio.fail_after(5):
            while log.in_flight("/v1/caption/list") < 3:
                await anyio.sleep(0)
        assert log.in_flight() == 3
        release.set()
    assert log.in_flight("/v1/caption/list") == 0
    assert log.in_flight() == 0
    assert log.peak_in_flight("/v1/caption/list") == 3
    assert log.peak_in_flight() == 3
    assert log.peak_in_flight("/v1/voice/query") == 0
    log.clear()
    assert log.peak_in_flight() == 0
