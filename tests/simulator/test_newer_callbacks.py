"""Callbacks of the newer task kinds carry their spec's bizType and parse into typed results;
every table built from the spec's ``x-topview-task`` knows the newer kinds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from topview_async._generated.task_kinds import TASK_KINDS
from topview_async.testing import ManualClock, Simulator, SimulatorConfig
from topview_async.testing._config import DEFAULT_TASK_DURATIONS
from topview_async.testing._tasks import BIZ_TYPES
from topview_async.webhooks._parse import BIZ_TYPE_KINDS, KIND_RESULT_MODELS, parse_notice

pytestmark = pytest.mark.anyio

SPEC = Path(__file__).resolve().parents[2] / "openapi" / "topview.yaml"
NOTICE = "http://receiver.test/notice"


def spec_tasks() -> dict[str, dict[str, Any]]:
    """``x-topview-task`` of every submit that declares its bizTypes, by kind."""
    document = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    found = {}
    for item in document["paths"].values():
        for operation in item.values():
            task = operation.get("x-topview-task") if isinstance(operation, dict) else None
            if task and "bizTypes" in task:
                found[task["kind"]] = task
    return found


NEWER_KINDS = (
    "image_to_video_v2",
    "text_to_video",
    "omni_reference",
    "storyboard",
    "text_to_image",
    "image_edit",
    "remove_background",
    "photo_avatar",
    "product_avatar_image_to_video_v2",
    "product_avatar_image_replace_v3",
    "anyshoot_product_model",
    "text_to_speech",
    "voice_clone",
    "board_download",
    "ai_music",
    "image_translate",
    "image_translate_generate",
    "image_translate_batch",
    "video_object_remove",
    "video_process",
    "image_mask_drawing",
    "video_mask_drawing",
    "video_character_swap",
    "video_to_ai_avatar",
)
NO_FILE_KINDS = ("image_translate", "image_mask_drawing")
"""Kinds whose result is data (translated text, base64 masks), not files."""


def test_newer_kinds_reach_every_table_built_from_the_spec() -> None:
    tasks = spec_tasks()
    for kind in NEWER_KINDS:
        task = tasks[kind]
        assert BIZ_TYPES[kind] in task["bizTypes"], kind
        assert all(BIZ_TYPE_KINDS[biz] == kind for biz in task["bizTypes"]), kind
        assert kind in KIND_RESULT_MODELS
        assert bool(TASK_KINDS[kind].result_files) == (kind not in NO_FILE_KINDS), kind
        assert kind in DEFAULT_TASK_DURATIONS
        assert task["statusField"] == "status"


async def test_newer_callbacks_carry_their_biz_type_and_parse_typed() -> None:
    delivered: list[bytes] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        delivered.append(request.content)
        body = json.loads(request.content)
        result = {"uuid": body["uuid"], "topviewUid": request.headers["topview-uid"]}
        return httpx.Response(200, json={"code": "200", "result": result | {"result": "success"}})

    clock = ManualClock()
    sim = Simulator(SimulatorConfig(clock=clock, callback_transport=httpx.MockTransport(receiver)))
    headers = {"Authorization": f"Bearer {sim.api_key}", "Topview-Uid": sim.uid}
    submits = {
        "text_to_video": (
            "/v1/common_task/text2video/task/submit",
            {"model": "Sora 2", "prompt": "x"},
        ),
        "text_to_image": ("/v1/common_task/text2image/task/submit", {"prompt": "x"}),
        "storyboard": (
            "/v1/common_task/storyboard/task/submit",
            {"story": "x", "model": "Nano Banana Pro", "resolution": "1K"},
        ),
        "ai_music": (
            "/v1/common_task/ai_music/task/submit",
            {"model": "Minimax Music 2.6", "lyrics": "la la la"},
        ),
        "text_to_speech": (
            "/v1/voice/text2voice/task/submit",
            {"voiceText": "Hi", "voiceId": sim.catalog.voices[0]["voiceId"]},
        ),
    }
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim.app), base_url="http://sim.test", headers=headers
    ) as api:
        ids = {}
        for kind, (path, body) in submits.items():
            reply = (await api.post(path, json=body | {"noticeUrl": NOTICE})).json()
            assert reply["code"] == "200", reply
            ids[reply["result"]["taskId"]] = kind
    clock.advance(1000)
    await sim.deliver_notices()

    assert len(delivered) == len(submits)
    for raw in delivered:
        notice = parse_notice(raw)
        kind = ids[notice.task_id]
        assert notice.biz_type == BIZ_TYPES[kind]
        assert notice.task_kind == kind
        assert isinstance(notice.result, KIND_RESULT_MODELS[kind])
