"""Helpers shared by the simulator tests (named uniquely: test folders are not packages)."""

from __future__ import annotations

from typing import Any

import httpx

from topview_async.testing import Simulator


def body_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    data = response.json()
    assert isinstance(data, dict)
    return data


def ok(response: httpx.Response) -> Any:
    """The ``result`` of a successful envelope (fails the test on any other code)."""
    data = body_of(response)
    assert data["code"] == "200", data
    return data["result"]


def code(response: httpx.Response) -> str:
    return str(body_of(response)["code"])


async def upload(
    sim: Simulator, client: httpx.AsyncClient, file_format: str = "png", data: bytes = b"x" * 64
) -> str:
    """Run the three-step upload against the in-process app; returns the fileId."""
    credential = ok(await client.get("/v1/upload/credential", params={"format": file_format}))
    # The presigned PUT carries no Topview headers, like a real client's.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app)) as bare:
        put = await bare.put(credential["uploadUrl"], content=data)
    assert put.status_code == 200, put.text
    return str(credential["fileId"])
