"""Resetting a simulator, and a running server, to a new one (what lets tests share a server)."""

from __future__ import annotations

import threading
from typing import Any

import anyio
import httpx
import pytest
from sim_helpers import code, ok, upload

from topview_async.testing import (
    Fault,
    ManualClock,
    Simulator,
    SimulatorConfig,
    SimulatorServer,
    _server,
)

NOTICE_URL = "http://127.0.0.1:9/notice"  # loopback, nothing listens: never delivered
LINK = {"productLink": "https://shop.test/p", "noticeUrl": NOTICE_URL}


async def _story(sim: Simulator, client: httpx.AsyncClient) -> list[str]:
    """An upload, a submit with a callback and a paid one; the ids the simulator handed out."""
    file_id = await upload(sim, client)
    task = ok(await client.post("/v1/scraper/task/submit", json=LINK))
    paid = ok(
        await client.post(
            "/v1/common_task/remove_background/submit", json={"productImageFileId": file_id}
        )
    )
    return [file_id, task["taskId"], task["noticeUuid"], paid["taskId"]]


async def _credit(client: httpx.AsyncClient) -> Any:
    return ok(await client.get("/user/credit/detail"))["remainCredit"]


@pytest.mark.anyio
async def test_reset_forgets_everything_and_hands_out_the_same_ids_again(
    sim: Simulator, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    credit = await _credit(client)
    first = await _story(sim, client)
    assert await _credit(client) < credit
    check = await client.post("/notice/notice_url/check", params={"noticeUrl": NOTICE_URL})
    assert code(check) == "4000"
    sim.faults.add(path="/v1/caption/list", business_code="5003")
    sim.media_size = 1000
    clock.advance(100)
    assert sim.tasks
    assert sim.uploads
    assert sim.notices
    assert sim.notice_checks
    assert len(sim.requests)

    sim.reset()

    assert not sim.tasks
    assert not sim.uploads
    assert not sim.notices
    assert not sim.notice_checks
    assert not sim.replace_keys
    assert len(sim.requests) == 0
    assert not sim.requests.counts
    assert len(sim.faults) == 0
    assert sim.media_size == sim.config.media_size
    assert code(await client.get("/v1/caption/list")) == "200"  # the same app still serves
    assert await _credit(client) == credit
    assert await _story(sim, client) == first


@pytest.mark.anyio
async def test_reset_with_a_config_is_a_simulator_built_with_it() -> None:
    sim = Simulator(SimulatorConfig(seed=1))
    fault = Fault(path="/v1/caption/list", business_code="5003", times=1)
    config = SimulatorConfig(
        api_key="sk-other", uid="otheruid", seed=9, media_size=1000, faults=[fault]
    )
    sim.reset(config)
    built = Simulator(SimulatorConfig(seed=9))

    assert sim.config is config
    assert (sim.api_key, sim.uid, sim.media_size) == ("sk-other", "otheruid", 1000)
    assert list(sim.faults) == [fault]
    assert sim.new_id() == built.new_id()
    headers = {"Authorization": "Bearer sk-other", "Topview-Uid": "otheruid"}
    transport = httpx.ASGITransport(app=sim.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim.test") as http:
        assert code(await http.get("/v1/caption/list", headers=headers)) == "5003"
        assert code(await http.get("/v1/caption/list", headers=headers)) == "200"
    assert fault.hits == 1


def test_reset_of_a_running_server_cuts_off_requests_still_in_progress(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A request of an earlier test that is still running must not touch the new state."""
    monkeypatch.setattr(_server, "GRACEFUL_SHUTDOWN", 0.05)
    entered = threading.Event()
    stall = 600.0  # far longer than any run of this test: the reset has to cut it off

    async def sleep(seconds: float) -> None:
        if seconds == stall:
            entered.set()
        await anyio.sleep(seconds)

    with SimulatorServer(SimulatorConfig(seed=2, sleep=sleep)) as server:
        port, sim = server.port, server.simulator
        headers = {"Authorization": f"Bearer {server.api_key}", "Topview-Uid": server.uid}
        url = f"{server.base_url}/v1/scraper/task/submit"
        link = {"productLink": "https://shop.test/p"}
        server.faults.add(path="/v1/scraper/task/submit", latency=stall)
        answers: list[Any] = []
        caller = threading.Thread(
            target=lambda: answers.append(httpx.post(url, json=link, headers=headers, timeout=30))
        )
        caller.start()
        assert entered.wait(10)

        server.reset()

        caller.join(30)
        assert answers
        assert answers[0].status_code == 500
        assert not sim.tasks
        assert len(sim.requests) == 0
        assert len(sim.faults) == 0
        assert sim.requests.in_flight() == 0
        task = ok(httpx.post(url, json=link, headers=headers))
        assert server.port == port
        assert task["taskId"] == Simulator(SimulatorConfig(seed=2)).new_id()


def test_a_stopped_server_resets_its_simulator_only() -> None:
    server = SimulatorServer(SimulatorConfig(seed=4))
    server.simulator.faults.add(path="/v1/caption/list", business_code="5003")
    assert not server.running
    server.reset()
    assert len(server.faults) == 0


PLUGIN_TESTS = """
import httpx
import pytest

from topview_async.testing import SimulatorConfig

seen = {}


def headers(server):
    return {"Authorization": f"Bearer {server.api_key}", "Topview-Uid": server.uid}


def test_first(topview_simulator):
    seen["port"] = topview_simulator.port
    seen["server"] = topview_simulator
    topview_simulator.faults.add(path="/v1/caption/list", business_code="5003")
    url = f"{topview_simulator.base_url}/v1/scraper/task/submit"
    link = {"productLink": "https://shop.test/p"}
    assert httpx.post(url, json=link, headers=headers(topview_simulator)).json()["code"] == "200"


def test_second_sees_a_new_simulator(topview_simulator):
    sim = topview_simulator.simulator
    assert not sim.tasks and len(sim.requests) == 0 and len(sim.faults) == 0
    url = f"{topview_simulator.base_url}/v1/caption/list"
    assert httpx.get(url, headers=headers(topview_simulator)).json()["code"] == "200"


class TestOwnConfig:
    @pytest.fixture
    def topview_simulator_config(self):
        return SimulatorConfig(seed=3, api_key="sk-own", uid="ownuid")

    def test_gets_its_config(self, topview_simulator):
        assert topview_simulator.simulator.config.seed == 3
        assert topview_simulator.api_key == "sk-own"
        url = f"{topview_simulator.base_url}/v1/caption/list"
        assert httpx.get(url, headers=headers(topview_simulator)).json()["code"] == "200"


def test_stops_the_server(topview_simulator):
    topview_simulator.stop()


def test_after_a_stop_gets_a_running_server(topview_simulator):
    assert topview_simulator.running
    assert topview_simulator.simulator.config.seed == 0
    url = f"{topview_simulator.base_url}/v1/caption/list"
    assert httpx.get(url, headers=headers(topview_simulator)).json()["code"] == "200"
"""


def test_plugin_fixture_is_a_new_simulator_for_every_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_users=PLUGIN_TESTS)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=5)
