"""Callbacks to noticeUrl: body, acknowledgement, retries, URL check, delivery loop."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sim_helpers import code, ok

from topview_async.testing import ManualClock, Simulator, SimulatorConfig, SimulatorServer

pytestmark = pytest.mark.anyio

NOTICE_URL = "http://receiver.test/notice"
LINK = {"productLink": "https://shop.test/p", "noticeUrl": NOTICE_URL}


class Receiver:
    """A callback endpoint (behind httpx.MockTransport) that records what it got."""

    def __init__(self, reply: Callable[[dict[str, Any], str], httpx.Response] | None = None):
        self.received: list[httpx.Request] = []
        self.reply = reply or self.acknowledge

    @staticmethod
    def acknowledge(body: dict[str, Any], uid: str) -> httpx.Response:
        result = {"uuid": body["uuid"], "topviewUid": uid, "result": "success"}
        return httpx.Response(200, json={"code": "200", "message": "Success", "result": result})

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.received.append(request)
        return self.reply(json.loads(request.content), request.headers.get("topview-uid", ""))

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.received]


def make(clock: ManualClock, receiver: Receiver, **options: Any) -> Simulator:
    transport = httpx.MockTransport(receiver.handle)
    return Simulator(SimulatorConfig(clock=clock, callback_transport=transport, **options))


def client_for(sim: Simulator) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {sim.api_key}", "Topview-Uid": sim.uid}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim.app), base_url="http://sim.test", headers=headers
    )


async def test_finished_task_posts_documented_body(clock: ManualClock) -> None:
    receiver = Receiver()
    sim = make(clock, receiver)
    async with client_for(sim) as client:
        task = ok(await client.post("/v1/scraper/task/submit", json=LINK))
        assert await sim.deliver_notices() == 0  # not finished yet: nothing to send
        clock.advance(100)
        assert await sim.deliver_notices() == 1
        query = ok(await client.get("/v1/scraper/task/query", params={"taskId": task["taskId"]}))
    (request,) = receiver.received
    assert str(request.url) == NOTICE_URL
    assert request.headers["topview-uid"] == sim.uid
    assert "authorization" not in request.headers
    body = json.loads(request.content)
    assert body == {
        "uuid": task["noticeUuid"],
        "bizType": "SCRAPER",
        "taskId": task["taskId"],
        "status": "success",
        "errorMsg": None,
        "result": query,
    }
    (notice,) = sim.notices
    assert notice.delivered
    assert notice.acknowledged
    assert not notice.failed
    assert await sim.deliver_notices() == 0  # acknowledged: never sent again


async def test_failed_task_notice_carries_error(clock: ManualClock) -> None:
    receiver = Receiver()
    sim = make(clock, receiver, failure_probability={"scraper": 1.0})
    async with client_for(sim) as client:
        ok(await client.post("/v1/scraper/task/submit", json=LINK))
    clock.advance(100)
    await sim.deliver_notices()
    (body,) = receiver.bodies()
    assert body["status"] == "fail"
    assert body["errorMsg"]


@pytest.mark.parametrize(
    "reply",
    [
        lambda body, uid: httpx.Response(500),
        lambda body, uid: httpx.Response(200, text="OK"),
        lambda body, uid: httpx.Response(200, json={"code": "200", "result": {"uuid": "wrong"}}),
        lambda body, uid: httpx.Response(
            200,
            json={
                "code": "200",
                "result": {"uuid": body["uuid"], "topviewUid": uid, "result": "fail"},
            },
        ),
    ],
)
async def test_missing_ack_is_retried_then_given_up(
    clock: ManualClock, reply: Callable[[dict[str, Any], str], httpx.Response]
) -> None:
    receiver = Receiver(reply)
    sim = make(clock, receiver, callback_max_attempts=3, callback_retry_interval=5)
    async with client_for(sim) as client:
        ok(await client.post("/v1/scraper/task/submit", json=LINK))
    clock.advance(100)
    assert await sim.deliver_notices() == 1
    assert await sim.deliver_notices() == 0  # the retry is not due yet
    clock.advance(5)
    assert await sim.deliver_notices() == 1
    clock.advance(5)
    assert await sim.deliver_notices() == 1
    clock.advance(5)
    assert await sim.deliver_notices() == 0  # capped at 3 attempts
    (notice,) = sim.notices
    assert notice.delivered
    assert notice.failed
    assert not notice.acknowledged
    assert len(receiver.received) == 3
    assert len({b["uuid"] for b in receiver.bodies()}) == 1  # same uuid on every redelivery


async def test_unreachable_url_is_recorded_as_not_delivered(clock: ManualClock) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    transport = httpx.MockTransport(refuse)
    sim = Simulator(SimulatorConfig(clock=clock, callback_transport=transport))
    async with client_for(sim) as client:
        ok(await client.post("/v1/scraper/task/submit", json=LINK))
    clock.advance(100)
    await sim.deliver_notices()
    (notice,) = sim.notices
    assert not notice.delivered
    assert notice.attempts[0].error
    assert "ConnectError" in notice.attempts[0].error


async def test_m2v_preview_and_export_notices(clock: ManualClock) -> None:
    receiver = Receiver()
    sim = make(clock, receiver)
    async with client_for(sim) as client:
        task = ok(await client.post("/v1/m2v/task/submit", json={**LINK, "preview": True}))
        clock.advance(100)
        await sim.deliver_notices()
        export = {"taskId": task["taskId"], "noticeUrl": NOTICE_URL}
        exported = ok(await client.post("/v1/m2v/export", json=export))
        assert exported["noticeUuid"] != task["noticeUuid"]
        assert await sim.deliver_notices() == 0  # export still running
        clock.advance(100)
        await sim.deliver_notices()
    preview, final = receiver.bodies()
    assert preview["bizType"] == "M2V_PREVIEW"
    assert final["bizType"] == "M2V_EXPORT"
    assert final["uuid"] == exported["noticeUuid"]
    assert final["result"]["exportVideos"][0]["status"] == "success"


async def test_notice_url_check_calls_the_url(clock: ManualClock) -> None:
    receiver = Receiver()
    sim = make(clock, receiver)
    async with client_for(sim) as client:
        response = await client.post("/notice/notice_url/check", params={"noticeUrl": NOTICE_URL})
        assert ok(response) is True
        by_body = await client.post("/notice/notice_url/check", json={"noticeUrl": NOTICE_URL})
        assert ok(by_body) is True
        assert code(await client.post("/notice/notice_url/check")) == "4003"
        bad = {"noticeUrl": "ftp://x"}
        assert code(await client.post("/notice/notice_url/check", params=bad)) == "4000"
    assert len(receiver.received) == 2
    assert receiver.received[0].headers["topview-uid"] == sim.uid


async def test_notice_url_check_fails_without_valid_ack(clock: ManualClock) -> None:
    sim = make(clock, Receiver(lambda body, uid: httpx.Response(404)))
    async with client_for(sim) as client:
        response = await client.post("/notice/notice_url/check", params={"noticeUrl": NOTICE_URL})
    assert code(response) == "4000"
    assert "HTTP 404" in response.json()["message"]
    ((url, attempt),) = sim.notice_checks
    assert url == NOTICE_URL
    assert not attempt.acknowledged


def test_delivery_loop_of_running_server(clock: ManualClock) -> None:
    receiver = Receiver()
    transport = httpx.MockTransport(receiver.handle)
    config = SimulatorConfig(clock=clock, callback_transport=transport, delivery_interval=0.01)
    with SimulatorServer(config) as server:
        headers = {"Authorization": f"Bearer {server.api_key}", "Topview-Uid": server.uid}
        submit = httpx.post(f"{server.base_url}/v1/scraper/task/submit", json=LINK, headers=headers)
        task = ok(submit)
        clock.advance(100)
        sim = server.simulator
        assert sim.wait_for(lambda: bool(sim.notices) and sim.notices[0].acknowledged)
        base_url = server.base_url
    (body,) = receiver.bodies()
    assert body["uuid"] == task["noticeUuid"]
    assert body["result"]["productImages"][0]["fileUrl"].startswith(base_url)
