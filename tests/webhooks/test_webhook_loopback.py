"""The FastAPI router behind a real uvicorn server, over real loopback HTTP."""

from __future__ import annotations

import functools
import socket
from collections.abc import AsyncIterator

import anyio
import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from topview_async.webhooks import (
    TaskNotice,
    build_acknowledgement,
    build_notice_url,
    topview_webhook_router,
)

from .webhook_samples import SECRET, UID, encode, notice_body

pytestmark = pytest.mark.anyio


@pytest.fixture
async def served() -> AsyncIterator[tuple[str, list[TaskNotice]]]:
    """A FastAPI app with the router, served by uvicorn on 127.0.0.1 (any free port)."""
    notices: list[TaskNotice] = []

    async def on_notice(notice: TaskNotice) -> None:
        notices.append(notice)

    app = FastAPI()
    app.include_router(
        topview_webhook_router(
            secret=SECRET, handler=on_notice, topview_uid=UID, max_body_size=4096
        )
    )
    # Bound and listening before uvicorn starts: connections queue in the backlog, so there
    # is no start-up to wait for.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False)
    )
    async with anyio.create_task_group() as tg:
        tg.start_soon(functools.partial(server.serve, sockets=[sock]))
        try:
            yield build_notice_url(f"http://127.0.0.1:{port}/topview/notice", SECRET), notices
        finally:
            server.should_exit = True
    sock.close()


async def test_notice_over_real_http_is_handled_and_acknowledged(
    served: tuple[str, list[TaskNotice]],
) -> None:
    url, notices = served
    body = notice_body("COMMON_TASK_IMAGE2VIDEO")
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(url, content=encode(body), headers={"Topview-Uid": UID})
        duplicate = await client.post(url, content=encode(body), headers={"Topview-Uid": UID})
        forged = await client.post(url.split("?")[0], content=encode(body))
        oversized = await client.post(url, content=encode(notice_body(padding="x" * 8192)))

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(8):
                yield b" " * 1024

        streamed = await client.post(url, content=chunks())

    assert response.status_code == 200
    assert response.json() == build_acknowledgement(body["uuid"], UID)
    assert duplicate.json() == response.json()
    assert forged.status_code == 401
    assert oversized.status_code == 413
    assert streamed.status_code == 413
    assert [n.task_kind for n in notices] == ["image_to_video"]
