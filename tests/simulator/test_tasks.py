"""Task life cycles, derived from the injected clock."""

from __future__ import annotations

import httpx
import pytest
from sim_helpers import code, ok, upload

from topview_async.testing import ManualClock, Simulator, SimulatorConfig

pytestmark = pytest.mark.anyio

LINK = {"productLink": "https://shop.test/product/1"}


async def test_status_moves_init_running_success(
    client: httpx.AsyncClient, clock: ManualClock, sim: Simulator
) -> None:
    submitted = ok(await client.post("/v1/scraper/task/submit", json=LINK))
    assert submitted["status"] == "init"
    assert "noticeUuid" not in submitted
    query = {"taskId": submitted["taskId"]}
    duration = sim.config.duration("scraper")
    clock.advance(duration / 2)
    assert ok(await client.get("/v1/scraper/task/query", params=query))["status"] == "running"
    clock.advance(duration)
    result = ok(await client.get("/v1/scraper/task/query", params=query))
    assert result["status"] == "success"
    assert result["errorMsg"] is None
    assert result["productImages"]


async def test_failure_probability_gives_fail_with_error_message(clock: ManualClock) -> None:
    sim = Simulator(SimulatorConfig(clock=clock, failure_probability={"scraper": 1.0}))
    headers = {"Authorization": f"Bearer {sim.api_key}", "Topview-Uid": sim.uid}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim.app), base_url="http://t", headers=headers
    ) as client:
        task = ok(await client.post("/v1/scraper/task/submit", json=LINK))
        clock.advance(1000)
        result = ok(await client.get("/v1/scraper/task/query", params={"taskId": task["taskId"]}))
    assert result["status"] == "fail"
    assert result["errorMsg"]
    assert "productImages" not in result


async def test_time_scale_shortens_durations(clock: ManualClock) -> None:
    slow = SimulatorConfig(clock=clock).duration("m2v")
    assert SimulatorConfig(clock=clock, time_scale=10).duration("m2v") == pytest.approx(slow / 10)


async def _run_ids(seed: int) -> list[str]:
    sim = Simulator(SimulatorConfig(seed=seed, clock=ManualClock()))
    headers = {"Authorization": f"Bearer {sim.api_key}", "Topview-Uid": sim.uid}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim.app), base_url="http://t", headers=headers
    ) as client:
        return [
            ok(await client.post("/v1/scraper/task/submit", json=LINK))["taskId"] for _ in range(3)
        ]


async def test_seed_makes_runs_reproducible() -> None:
    first = await _run_ids(5)
    assert first == await _run_ids(5)
    assert first != await _run_ids(6)
    assert all(len(t) == 32 and int(t, 16) >= 0 for t in first)


async def test_m2v_preview_then_export(client: httpx.AsyncClient, clock: ManualClock) -> None:
    task = ok(await client.post("/v1/m2v/task/submit", json={**LINK, "preview": True}))
    query = {"taskId": task["taskId"]}
    code_before = code(await client.post("/v1/m2v/export", json=query))
    assert code_before == "4006"  # previews not ready yet
    clock.advance(100)
    result = ok(await client.get("/v1/m2v/task/query", params=query))
    assert result["status"] == "success"
    previews = result["previewVideos"]
    assert len(previews) == 3
    assert all(p["status"] == "success" and p["videoUrl"] for p in previews)
    assert result["exportVideos"] == []

    script_id = previews[1]["scriptId"]
    exported = ok(await client.post("/v1/m2v/export", json={**query, "scriptId": script_id}))
    assert exported["taskId"] == task["taskId"]
    result = ok(await client.get("/v1/m2v/task/query", params=query))
    assert [e["scriptId"] for e in result["exportVideos"]] == [script_id]
    assert result["exportVideos"][0]["status"] in ("init", "running")
    assert "videoUrl" not in result["exportVideos"][0]
    clock.advance(100)
    result = ok(await client.get("/v1/m2v/task/query", params=query))
    export = result["exportVideos"][0]
    assert export["status"] == "success"
    assert export["videoUrl"].startswith("http://sim.test/_storage/media/")
    assert export["videoDuration"] > 0


async def test_m2v_export_zero_means_first_script(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    task = ok(await client.post("/v1/m2v/task/submit", json={**LINK, "preview": True}))
    clock.advance(100)
    scripts = ok(await client.get("/v1/m2v/script/list", params={"taskId": task["taskId"]}))
    ok(await client.post("/v1/m2v/export", json={"taskId": task["taskId"], "scriptId": 0}))
    result = ok(await client.get("/v1/m2v/task/query", params={"taskId": task["taskId"]}))
    assert result["exportVideos"][0]["scriptId"] == scripts[0]["scriptId"]
    unknown = {"taskId": task["taskId"], "scriptId": 1}
    assert code(await client.post("/v1/m2v/export", json=unknown)) == "4004"


async def test_m2v_without_preview_exports_directly(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    task = ok(await client.post("/v1/m2v/task/submit", json=LINK))
    clock.advance(100)
    result = ok(await client.get("/v1/m2v/task/query", params={"taskId": task["taskId"]}))
    assert result["previewVideos"] == []
    assert len(result["exportVideos"]) == 3
    assert all(e["status"] == "success" for e in result["exportVideos"])
    assert code(await client.post("/v1/m2v/export", json={"taskId": task["taskId"]})) == "4000"


async def test_m2v_script_update_replaces_segments(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    task = ok(await client.post("/v1/m2v/task/submit", json={**LINK, "preview": True}))
    clock.advance(100)
    query = {"taskId": task["taskId"]}
    scripts = ok(await client.get("/v1/m2v/script/list", params=query))
    assert len(scripts) == 3
    target = scripts[2]["scriptId"]
    new_segments = [{"segId": 1, "segText": "Only one line now"}, {"segId": "2", "segText": "Two"}]
    update = {"taskId": task["taskId"], "scriptId": target, "scriptContents": new_segments}
    updated = ok(await client.post("/v1/m2v/script/update", json=update))
    assert updated["taskId"] == task["taskId"]
    scripts = ok(await client.get("/v1/m2v/script/list", params=query))
    assert scripts[2]["scriptContents"] == [
        {"segId": 1, "segText": "Only one line now"},
        {"segId": 2, "segText": "Two"},
    ]
    assert len(scripts[0]["scriptContents"]) == 4
    missing = {"taskId": task["taskId"], "scriptContents": []}
    assert code(await client.post("/v1/m2v/script/update", json=missing)) == "4003"


async def test_product_avatar_replace_then_image_to_video(
    client: httpx.AsyncClient, sim: Simulator, clock: ManualClock
) -> None:
    product = await upload(sim, client)
    avatars = ok(await client.get("/v1/product_avatar/public_avatar/query"))["data"]
    body = {
        "avatarId": avatars[0]["avatarId"],
        "productImageFileId": product,
        "imageEditPrompt": "Put the product in the hand",
    }
    task = ok(await client.post("/v1/product_avatar/task/image_replace/submit", json=body))
    query = {"taskId": task["taskId"]}
    pending = ok(await client.get("/v1/product_avatar/task/image_replace/result", params=query))
    assert pending["taskStatus"] in ("init", "running")
    assert "status" not in pending  # this endpoint reports taskStatus
    i2v = {"productReplaceResultKey": "nope", "mode": "lite"}
    assert code(await client.post("/v1/product_avatar/task/image2Video/submit", json=i2v)) == "4004"
    clock.advance(100)
    result = ok(await client.get("/v1/product_avatar/task/image_replace/result", params=query))
    assert result["taskStatus"] == "success"
    items = result["productReplaceResult"]
    assert items
    assert {"key", "url", "faceExistence"} <= set(items[0])
    i2v["productReplaceResultKey"] = items[0]["key"]
    video = ok(await client.post("/v1/product_avatar/task/image2Video/submit", json=i2v))
    clock.advance(100)
    done = ok(
        await client.get(
            "/v1/product_avatar/task/image2Video/result", params={"taskId": video["taskId"]}
        )
    )
    assert done["status"] == "success"
    assert done["videoUrl"]


async def test_scraper_files_are_usable_in_m2v(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    task = ok(await client.post("/v1/scraper/task/submit", json=LINK))
    clock.advance(100)
    result = ok(await client.get("/v1/scraper/task/query", params={"taskId": task["taskId"]}))
    file_ids = [m["fileId"] for m in result["productImages"] + result["productVideos"]]
    for file_id in file_ids:
        assert ok(await client.get("/v1/upload/check", params={"fileId": file_id})) is True
    body = {"fileIds": file_ids, "productName": "Mug", "productDescription": "A blue mug"}
    assert ok(await client.post("/v1/m2v/task/submit", json=body))["taskId"]


async def test_video_avatar_conditional_fields(
    client: httpx.AsyncClient, sim: Simulator, clock: ManualClock
) -> None:
    path = "/v1/video_avatar/task/submit"
    assert (
        code(await client.post(path, json={"avatarSourceFrom": 0, "audioSourceFrom": 1})) == "4003"
    )
    bad_source = {"avatarSourceFrom": 7, "audioSourceFrom": 1}
    assert code(await client.post(path, json=bad_source)) == "4000"
    avatar = ok(await client.get("/v1/aiavatar/query"))["data"][0]["aiavatarId"]
    public_tts = {
        "avatarSourceFrom": 1,
        "aiAvatarId": avatar,
        "audioSourceFrom": 1,
        "ttsText": "welcome to topview.ai",
    }
    task = ok(await client.post(path, json=public_tts))
    video, audio = await upload(sim, client, "mp4"), await upload(sim, client, "mp3")
    own = {
        "avatarSourceFrom": "0",
        "videoFileId": video,
        "audioSourceFrom": 0,
        "audioFileId": audio,
    }
    own_task = ok(await client.post(path, json=own))
    clock.advance(100)
    done = ok(await client.get("/v1/video_avatar/task/query", params={"taskId": task["taskId"]}))
    assert done["status"] == "success"
    assert done["outputVideoUrl"]
    assert done["inputVideoFileId"] is None
    own_done = ok(
        await client.get("/v1/video_avatar/task/query", params={"taskId": own_task["taskId"]})
    )
    assert own_done["inputVideoFileId"] == video


async def test_anyshoot_and_image_to_video(
    client: httpx.AsyncClient, sim: Simulator, clock: ManualClock
) -> None:
    image, mask = await upload(sim, client), await upload(sim, client)
    template = ok(await client.get("/v1/product_anyShoot/template/list"))["data"][0]["templateId"]
    shoot = {
        "productImageFileId": image,
        "templateId": template,
        "templateMaskFileId": mask,
        "mode": "auto",
        "generatingCount": 2,
    }
    shot = ok(await client.post("/v1/product_anyShoot/task/submit", json=shoot))
    i2v = {"imageFileId": image, "duration": 10, "mode": "pro", "generatingCount": 3}
    video = ok(await client.post("/v1/common_task/image2video/submit", json=i2v))
    clock.advance(100)
    shot_result = ok(
        await client.get("/v1/product_anyShoot/task/result", params={"taskId": shot["taskId"]})
    )
    assert len(shot_result["images"]) == 2
    video_result = ok(
        await client.get("/v1/common_task/image2video/result", params={"taskId": video["taskId"]})
    )
    assert len(video_result["videos"]) == 3
    assert video_result["videos"][0]["originVideo"]["filePath"]
    bad = {**i2v, "duration": 7}
    assert code(await client.post("/v1/common_task/image2video/submit", json=bad)) == "4000"


async def test_unfinished_task_limit_gives_4007(clock: ManualClock) -> None:
    sim = Simulator(SimulatorConfig(clock=clock, max_unfinished_tasks=2))
    headers = {"Authorization": f"Bearer {sim.api_key}", "Topview-Uid": sim.uid}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim.app), base_url="http://t", headers=headers
    ) as client:
        ok(await client.post("/v1/scraper/task/submit", json=LINK))
        ok(await client.post("/v1/scraper/task/submit", json=LINK))
        assert code(await client.post("/v1/scraper/task/submit", json=LINK)) == "4007"
        clock.advance(100)
        assert ok(await client.post("/v1/scraper/task/submit", json=LINK))["taskId"]


async def test_no_limit_by_default(client: httpx.AsyncClient) -> None:
    for _ in range(20):
        ok(await client.post("/v1/scraper/task/submit", json=LINK))
