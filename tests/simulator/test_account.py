"""The account endpoints: the M2V task list (to find lost submits) and the credit balance."""

from __future__ import annotations

import httpx
import pytest
from sim_helpers import code, ok

from topview_async.testing import ManualClock, Simulator

pytestmark = pytest.mark.anyio


async def _submit(client: httpx.AsyncClient, n: int) -> str:
    body = {"productLink": f"https://shop.test/p/{n}", "aspectRatio": "9:16"}
    return str(ok(await client.post("/v1/m2v/task/submit", json=body))["taskId"])


async def test_the_task_list_shows_submits_newest_first_with_their_parameters(
    sim: Simulator, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    ids = []
    for n in range(3):
        ids.append(await _submit(client, n))
        clock.advance(1)
    page = ok(await client.get("/v1/m2v/task/list", params={"pageNo": 1, "pageSize": 2}))
    assert page["total"] == 3
    assert [item["taskId"] for item in page["data"]] == [ids[2], ids[1]]
    first = page["data"][0]
    assert first["productLink"] == "https://shop.test/p/2"
    assert first["createTime"] == int((clock() - 1) * 1000)
    assert "costCredit" not in first  # not finished yet
    rest = ok(await client.get("/v1/m2v/task/list", params={"pageNo": 2, "pageSize": 2}))
    assert [item["taskId"] for item in rest["data"]] == [ids[0]]


async def test_submits_spend_the_balance_and_4100_when_it_runs_out(
    sim: Simulator, client: httpx.AsyncClient
) -> None:
    sim.config.credits = 12.0
    assert ok(await client.get("/user/credit/detail"))["remainCredit"] == 12.0
    await _submit(client, 1)
    await _submit(client, 2)
    assert ok(await client.get("/user/credit/detail"))["remainCredit"] == 2.0
    response = await client.post("/v1/m2v/task/submit", json={"productLink": "https://x.test"})
    assert code(response) == "4100"
    assert len(sim.tasks) == 2
