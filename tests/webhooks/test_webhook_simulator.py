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
