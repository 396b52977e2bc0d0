"""Authentication and request validation codes."""

from __future__ import annotations

import httpx
import pytest
from sim_helpers import body_of, code, ok

from topview_async.testing import Simulator

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Topview-Uid": "simuid0000000000000a"},
        {"Authorization": "Bearer sk-simulator-0000000000000000"},
        {"Authorization": "Bearer wrong", "Topview-Uid": "simuid0000000000000a"},
        {"Authorization": "Basic sk-simulator-0000000000000000", "Topview-Uid": "x"},
        {"Authorization": "Bearer sk-simulator-0000000000000000", "Topview-Uid": "other"},
    ],
)
async def test_bad_credentials_get_documented_401_envelope(
    sim: Simulator, headers: dict[str, str]
) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim.app), base_url="http://sim.test"
    ) as bare:
        response = await bare.get("/v1/caption/list", headers=headers)
    assert response.status_code == 200
    assert body_of(response) == {
        "code": "401",
        "message": "Unauthorized, need to login again",
        "result": None,
    }


async def test_valid_credentials_pass(client: httpx.AsyncClient) -> None:
    assert len(ok(await client.get("/v1/caption/list"))) > 0


async def test_missing_required_field_is_4003(client: httpx.AsyncClient) -> None:
    assert code(await client.post("/v1/scraper/task/submit", json={})) == "4003"
    assert code(await client.get("/v1/m2v/task/query")) == "4003"
    assert code(await client.get("/v1/upload/credential")) == "4003"
    response = await client.post("/v1/m2v/task/submit", json={"productName": "x"})
    assert code(response) == "4003"


async def test_bad_enum_or_bounds_is_4000(client: httpx.AsyncClient) -> None:
    m2v = {"productLink": "https://shop.test/p/1", "aspectRatio": "2:1"}
    assert code(await client.post("/v1/m2v/task/submit", json=m2v)) == "4000"
    m2v = {"productLink": "https://shop.test/p/1", "videoLengthType": 9}
    assert code(await client.post("/v1/m2v/task/submit", json=m2v)) == "4000"
    assert code(await client.get("/v1/upload/credential", params={"format": "exe"})) == "4000"
    assert code(await client.get("/v1/voice/query", params={"pageNo": 0})) == "4000"
    assert code(await client.get("/v1/voice/query", params={"gender": "robot"})) == "4000"


async def test_wrong_type_is_4001(client: httpx.AsyncClient) -> None:
    m2v = {"productLink": 42}
    assert code(await client.post("/v1/m2v/task/submit", json=m2v)) == "4001"
    m2v = {"productLink": "https://shop.test/p/1", "preview": "maybe"}
    assert code(await client.post("/v1/m2v/task/submit", json=m2v)) == "4001"
    assert code(await client.get("/v1/voice/query", params={"pageSize": "ten"})) == "4001"
    response = await client.post(
        "/v1/scraper/task/submit",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert code(response) == "4001"


async def test_unknown_task_id_is_4004(client: httpx.AsyncClient) -> None:
    for path in (
        "/v1/m2v/task/query",
        "/v1/video_avatar/task/query",
        "/v1/product_avatar/task/image_replace/result",
        "/v1/product_avatar/task/image2Video/result",
        "/v1/product_anyShoot/task/result",
        "/v1/common_task/image2video/result",
        "/v1/scraper/task/query",
        "/v1/m2v/script/list",
    ):
        assert code(await client.get(path, params={"taskId": "0" * 32})) == "4004", path


async def test_task_of_another_kind_is_not_found(client: httpx.AsyncClient) -> None:
    task = ok(await client.post("/v1/scraper/task/submit", json={"productLink": "https://a.test"}))
    response = await client.get("/v1/m2v/task/query", params={"taskId": task["taskId"]})
    assert code(response) == "4004"


async def test_not_uploaded_file_id_is_4004(client: httpx.AsyncClient) -> None:
    credential = ok(await client.get("/v1/upload/credential", params={"format": "png"}))
    body = {
        "imageFileId": credential["fileId"],
        "duration": 5,
        "mode": "lite",
        "generatingCount": 1,
    }
    # Issued but never PUT: Topview cannot find the file.
    assert code(await client.post("/v1/common_task/image2video/submit", json=body)) == "4004"
    body["imageFileId"] = "f" * 32
    assert code(await client.post("/v1/common_task/image2video/submit", json=body)) == "4004"
