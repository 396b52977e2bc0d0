"""Paged lookups iterate across all pages lazily, with the first call's filters kept."""

from __future__ import annotations

import pytest

from topview_async import AsyncTopview
from topview_async.testing import SimulatorServer

pytestmark = pytest.mark.anyio


def _queries(sim: SimulatorServer, path: str) -> list[dict[str, str]]:
    return [dict(r.query) for r in sim.simulator.requests if r.path == path]


async def test_list_all_walks_every_page_with_the_same_filters(
    client: AsyncTopview, sim: SimulatorServer
) -> None:
    first = await client.voices.list(gender="female", page_size=3)
    assert first.total is not None
    assert first.total > 3

    names = [voice.voice_id async for voice in client.voices.list_all(gender="female", page_size=3)]

    assert len(names) == first.total
    assert len(set(names)) == len(names)
    walked = _queries(sim, "/v1/voice/query")[1:]
    assert [q["pageNo"] for q in walked] == [str(n) for n in range(1, len(walked) + 1)]
    assert all(q["gender"] == "female" and q["pageSize"] == "3" for q in walked)
    assert len(walked) == -(-first.total // 3)  # ceil: no extra page fetched


async def test_list_all_fetches_the_next_page_only_when_needed(
    client: AsyncTopview, sim: SimulatorServer
) -> None:
    async for _template in client.anyshoot.list_all_templates(page_size="2"):
        break

    queries = _queries(sim, "/v1/product_anyShoot/template/list")
    assert queries == [{"pageNo": "1", "pageSize": "2"}]


async def test_every_paginated_catalogue_iterates(client: AsyncTopview) -> None:
    ai_avatars = [a async for a in client.ai_avatars.list_all(page_size=5)]
    public = [a async for a in client.product_avatars.list_all_public_avatars(page_size=5)]
    assert ai_avatars
    assert all(a.aiavatar_id for a in ai_avatars)
    assert public
    assert all(a.avatar_id for a in public)
