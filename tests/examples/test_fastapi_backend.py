"""The FastAPI backend example on a real uvicorn port, called back by a real simulator.

The simulator (the SDK's pytest plugin fixture) runs in its own thread and POSTs callbacks
to the app over loopback HTTP, exactly as Topview would. Waiting is on the simulator's own
change notifications (``Simulator.wait_for``), never on a sleep.
"""

from __future__ import annotations

import functools
import importlib.util
import socket
import struct
import sys
import zlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import anyio.to_thread
import httpx
import pytest
import uvicorn

from topview_async import AsyncTopview
from topview_async.testing import SimulatorConfig, SimulatorServer
from topview_async.testing._tasks import Notice

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]


def _load_example() -> ModuleType:
    # By path: ``tests/examples`` is itself imported as the package ``examples`` by pytest.
    name = "topview_example_fastapi_backend"
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / "fastapi_backend.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # pydantic resolves the models' annotations through it
    spec.loader.exec_module(module)
    return module


example = _load_example()

SECRET = "test-webhook-secret-0123456789"
M2V_QUERY = "/v1/m2v/task/query"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def topview_simulator_config() -> SimulatorConfig:
    # M2V takes 6 s / 50 = 0.12 s; one delivery attempt, so a lost callback settles at once.
    return SimulatorConfig(seed=11, time_scale=50, media_size=4096, callback_max_attempts=1)


@dataclass
class Served:
    http: httpx.AsyncClient
    store: Any
    sim: SimulatorServer


def _listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock


def _free_port() -> int:
    """A port nothing listens on (bound, then released): a callback there is lost."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def serve_app(
    sim: SimulatorServer, *, public_base_url: str | None = None, refresh_after: float = 60.0
) -> AsyncIterator[Served]:
    """The example app on a loopback port, pointed at ``sim`` (lifespan on, as in production)."""
    # Listening before uvicorn starts: requests wait in the backlog until start-up is done.
    sock = _listening_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = example.Settings(
        public_base_url=public_base_url or base,
        webhook_secret=SECRET,
        topview_uid=sim.uid,
        refresh_after=refresh_after,
    )
    store = example.VideoStore()
    app = example.create_app(
        client_factory=lambda: AsyncTopview(
            api_key=sim.api_key, uid=sim.uid, base_url=sim.base_url
        ),
        settings=settings,
        store=store,
    )
    server = uvicorn.Server(
        uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False)
    )
    async with anyio.create_task_group() as group:
        group.start_soon(functools.partial(server.serve, sockets=[sock]))
        try:
            async with httpx.AsyncClient(base_url=base, timeout=10) as http:
                yield Served(http, store, sim)
        finally:
            server.should_exit = True
    sock.close()


async def wait_for_notice(
    sim: SimulatorServer, task_id: str, done: Callable[[Notice], bool]
) -> Notice:
    """Block (in a worker thread) until the simulator's notice for ``task_id`` is ``done``."""

    def notice() -> Notice | None:
        return next((n for n in sim.simulator.notices if n.task.task_id == task_id), None)

    def ready() -> bool:
        found = notice()
        return found is not None and done(found)

    assert await anyio.to_thread.run_sync(sim.simulator.wait_for, ready, 10.0)
    found = notice()
    assert found is not None
    return found


def png(width: int = 32, height: int = 32) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = (b"\x00" + b"\x80\x40\x20" * width) * height
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def queries(sim: SimulatorServer) -> int:
    return len(sim.simulator.requests.for_path(M2V_QUERY))


async def test_callback_marks_the_video_done(topview_simulator: SimulatorServer) -> None:
    sim = topview_simulator
    async with serve_app(sim) as served:
        submitted = await served.http.post(
            "/videos", json={"user_id": "alice", "product_link": "https://shop.example/p/1"}
        )
        assert submitted.status_code == 202, submitted.text
        task_id = submitted.json()["task_id"]
        assert submitted.json()["status"] == "running"

        notice = await wait_for_notice(sim, task_id, lambda n: n.settled)
        video = (await served.http.get(f"/videos/{task_id}")).json()

    # Delivered once to the app's notice URL (with the secret), and acknowledged.
    assert notice.acknowledged
    assert len(notice.attempts) == 1
    assert notice.url == f"{served.http.base_url}/topview/notice?token={SECRET}"
    sent = sim.simulator.requests.for_path("/v1/m2v/task/submit")
    assert len(sent) == 1
    assert b'"noticeUrl"' in sent[0].body
    # The callback, not a poll, finished it: the one query is the receiver re-reading the
    # task from the API before trusting the notice.
    assert video["status"] == "succeeded"
    assert video["updated_by"] == "callback"
    assert video["user_id"] == "alice"
    task = sim.simulator.tasks[task_id]
    assert video["video_url"].startswith(f"{sim.base_url}/_storage/media/{task_id}-export-")
    assert video["video_url"].split("?")[0].endswith(f"-{task.scripts[0].script_id}.mp4")
    assert queries(sim) == 1


async def test_get_queries_topview_when_no_callback_arrives(
    topview_simulator: SimulatorServer,
) -> None:
    sim = topview_simulator
    # The notice URL points where nothing listens: the callback is lost, as when the app
    # was down. ``refresh_after=0`` lets every GET ask Topview.
    lost = f"http://127.0.0.1:{_free_port()}"
    async with serve_app(sim, public_base_url=lost, refresh_after=0) as served:
        image = await served.http.post(
            "/images", content=png(), headers={"content-type": "image/png"}
        )
        assert image.status_code == 200, image.text
        file_id = image.json()["file_id"]
        body = {
            "user_id": "bob",
            "file_ids": [file_id] * 11,  # more than 10 images without a link
            "product_name": "Desk lamp",
            "product_description": "Warm light, small footprint.",
        }
        task_id = (await served.http.post("/videos", json=body)).json()["task_id"]

        # The simulator gave up on the callback (so the task is finished) ...
        notice = await wait_for_notice(sim, task_id, lambda n: n.settled)
        assert notice.failed
        assert not notice.acknowledged
        before = queries(sim)
        # ... and the GET finds out by itself, through a handle rebuilt from the id.
        video = (await served.http.get(f"/videos/{task_id}")).json()
        assert queries(sim) == before + 1
        again = (await served.http.get(f"/videos/{task_id}")).json()

    assert video["status"] == "succeeded"
    assert video["updated_by"] == "query"
    assert video["video_url"].startswith(f"{sim.base_url}/_storage/media/{task_id}-export-")
    # A finished video is served from the store without asking Topview again.
    assert again == video
    assert queries(sim) == before + 1
    assert sim.simulator.tasks[task_id].request["fileIds"] == [file_id] * 11


async def test_file_ids_that_look_like_paths_are_refused(
    topview_simulator: SimulatorServer,
) -> None:
    sim = topview_simulator
    async with serve_app(sim) as served:
        response = await served.http.post(
            "/videos",
            json={
                "user_id": "mallory",
                "file_ids": ["../../etc/secret.png"],
                "product_name": "x",
                "product_description": "y",
            },
        )
        missing = await served.http.post("/videos", json={"user_id": "eve"})
        unknown = await served.http.get("/videos/does-not-exist")

    # Refused before anything is sent: the SDK would upload a str ending in .png from disk.
    assert response.status_code == 422
    assert missing.status_code == 422
    assert unknown.status_code == 404
    assert not [r for r in sim.simulator.requests if r.path.startswith("/v1/")]
