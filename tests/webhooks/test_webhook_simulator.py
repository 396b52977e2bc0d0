"""End to end with the Topview simulator: it submits, calls back, and checks our acknowledgement.

The simulator's callback client is routed into the webhook app in process, so its own
acknowledgement check (the documented reply, REFERENCE §4.1) judges what the router answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from topview_async._generated.models import ScraperTaskResult
from topview_async.testing import ManualClock, Simulator, SimulatorConfig
from topview_async.webhooks import TaskNotice, build_notice_url, topview_webhook_router

from .webhook_samples import SECRET

pytestmark = pytest.mark.anyio

WEBHOOK_BASE = "http://backend.test/topview/notice"


@dataclass
class SimulatorFetcher:
    """Re-reads a task from the simulator's query endpoint, as the client would."""

    api: httpx.AsyncClient
    calls: list[tuple[str, str]] = field(default_factory=list)

    async def fetch(self, kind: str, task_id: str) -> object:
        self.calls.append((kind, task_id))
        assert kind == "scraper"
        response = await self.api.get("/v1/scraper/task/query", params={"taskId": task_id})
        result: dict[str, Any] = response.json()["result"]
        return result


async def test_simulator_callback_is_verified_handled_and_acknowledged() -> None:
    clock = ManualClock()
    notices: list[TaskNotice] = []

    async def on_notice(notice: TaskNotice) -> None:
        notices.append(notice)

    backend = FastAPI()
    config = SimulatorConfig(clock=clock, callback_transport=httpx.ASGITransport(app=backend))
    sim = Simulator(config)
    headers = {"Authorization": f"Bearer {sim.api_key}", "Topview-Uid": sim.uid}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim.app), base_url="http://topview.test", headers=headers
    ) as api:
        fetcher = SimulatorFetcher(api)
        backend.include_router(
            topview_webhook_router(
                secret=SECRET, handler=on_notice, topview_uid=sim.uid, fetcher=fetcher
            )
        )
        notice_url = build_notice_url(WEBHOOK_BASE, SECRET)

        check = await api.post("/notice/notice_url/check", params={"noticeUrl": notice_url})
        assert check.json()["code"] == "200", check.text  # the URL check's test notice was acked

        submit = await api.post(
            "/v1/scraper/task/submit",
            json={"productLink": "https://shop.example.com/p/1", "noticeUrl": notice_url},
        )
        submitted = submit.json()["result"]
        clock.advance(3600)
        assert await sim.deliver_notices() == 1

    [owed] = sim.notices
    assert owed.acknowledged, owed.attempts
    scraper_notices = [n for n in notices if n.task_kind == "scraper"]
    [notice] = scraper_notices
    assert notice.uuid == submitted["noticeUuid"]
    assert notice.task_id == submitted["taskId"]
    assert notice.verified
    assert notice.succeeded
    assert isinstance(notice.result, ScraperTaskResult)
    assert fetcher.calls == [("scraper", submitted["taskId"])]


def test_the_simulator_reads_a_refusal_as_not_delivered_by_its_body_alone() -> None:
    # Issue 11.11: even if a proxy rewrote the status to 200, the body says "not delivered".
    from topview_async.testing._callbacks import ack_problem
    from topview_async.webhooks import build_acknowledgement

    refused = build_acknowledgement("n-1", "uid-1", accepted=False, code="500", reason="boom")
    assert ack_problem(httpx.Response(500, json=refused), "n-1", "uid-1") == "HTTP 500"
    assert ack_problem(httpx.Response(200, json=refused), "n-1", "uid-1") is not None
    accepted = build_acknowledgement("n-1", "uid-1")
    assert ack_problem(httpx.Response(200, json=accepted), "n-1", "uid-1") is None


async def test_a_refused_callback_is_delivered_again_by_the_simulator() -> None:
    clock = ManualClock()
    calls: list[str] = []

    async def on_notice(notice: TaskNotice) -> None:
        calls.append(notice.uuid)
        if len(calls) == 1:
            raise RuntimeError("database is down")

    backend = FastAPI()
    config = SimulatorConfig(
        clock=clock,
        callback_transport=httpx.ASGITransport(app=backend),
        callback_max_attempts=3,
        callback_retry_interval=5,
    )
    sim = Simulator(config)
    headers = {"Authorization": f"Bearer {sim.api_key}", "Topview-Uid": sim.uid}
    backend.include_router(
        topview_webhook_router(
            secret=SECRET, handler=on_notice, topview_uid=sim.uid, verify_with_api=False
        )
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim.app), base_url="http://topview.test", headers=headers
    ) as api:
        submit = await api.post(
            "/v1/scraper/task/submit",
            json={
                "productLink": "https://shop.example.com/p/1",
                "noticeUrl": build_notice_url(WEBHOOK_BASE, SECRET),
            },
        )
        uuid = submit.json()["result"]["noticeUuid"]
        clock.advance(3600)
        await sim.deliver_notices()
        [owed] = sim.notices
        assert not owed.acknowledged  # the refusal was not taken as a delivery
        clock.advance(10)
        await sim.deliver_notices()

    assert owed.acknowledged
    assert calls == [uuid, uuid]
