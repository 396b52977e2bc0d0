"""Seeded catalogues: pagination and filters."""

from __future__ import annotations

import json

import httpx
import pytest
from sim_helpers import code, ok

pytestmark = pytest.mark.anyio


async def test_voice_pagination_covers_everything_once(client: httpx.AsyncClient) -> None:
    first = ok(await client.get("/v1/voice/query", params={"pageNo": 1, "pageSize": 7}))
    total = first["total"]
    seen = []
    for page_no in range(1, total // 7 + 2):
        page = ok(await client.get("/v1/voice/query", params={"pageNo": page_no, "pageSize": 7}))
        assert page["pageNo"] == page_no
        assert page["pageSize"] == 7
        assert page["total"] == total
        seen += [v["voiceId"] for v in page["data"]]
    assert len(seen) == len(set(seen)) == total
    beyond = ok(await client.get("/v1/voice/query", params={"pageNo": 99}))
    assert beyond["data"] == []


async def test_voice_filters(client: httpx.AsyncClient) -> None:
    params = {"language": "th", "gender": "female", "pageSize": 50}
    voices = ok(await client.get("/v1/voice/query", params=params))["data"]
    assert voices
    assert all(v["language"] == "th" and v["gender"] == "female" for v in voices)
    styled = ok(await client.get("/v1/voice/query", params={"style": "UGC", "pageSize": 100}))
    assert styled["data"]
    assert all(v["style"] == "UGC" for v in styled["data"])
    custom = ok(await client.get("/v1/voice/query", params={"isCustom": "true"}))
    assert custom["total"] == 0


async def test_ai_avatars_filter_by_gender_and_ethnicity(client: httpx.AsyncClient) -> None:
    ethnicities = ok(await client.get("/v1/ethnicity/list", params={"scene": "video_avatar"}))
    wanted = ethnicities[0]["ethnicityId"]
    params = {"gender": "male", "ethnicityIdList": wanted, "pageSize": 100}
    avatars = ok(await client.get("/v1/aiavatar/query", params=params))["data"]
    assert avatars
    for avatar in avatars:
        assert avatar["gender"] == "male"
        assert wanted in {e["ethnicityId"] for e in avatar["ethnicities"]}
        assert avatar["coverUrl"].startswith("http://sim.test/")


async def test_ethnicity_list_and_page_shapes(client: httpx.AsyncClient) -> None:
    plain = ok(await client.get("/v1/ethnicity/list", params={"scene": "product_avatar"}))
    assert isinstance(plain, list)
    assert {"ethnicityId", "ethnicityName"} <= set(plain[0])
    paged = ok(
        await client.get("/v1/ethnicity/list", params={"scene": "product_avatar", "pageSize": 2})
    )
    assert paged["total"] == len(plain)
    assert len(paged["data"]) == 2
    assert code(await client.get("/v1/ethnicity/list")) == "4003"
    assert code(await client.get("/v1/ethnicity/list", params={"scene": "moon"})) == "4000"


async def test_public_product_avatars_filters_and_sorting(client: httpx.AsyncClient) -> None:
    categories = ok(await client.get("/v1/product_avatar/category/list"))
    category = categories[1]["categoryId"]
    params = {"categoryIds": f"{category}, ", "sortingType": "Newest", "pageSize": 100}
    page = ok(await client.get("/v1/product_avatar/public_avatar/query", params=params))
    assert page["data"]
    for avatar in page["data"]:
        assert category in {c["categoryId"] for c in avatar["avatarCategoryList"]}
        assert set(json.loads(avatar["objectMaskImageInfo"])) == {"x", "y", "width", "height"}
        assert not any(key.startswith("_") for key in avatar)


async def test_anyshoot_templates_filter_by_style_and_category(client: httpx.AsyncClient) -> None:
    categories = ok(await client.get("/v1/product_anyShoot/template/category/list"))
    category = categories[0]["categoryId"]
    params = {"style": "Pro", "categoryIds": category, "pageNo": "1", "pageSize": "50"}
    page = ok(await client.get("/v1/product_anyShoot/template/list", params=params))
    assert page["data"]
    assert all(t["style"] == "Pro" and t["categoryId"] == category for t in page["data"])


async def test_captions(client: httpx.AsyncClient) -> None:
    captions = ok(await client.get("/v1/caption/list"))
    assert captions
    assert all(c["captionId"] and c["thumbnail"] for c in captions)
