from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from aiohttp import web
from transfer_server import FakeUploadApi, StorageServer

from topview_async.testing import set_testing


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def sleeps() -> Iterator[list[float]]:
    """Record every SDK sleep instead of waiting (the SDK's public testing switch)."""
    recorded: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        recorded.append(seconds)

    with set_testing(True, sleep=fake_sleep):
        yield recorded


@pytest.fixture
async def storage_server() -> AsyncIterator[StorageServer]:
    server = StorageServer()
    runner = web.AppRunner(server.app(), handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    server.base = f"http://{host}:{port}"
    try:
        yield server
    finally:
        await runner.cleanup()


@pytest.fixture
async def storage_http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


@pytest.fixture
def upload_api(storage_server: StorageServer) -> FakeUploadApi:
    return FakeUploadApi(storage_server)
