"""Waiting by callback, end to end: the simulator calls back over real loopback HTTP into the
router (``client=``) mounted in a FastAPI app on uvicorn, and ``task.wait()`` ends on it.

Whether a wait ended by callback or by polling is read from the simulator's request log:
a callback costs one query (the receiver re-reading the task), a safety-net poll would be
another. Nothing here asserts a duration; ``fail_after`` only stops a broken test from
hanging.
"""

from __future__ import annotations

import functools
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
import anyio.lowlevel
import anyio.to_thread
import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from topview_async import AsyncTopview
from topview_async._generated.models import M2vTaskResult, ScraperTaskResult
from topview_async.lib.polling import PollPolicy
from topview_async.lib.tasks import TaskState
from topview_async.testing import SimulatorConfig, SimulatorServer
from topview_async.testing._callbacks import notice_body
from topview_async.testing._tasks import Notice
from topview_async.webhooks import (
    NoticeUrlRejectedError,
    TaskNotice,
    build_acknowledgement,
    build_notice_url,
    notice_hub,
    topview_webhook_router,
)

from .webhook_samples import SECRET, encode

pytestmark = pytest.mark.anyio

SCRAPER_QUERY = "/v1/scraper/task/query"
M2V_QUERY = "/v1/m2v/task/query"
FAST_SAFETY_NET = PollPolicy(wait_initial=0.01, wait_min=0.01, wait_max=0.05, timeout=20.0)
"""For the lost-callback test only: every other wait keeps the default 30 s safety net."""
HANG_GUARD = 20.0


@pytest.fixture
def topview_simulator_config() -> SimulatorConfig:
    # Scraper: 2 s / 50 = 40 ms. A refused callback is delivered again 50 ms later.
    return SimulatorConfig(
        seed=3,
        time_scale=50,
        media_size=4096,
        callback_retry_interval=0.05,
        callback_max_attempts=3,
        script_count=2,
    )


@dataclass
class Recorder:
    """The app's handler: records notices, fails the first ``failures`` calls."""

    failures: int = 0
    notices: list[TaskNotice] = field(default_factory=list)

    async def __call__(self, notice: TaskNotice) -> None:
        self.notices.append(notice)
        if len(self.notices) <= self.failures:
            raise RuntimeError("database is down")


@dataclass
class Backend:
    client: AsyncTopview
    notice_url: str
    base: str
    handler: Recorder
    sim: SimulatorServer

    def queries(self, path: str) -> int:
        return len(self.sim.simulator.requests.for_path(path))

    def sim_notice(self, task_id: str) -> Notice:
        return next(n for n in self.sim.simulator.notices if n.task.task_id == task_id)


def _listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock


def _closed_port() -> int:
    """A port nothing listens on (bound, then released): a callback sent there is lost."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def backend(sim: SimulatorServer, *, failures: int = 0) -> AsyncIterator[Backend]:
    """A FastAPI app mounting the router with ``client=``, served by uvicorn on loopback."""
    handler = Recorder(failures)
    async with AsyncTopview(api_key=sim.api_key, uid=sim.uid, base_url=sim.base_url) as client:
        app = FastAPI()
        app.include_router(topview_webhook_router(client=client, secret=SECRET, handler=handler))
        sock = _listening_socket()  # connections wait in the backlog until uvicorn runs
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        server = uvicorn.Server(
            uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False)
        )
        async with anyio.create_task_group() as group:
            group.start_soon(functools.partial(server.serve, sockets=[sock]))
            try:
                url = build_notice_url(f"{base}/topview/notice", SECRET)
                yield Backend(client, url, base, handler, sim)
            finally:
                server.should_exit = True
        sock.close()


async def sim_notice_settled(sim: SimulatorServer, task_id: str) -> Notice:
    """Block (in a worker thread) until the simulator stops delivering ``task_id``'s notice."""

    def find() -> Notice | None:
        return next((n for n in sim.simulator.notices if n.task.task_id == task_id), None)

    def settled() -> bool:
        found = find()
        return found is not None and found.settled

    assert await anyio.to_thread.run_sync(sim.simulator.wait_for, settled, 10.0)
    found = find()
    assert found is not None
    return found


async def all_sim_notices_settled(sim: SimulatorServer) -> None:
    def settled() -> bool:
        return all(n.settled for n in sim.simulator.notices)

    assert await anyio.to_thread.run_sync(sim.simulator.wait_for, settled, 10.0)


async def until(predicate: Callable[[], bool]) -> None:
    """Yield to the event loop until ``predicate()`` holds (no sleeping)."""
    with anyio.fail_after(HANG_GUARD):
        while not predicate():
            await anyio.lowlevel.checkpoint()


async def test_wait_ends_on_the_callback_before_any_safety_net_poll(
    topview_simulator: SimulatorServer,
) -> None:
    async with backend(topview_simulator) as app:
        task = await app.client.scraper.submit(
            product_link="https://shop.example/p/1", notice_url=app.notice_url
        )
        with anyio.fail_after(HANG_GUARD):
            result = await task.wait()  # default policy: the first safety-net poll is at 30 s

    assert isinstance(result, ScraperTaskResult)
    assert task.state is TaskState.SUCCEEDED
    assert task.notice_uuid == app.sim_notice(task.task_id).uuid
    # One query: the receiver re-reading the task before trusting the callback. The wait
    # used that verified result; it polled nothing itself.
    assert app.queries(SCRAPER_QUERY) == 1
    [notice] = app.handler.notices
    assert notice.uuid == task.notice_uuid
    assert notice.verified
    assert notice.result == result


async def test_run_passes_notice_url_and_an_m2v_without_preview_ends_on_its_export_callback(
    topview_simulator: SimulatorServer,
) -> None:
    async with backend(topview_simulator) as app:
        with anyio.fail_after(HANG_GUARD):
            result = await app.client.marketing_videos.run(
                product_link="https://shop.example/p/2", notice_url=app.notice_url
            )

    assert isinstance(result, M2vTaskResult)
    [notice] = app.handler.notices
    # preview=false calls back as M2V_EXPORT, yet the m2v handle took it.
    assert notice.biz_type == "M2V_EXPORT"
    assert notice.task_kind == "m2v_export"
    assert notice.task_id == result.task_id
    assert app.queries(M2V_QUERY) == 1


async def test_exports_of_two_scripts_each_end_on_their_own_callback(
    topview_simulator: SimulatorServer,
) -> None:
    async with backend(topview_simulator) as app:
        videos = app.client.marketing_videos
        with anyio.fail_after(HANG_GUARD):
            m2v = await videos.submit(
                product_link="https://shop.example/p/3", preview=True, notice_url=app.notice_url
            )
            preview = await m2v.wait()
            scripts = [v.script_id for v in preview.preview_videos or []]
            assert len(scripts) == 2
            exports = [
                await videos.export(task_id=m2v.task_id, script_id=s, notice_url=app.notice_url)
                for s in scripts
            ]
            results = [await export.wait() for export in exports]
        # One export's callback can end both waits (its verified result shows both videos):
        # let the simulator finish delivering before counting.
        await all_sim_notices_settled(app.sim)

    for script_id, result in zip(scripts, results, strict=True):
        entry = next(v for v in result.export_videos or [] if v.script_id == script_id)
        assert entry.video_url
    # A preview callback and one per export, each verified once; no safety-net polls.
    kinds = sorted(n.biz_type or "" for n in app.handler.notices)
    assert kinds == ["M2V_EXPORT", "M2V_EXPORT", "M2V_PREVIEW"]
    assert app.queries(M2V_QUERY) == 3


async def test_a_lost_callback_is_made_up_for_by_the_safety_net(
    topview_simulator: SimulatorServer,
) -> None:
    async with backend(topview_simulator) as app:
        lost = build_notice_url(f"http://127.0.0.1:{_closed_port()}/topview/notice", SECRET)
        task = await app.client.scraper.submit(
            product_link="https://shop.example/p/4", notice_url=lost
        )
        with anyio.fail_after(HANG_GUARD):
            result = await task.wait(safety_net=FAST_SAFETY_NET)
        hub = notice_hub(app.client)

    assert result.status == "success"
    assert task.notice_uuid is not None
    assert hub.latest(task.task_id) is None  # no callback ever reached the app
    assert app.handler.notices == []
    assert app.queries(SCRAPER_QUERY) >= 1


async def test_a_failing_handler_is_redelivered_while_the_wait_already_ended(
    topview_simulator: SimulatorServer,
) -> None:
    async with backend(topview_simulator, failures=1) as app:
        task = await app.client.scraper.submit(
            product_link="https://shop.example/p/5", notice_url=app.notice_url
        )
        with anyio.fail_after(HANG_GUARD):
            await task.wait()
        delivered = await sim_notice_settled(app.sim, task.task_id)

    # The API confirmed the task, so the wait ended with the first delivery; the handler's
    # failure made the simulator deliver again, and the second attempt was acknowledged.
    assert task.done
    assert delivered.acknowledged
    assert [a.status_code for a in delivered.attempts] == [500, 200]
    assert [n.uuid for n in app.handler.notices] == [task.notice_uuid] * 2
    assert app.queries(SCRAPER_QUERY) == 2  # each delivery re-read once; no safety-net poll


async def test_a_replayed_delivery_is_acknowledged_without_running_or_querying_again(
    topview_simulator: SimulatorServer,
) -> None:
    async with backend(topview_simulator) as app:
        task = await app.client.scraper.submit(
            product_link="https://shop.example/p/6", notice_url=app.notice_url
        )
        with anyio.fail_after(HANG_GUARD):
            await task.wait()
        delivered = await sim_notice_settled(app.sim, task.task_id)
        body = notice_body(delivered, app.sim.simulator.now())
        async with httpx.AsyncClient(timeout=10) as http:
            replay = await http.post(
                app.notice_url, content=encode(body), headers={"Topview-Uid": app.sim.uid}
            )

    assert replay.status_code == 200
    assert replay.json() == build_acknowledgement(delivered.uuid, app.sim.uid)
    assert len(app.handler.notices) == 1
    assert app.queries(SCRAPER_QUERY) == 1


async def test_forged_and_malformed_callbacks_do_not_end_a_wait(
    topview_simulator: SimulatorServer,
) -> None:
    sim = topview_simulator
    sim.simulator.config.task_durations = {"scraper": 3600.0}  # never finishes in this test
    async with backend(sim) as app:
        task = await app.client.scraper.submit(product_link="https://shop.example/p/7")
        hub = notice_hub(app.client)
        forged = {
            "uuid": "forged-0001",
            "bizType": "SCRAPER",
            "taskId": task.task_id,
            "status": "success",
            "errorMsg": None,
            "result": {"taskId": task.task_id, "status": "success"},
        }
        headers = {"Topview-Uid": sim.uid}
        wrong_secret = build_notice_url(f"{app.base}/topview/notice", "not-the-secret-0123456")
        async with anyio.create_task_group() as group, httpx.AsyncClient(timeout=10) as http:
            group.start_soon(functools.partial(task.wait, callback=True))
            await until(lambda: hub.waiting == 1)
            bad_secret = await http.post(wrong_secret, content=encode(forged), headers=headers)
            malformed = await http.post(app.notice_url, content=b"{not json", headers=headers)
            # Someone who learned the secret: the API is asked, and it says "running".
            leaked = await http.post(app.notice_url, content=encode(forged), headers=headers)
            still_waiting = hub.waiting
            group.cancel_scope.cancel()

    assert bad_secret.status_code == 403
    assert malformed.status_code == 400
    assert leaked.status_code == 503
    assert leaked.json()["code"] == "503"
    assert leaked.json()["result"]["result"] == "fail"
    assert still_waiting == 1
    assert not task.done
    assert hub.latest(task.task_id) is None
    assert app.handler.notices == []
    assert app.queries(SCRAPER_QUERY) == 1  # the check of the forgery; the wait polled nothing


async def test_notice_url_check_against_the_mounted_router(
    topview_simulator: SimulatorServer,
) -> None:
    async with backend(topview_simulator) as app:
        await app.client.notices.check(app.notice_url)
        wrong = build_notice_url(f"{app.base}/topview/notice", "wrong-secret-0123456789")
        with pytest.raises(NoticeUrlRejectedError) as caught:
            await app.client.notices.check(wrong)

    assert [n.biz_type for n in app.handler.notices] == ["NOTICE_URL_CHECK"]
    error = caught.value
    assert error.code == "4000"
    assert "rejected the notice URL" in str(error)
    assert "token=***" in str(error)
    assert "wrong-secret-0123456789" not in str(error)
