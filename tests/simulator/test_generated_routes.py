"""The simulator's routes and per-kind behaviour come from the spec (issue 22): every
generated operation is served, only operations with rules of their own have a handler, and a
kind whose result model has a builder needs nothing else."""

from __future__ import annotations

import json

import httpx
import pytest

from topview_async._generated.operations import OPERATIONS as SPEC_OPERATIONS
from topview_async._generated.task_kinds import TASK_KINDS
from topview_async.testing import ManualClock, Simulator, SimulatorConfig
from topview_async.testing._app import OPERATIONS, SPECIAL
from topview_async.testing._results import RESULT_BUILDERS

pytestmark = pytest.mark.anyio


def test_routes_are_the_generated_operation_table() -> None:
    assert [(m, p, n) for m, p, n, _ in OPERATIONS] == [
        (op.method, op.path, op.operation_id) for op in SPEC_OPERATIONS.values()
    ]
    assert set(SPECIAL) <= set(SPEC_OPERATIONS), "a handler for an operation the spec lacks"
    served_generically = set(SPEC_OPERATIONS) - set(SPECIAL)
    assert {"submitTextToVideoTask", "submitVideoToAiAvatarTask", "queryAiMusicTask"} <= (
        served_generically
    )


def test_every_kind_has_a_result_builder_by_its_model() -> None:
    for kind, facts in TASK_KINDS.items():
        assert facts.result_model in RESULT_BUILDERS, kind


async def test_a_generic_submit_validates_like_the_sdk_and_checks_files() -> None:
    clock = ManualClock()
    sim = Simulator(SimulatorConfig(clock=clock))
    headers = {"Authorization": f"Bearer {sim.api_key}", "Topview-Uid": sim.uid}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim.app), base_url="http://sim.test", headers=headers
    ) as api:

        async def post(path: str, body: dict[str, object]) -> dict[str, object]:
            reply: dict[str, object] = (await api.post(path, json=body)).json()
            return reply

        missing = await post("/v1/common_task/text2video/task/submit", {"prompt": "A cat"})
        assert missing["code"] == "4003"
        assert "model" in str(missing["message"])
        too_many = await post(
            "/v1/common_task/text2video/task/submit",
            {"model": "Sora 2", "prompt": "A cat", "generatingCount": 9},
        )
        assert too_many["code"] == "4000"
        unknown_file = await post(
            "/v1/common_task/video2aiAvatar/submit", {"videoFileId": "f" * 32}
        )
        assert unknown_file["code"] == "4004"

        made = await post(
            "/v1/common_task/text2video/task/submit", {"model": "Sora 2", "prompt": "A cat"}
        )
        assert made["code"] == "200"
        task_id = json.loads(json.dumps(made["result"]))["taskId"]
        clock.advance(1000)
        reply = (
            await api.get("/v1/common_task/text2video/task/query", params={"taskId": task_id})
        ).json()
    assert reply["result"]["status"] == "success"
    assert reply["result"]["videos"][0]["filePath"]
