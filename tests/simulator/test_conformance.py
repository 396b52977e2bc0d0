"""The simulator speaks the contract: every response body of every operation validates
against its response schema in openapi/topview.yaml (JSON Schema 2020-12)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from topview_async.testing import ManualClock, Simulator, SimulatorConfig
from topview_async.testing._app import OPERATIONS

# The C loader when PyYAML has it: the spec is large and the pure-Python one is slow.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

pytestmark = pytest.mark.anyio

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi" / "topview.yaml"
SPEC_URI = "urn:topview-openapi"
NOT_SERVED_BY_API = {"uploadFileToStorage"}  # the presigned PUT: no JSON body to validate


FAILING = dict.fromkeys(
    (
        "m2v_export",
        "scraper",
        "text_to_video",
        "text_to_image",
        "photo_avatar",
        "product_avatar_image_to_video_v2",
        "board_download",
        "ai_music",
        "image_translate_batch",
        "video_object_remove",
        "video_character_swap",
    ),
    1.0,
)
"""Kinds that fail in the ``tasks-fail`` run (the others feed later calls)."""


def load_spec() -> dict[str, Any]:
    if not SPEC_PATH.exists():
        pytest.skip(f"{SPEC_PATH} does not exist yet: nothing to check conformance against")
    spec = yaml.load(SPEC_PATH.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    assert isinstance(spec, dict)
    return spec


class Conformance:
    """Calls operations by operationId and validates every response body."""

    def __init__(self, spec: dict[str, Any], client: httpx.AsyncClient) -> None:
        resource = Resource.from_contents(spec, default_specification=DRAFT202012)
        self.registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
        self.client = client
        self.operations: dict[str, tuple[str, str, str]] = {}
        for path, item in spec["paths"].items():
            for method, operation in item.items():
                if not isinstance(operation, dict) or "operationId" not in operation:
                    continue
                content = operation["responses"]["200"].get("content", {})
                schema = content.get("application/json", {}).get("schema", {})
                # [success envelope, ErrorEnvelope]: a successful call must match the first.
                ref = schema.get("anyOf", [schema])[0].get("$ref", "")
                self.operations[operation["operationId"]] = (method.upper(), path, ref)
        self.covered: set[str] = set()
        notice = spec["webhooks"]["taskNotice"]["post"]["requestBody"]["content"]
        # [CallbackNotice, BareCallbackResult]: the simulator sends the documented wrapper.
        self.notice_ref = notice["application/json"]["schema"]["anyOf"][0]["$ref"]

    def validate(self, ref: str, instance: Any) -> None:
        validator = Draft202012Validator({"$ref": SPEC_URI + ref}, registry=self.registry)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
        assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])

    async def call(self, operation_id: str, **kwargs: Any) -> Any:
        method, path, ref = self.operations[operation_id]
        response = await self.client.request(method, path, **kwargs)
        assert response.status_code == 200
        body = response.json()
        assert body["code"] == "200", (operation_id, body)
        self.validate(ref, body)
        self.covered.add(operation_id)
        return body["result"]


def test_routing_table_matches_the_spec() -> None:
    spec = load_spec()
    in_spec = {
        (method.upper(), path, op["operationId"])
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and op.get("operationId") not in NOT_SERVED_BY_API
    }
    assert in_spec == {(method, path, name) for method, path, name, _ in OPERATIONS}


def _acknowledge(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    uid = request.headers["topview-uid"]
    result = {"uuid": body["uuid"], "topviewUid": uid, "result": "success"}
    return httpx.Response(200, json={"code": "200", "message": "Success", "result": result})


@pytest.mark.parametrize("failing", [False, True], ids=["tasks-succeed", "tasks-fail"])
async def test_every_operation_conforms(failing: bool) -> None:
    spec = load_spec()
    clock = ManualClock()
    delivered: list[dict[str, Any]] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        delivered.append(json.loads(request.content))
        return _acknowledge(request)

    config = SimulatorConfig(
        clock=clock,
        callback_transport=httpx.MockTransport(receiver),
        failure_probability=FAILING if failing else {},
    )
    sim = Simulator(config)
    headers = {"Authorization": f"Bearer {sim.api_key}", "Topview-Uid": sim.uid}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim.app), base_url="http://sim.test", headers=headers
    ) as client:
        api = Conformance(spec, client)
        await _exercise(api, sim, clock)
    await sim.deliver_notices()
    assert delivered
    for body in delivered:
        api.validate(api.notice_ref, body)
    assert api.covered == set(api.operations) - NOT_SERVED_BY_API


async def _upload(api: Conformance, sim: Simulator, file_format: str) -> str:
    credential = await api.call("getUploadCredential", params={"format": file_format})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app)) as bare:
        assert (await bare.put(credential["uploadUrl"], content=b"bytes")).status_code == 200
    assert await api.call("checkUpload", params={"fileId": credential["fileId"]}) is True
    return str(credential["fileId"])


async def _exercise(api: Conformance, sim: Simulator, clock: ManualClock) -> None:
    notice = "http://receiver.test/notice"
    assert await api.call("checkNoticeUrl", params={"noticeUrl": notice}) is True
    image = await _upload(api, sim, "png")
    video = await _upload(api, sim, "mp4")
    audio = await _upload(api, sim, "mp3")
    voices = await api.call("listVoices", params={"language": "en", "pageSize": 5})
    await api.call("listEthnicities", params={"scene": "video_avatar"})
    await api.call("listEthnicities", params={"scene": "product_avatar", "pageNo": 1})
    avatars = await api.call("listAiAvatars", params={"gender": "female"})
    captions = await api.call("listCaptions")
    await api.call("listProductAvatarCategories")
    product_avatars = await api.call("listPublicProductAvatars", params={"sortingType": "Newest"})
    await api.call("listAnyShootTemplateCategories")
    templates = await api.call("listAnyShootTemplates", params={"style": "UGC"})

    m2v = await api.call(
        "submitM2vTask",
        json={
            "productLink": "https://shop.test/p/1",
            "preview": True,
            "voiceId": voices["data"][0]["voiceId"],
            "aiavatarId": avatars["data"][0]["aiavatarId"],
            "captionId": captions[0]["captionId"],
            "noticeUrl": notice,
        },
    )
    direct = await api.call(
        "submitM2vTask",
        json={"fileIds": [image, video], "productName": "Mug", "productDescription": "Blue"},
    )
    talking = await api.call(
        "submitVideoAvatarTask",
        json={
            "avatarSourceFrom": 0,
            "videoFileId": video,
            "audioSourceFrom": 0,
            "audioFileId": audio,
        },
    )
    replace = await api.call(
        "submitProductAvatarImageReplace",
        json={
            "avatarId": product_avatars["data"][0]["avatarId"],
            "productImageFileId": image,
            "imageEditPrompt": "hold it",
            "noticeUrl": notice,
        },
    )
    shoot = await api.call(
        "submitAnyShootTask",
        json={
            "productImageFileId": image,
            "templateId": templates["data"][0]["templateId"],
            "templateMaskFileId": image,
            "mode": "auto",
        },
    )
    i2v = await api.call(
        "submitImageToVideoTask",
        json={"imageFileId": image, "duration": 5, "mode": "lite", "generatingCount": 2},
    )
    scraper = await api.call(
        "submitScraperTask", json={"productLink": "https://shop.test/p/2", "noticeUrl": notice}
    )
    queries = {
        "queryM2vTask": m2v,
        "queryVideoAvatarTask": talking,
        "queryProductAvatarImageReplace": replace,
        "queryAnyShootTask": shoot,
        "queryImageToVideoTask": i2v,
        "queryScraperTask": scraper,
    }
    for operation, task in queries.items():  # in progress
        await api.call(operation, params={"taskId": task["taskId"]})
    clock.advance(1000)
    for operation, task in queries.items():  # finished
        await api.call(operation, params={"taskId": task["taskId"], "needCloudFrontUrl": "true"})
    await api.call("queryM2vTask", params={"taskId": direct["taskId"]})

    scripts = await api.call("listM2vScripts", params={"taskId": m2v["taskId"]})
    await api.call(
        "updateM2vScript",
        json={
            "taskId": m2v["taskId"],
            "scriptId": scripts[0]["scriptId"],
            "scriptContents": [{"segId": 1, "segText": "New"}],
        },
    )
    await api.call("exportM2vVideo", json={"taskId": m2v["taskId"], "noticeUrl": notice})
    await api.call("queryM2vTask", params={"taskId": m2v["taskId"]})
    replaced = await api.call(
        "queryProductAvatarImageReplace", params={"taskId": replace["taskId"]}
    )
    animated = await api.call(
        "submitProductAvatarImageToVideo",
        json={"productReplaceResultKey": replaced["productReplaceResult"][0]["key"], "mode": "pro"},
    )
    await api.call("queryProductAvatarImageToVideo", params={"taskId": animated["taskId"]})
    clock.advance(1000)
    await api.call("queryM2vTask", params={"taskId": m2v["taskId"]})
    await api.call("queryProductAvatarImageToVideo", params={"taskId": animated["taskId"]})
    await _exercise_newer(api, sim, clock, image=image, audio=audio, notice=notice)
    await _exercise_media(api, sim, clock, image=image, audio=audio, notice=notice)


async def _exercise_newer(
    api: Conformance, sim: Simulator, clock: ManualClock, *, image: str, audio: str, notice: str
) -> None:
    """The newer endpoints (CORRECTIONS §2), in progress and finished."""
    voice = sim.catalog.voices[0]["voiceId"]
    caption = sim.catalog.captions[0]["captionId"]
    board = await api.call("createBoard", json={"name": "Campaign"})
    board_id = board["boardId"]
    await api.call("updateBoard", json={"boardId": board_id, "name": "Campaign Q4"})
    await api.call("getBoard", params={"boardId": board_id})
    submits = {
        "queryImageToVideoV2Task": await api.call(
            "submitImageToVideoV2Task",
            json={
                "model": "Veo 3.1",
                "firstFrameFileId": image,
                "duration": 8,
                "generatingCount": 2,
                "boardId": board_id,
                "noticeUrl": notice,
            },
        ),
        "queryTextToVideoTask": await api.call(
            "submitTextToVideoTask",
            json={"model": "Sora 2", "prompt": "A cat", "noticeUrl": notice},
        ),
        "queryOmniReferenceTask": await api.call(
            "submitOmniReferenceTask",
            json={
                "model": "Standard",
                "prompt": "<<<Image1>>> on a beach",
                "inputImages": [{"name": "Image1", "fileId": image}],
            },
        ),
        "queryStoryboardTask": await api.call(
            "submitStoryboardTask",
            json={
                "story": "Shots",
                "model": "GPT Image 2",
                "resolution": "2K",
                "noticeUrl": notice,
            },
        ),
        "queryTextToImageTask": await api.call(
            "submitTextToImageTask",
            json={"prompt": "A mug", "generateCount": 2, "resolution": "2K", "noticeUrl": notice},
        ),
        "queryImageEditTask": await api.call(
            "submitImageEditTask", json={"prompt": "Make it red", "inputImageFileIds": [image]}
        ),
        "queryRemoveBackgroundTask": await api.call(
            "submitRemoveBackgroundTask", json={"productImageFileId": image}
        ),
        "queryPhotoAvatarTask": await api.call(
            "submitPhotoAvatarTask",
            json={
                "mode": "avatar4",
                "scriptMode": "audio",
                "templateImageFileId": image,
                "audioFileId": audio,
                "saveCustomAiAvatar": True,
                "noticeUrl": notice,
            },
        ),
        "queryProductAvatarImageReplaceV3": await api.call(
            "submitProductAvatarImageReplaceV3",
            json={"productImageFileId": image, "templateImageFileId": image},
        ),
        "queryAnyShootProductModelTask": await api.call(
            "submitAnyShootProductModelTask", json={"productImageFileId": image}
        ),
        "queryTextToSpeechTask": await api.call(
            "submitTextToSpeechTask",
            json={"voiceText": "Hello", "voiceId": voice, "pronRules": [], "noticeUrl": notice},
        ),
        "queryVoiceCloneTask": await api.call(
            "submitVoiceCloneTask", json={"originVoiceFileId": audio, "name": "Brand"}
        ),
    }
    for operation, task in submits.items():
        await api.call(operation, params={"taskId": task["taskId"]})
    await api.call("getBoardTask", params={"taskId": submits["queryImageToVideoV2Task"]["taskId"]})
    clock.advance(1000)
    for operation, task in submits.items():
        await api.call(operation, params={"taskId": task["taskId"], "needCloudFrontUrl": "true"})

    replaced = await api.call(
        "queryProductAvatarImageReplaceV3",
        params={"taskId": submits["queryProductAvatarImageReplaceV3"]["taskId"]},
    )
    animated = await api.call(
        "submitProductAvatarImageToVideoV2",
        json={
            "replaceProductTaskImageId": replaced["replaceProductResult"][0]["imageId"],
            "mode": "avatar2",
            "scriptMode": "text",
            "ttsText": "Look!",
            "voiceId": voice,
            "captionId": caption,
            "noticeUrl": notice,
        },
    )
    download = await api.call(
        "submitBoardDownload", json={"boardId": board_id, "noticeUrl": notice}
    )
    clock.advance(1000)
    await api.call("queryProductAvatarImageToVideoV2", params={"taskId": animated["taskId"]})
    await api.call("queryBoardDownload", params={"taskId": download["taskId"]})

    await api.call("listBoards", params={"pageSize": 5})
    tasks = await api.call("listBoardTasks", params={"boardId": board_id, "mediaType": "video"})
    assert tasks["list"], "the image-to-video result is on the board"
    await api.call("deleteBoardTasks", json={"taskIds": [tasks["list"][0]["taskId"]]})
    await api.call("deleteBoard", params={"boardId": board_id})

    cloned = await api.call(
        "queryVoiceCloneTask", params={"taskId": submits["queryVoiceCloneTask"]["taskId"]}
    )
    await api.call("deleteClonedVoice", params={"voiceId": cloned["voice"]["voiceId"]})
    categories = await api.call("listPhotoAvatarTemplateCategories")
    created = await api.call(
        "createPhotoAvatarTemplate",
        json={"templateImageFileId": image, "categoryId": categories[0]["categoryId"]},
    )
    await api.call("listPhotoAvatarTemplates", params={"pageSize": 3})
    await api.call("deletePhotoAvatarTemplate", params={"templateId": created["templateId"]})
    await api.call(
        "queryVideoToAiAvatarTask", params={"taskId": sim.catalog.custom_avatar_tasks[0]["taskId"]}
    )

    credit = await api.call("getCreditDetail")
    assert credit["remainCredit"] < sim.config.credit
    logs = await api.call("listCreditLogs", params={"taskType": "pa2_image2video"})
    assert [entry["taskId"] for entry in logs["data"]] == [animated["taskId"]]
    await api.call("getUserSpace")
    listed = await api.call("listM2vTasks", params={"pageSize": 10})
    assert listed["total"] == 2
    deleted = await api.call("deleteM2vTasks", json={"taskIds": [listed["data"][-1]["taskId"]]})
    assert deleted["errosMsg"] is None


async def _exercise_media(
    api: Conformance, sim: Simulator, clock: ManualClock, *, image: str, audio: str, notice: str
) -> None:
    """The endpoints of issue 22, in progress and finished (chains use kinds that never fail)."""
    video = await _upload(api, sim, "mp4")
    submits = {
        "queryAiMusicTask": await api.call(
            "submitAiMusicTask",
            json={
                "model": "Topview Music",
                "styles": "lofi",
                "enhancePrompt": True,
                "referenceAudio": {"fileId": audio, "clipStart": 0, "clipEnd": 10},
                "noticeUrl": notice,
            },
        ),
        "queryImageTranslateTask": await api.call(
            "submitImageTranslateTask",
            json={"fileId": image, "languages": ["Italian"], "noticeUrl": notice},
        ),
        "queryImageGenerateTask": await api.call(
            "submitImageTranslateBatchTask",
            json={"fileIds": [image], "languages": ["Spanish", "Hindi"], "noticeUrl": notice},
        ),
        "queryVideoObjectRemoveTask": await api.call(
            "submitVideoObjectRemoveTask",
            json={
                "mode": "clear-inside",
                "videoFileId": video,
                "selectionBox": {"x": 10, "y": 10, "w": 20, "h": 20},
                "noticeUrl": notice,
            },
        ),
        "queryVideoProcessTask": await api.call(
            "submitVideoProcessTask", json={"inputVideoFileId": video, "noticeUrl": notice}
        ),
        "queryVideoToAiAvatarTask": await api.call(
            "submitVideoToAiAvatarTask", json={"videoFileId": video, "noticeUrl": notice}
        ),
    }
    for operation, task in submits.items():
        await api.call(operation, params={"taskId": task["taskId"]})
    clock.advance(1000)
    for operation, task in submits.items():
        await api.call(operation, params={"taskId": task["taskId"], "needCloudFrontUrl": "true"})

    translated = submits["queryImageTranslateTask"]["taskId"]
    generated = await api.call(
        "submitImageGenerateTask", json={"taskId": translated, "noticeUrl": notice}
    )
    assert generated["taskId"] == translated, "the docs' example answers with the same taskId"
    processed = submits["queryVideoProcessTask"]["taskId"]
    points = {"index": "0", "modifyPoints": [[10.0, 20.0]], "protectPoints": [[5.0, 5.0]]}
    image_mask = await api.call(
        "submitImageMaskDrawingTask",
        json={"videoProcessTaskId": processed, "inputInfo": points, "noticeUrl": notice},
    )
    video_mask = await api.call(
        "submitVideoMaskDrawingTask",
        json={"videoProcessTaskId": processed, "inputInfos": [points], "noticeUrl": notice},
    )
    clock.advance(1000)
    swap = await api.call(
        "submitVideoCharacterSwapTask",
        json={
            "modelImageFileId": image,
            "videoMaskDrawingTaskId": video_mask["taskId"],
            "noticeUrl": notice,
        },
    )
    clock.advance(1000)
    await api.call("queryImageGenerateTask", params={"taskId": generated["taskId"]})
    await api.call("queryImageMaskDrawingTask", params={"taskId": image_mask["taskId"]})
    await api.call("queryVideoMaskDrawingTask", params={"taskId": video_mask["taskId"]})
    await api.call("queryVideoCharacterSwapTask", params={"taskId": swap["taskId"]})


async def test_error_replies_validate_as_error_envelopes() -> None:
    # CORRECTIONS #21: errors are HTTP 200, code != "200", result null. Each operation's 200
    # response is [success envelope, ErrorEnvelope], so an error reply must match the second.
    spec = load_spec()
    sim = Simulator(SimulatorConfig(clock=ManualClock()))
    headers = {"Authorization": f"Bearer {sim.api_key}", "Topview-Uid": sim.uid}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim.app), base_url="http://sim.test", headers=headers
    ) as client:
        api = Conformance(spec, client)
        replies = [
            await client.get("/v1/m2v/task/query", params={"taskId": "f" * 32}),
            await client.post("/v1/m2v/task/submit", json={"productName": "no source"}),
            await client.get("/v1/upload/credential", params={"format": "mkv"}),
        ]
    for reply in replies:
        body = reply.json()
        assert reply.status_code == 200
        assert body["code"] != "200"
        assert body.get("result") is None
        api.validate("#/components/schemas/ErrorEnvelope", body)
