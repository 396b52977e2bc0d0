"""The notice endpoint mounted in real FastAPI / Starlette apps, through httpx.ASGITransport."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI
from starlette.applications import Starlette

from topview_async._exceptions import ConfigurationError
from topview_async._generated.models import M2vTaskResult, VideoAvatarTaskResult
from topview_async.webhooks import (
    InMemoryDeliveryStore,
    NoticeHub,
    NoticeReceiver,
    TaskNotice,
    build_acknowledgement,
    build_notice_url,
    parse_notice,
    topview_webhook_route,
    topview_webhook_router,
)
from topview_async.webhooks._store import notice_key

from .webhook_samples import SECRET, TASK_ID, UID, encode, notice_body

pytestmark = pytest.mark.anyio

BASE = "http://testserver"
NOTICE_URL = build_notice_url(f"{BASE}/topview/notice", SECRET)


@dataclass
class Recorder:
    """A handler that records notices and fails the first ``failures`` calls."""

    failures: int = 0
    notices: list[TaskNotice] = field(default_factory=list)

    async def __call__(self, notice: TaskNotice) -> None:
        self.notices.append(notice)
        if len(self.notices) <= self.failures:
            raise RuntimeError("database is down")


@dataclass
class FakeFetcher:
    """Stands in for the client: returns a canned query result, records what was asked."""

    result: Any
    calls: list[tuple[str, str]] = field(default_factory=list)

    async def fetch(self, kind: str, task_id: str) -> object:
        self.calls.append((kind, task_id))
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


def fastapi_app(**options: Any) -> FastAPI:
    app = FastAPI()
    options.setdefault("topview_uid", UID)
    app.include_router(topview_webhook_router(secret=SECRET, **options))
    return app


def client_for(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)


async def post(app: Any, body: Any, url: str = NOTICE_URL, **kwargs: Any) -> httpx.Response:
    content = body if isinstance(body, bytes) else encode(body)
    headers = {"Topview-Uid": UID, "Content-Type": "application/json", **kwargs.pop("headers", {})}
    async with client_for(app) as client:
        return await client.post(url, content=content, headers=headers, **kwargs)


async def test_valid_notice_is_handled_and_acknowledged_exactly() -> None:
    handler = Recorder()
    response = await post(fastapi_app(handler=handler), notice_body("ZERO_SHOT_AVATAR"))

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.content == (
        b'{"code":"200","message":"Success","result":'
        b'{"uuid":"8a1c2a0e3e3c4a0b9f1e2d3c4b5a6978","topviewUid":"' + UID.encode() + b'",'
        b'"result":"success"}}'
    )
    [notice] = handler.notices
    assert isinstance(notice.result, VideoAvatarTaskResult)
    assert notice.task_kind == "video_avatar"
    assert not notice.verified


async def test_result_sent_as_string_reaches_the_handler_typed() -> None:
    handler = Recorder()
    body = notice_body("M2V_EXPORT", result=json.dumps({"taskId": TASK_ID, "status": "success"}))
    response = await post(fastapi_app(handler=handler), body)
    assert response.status_code == 200
    assert isinstance(handler.notices[0].result, M2vTaskResult)


@pytest.mark.parametrize(
    ("url", "status"),
    [
        (f"{BASE}/topview/notice", 401),
        (f"{BASE}/topview/notice?token=", 401),
        (f"{BASE}/topview/notice?token=wrong-secret-0123456789", 403),
        (f"{BASE}/topview/notice?token={SECRET}x", 403),
        (f"{BASE}/topview/notice?token={SECRET[:-1]}", 403),
    ],
)
async def test_forged_notice_is_refused_and_not_handled(url: str, status: int) -> None:
    handler = Recorder()
    response = await post(fastapi_app(handler=handler), notice_body(), url=url)
    assert response.status_code == status
    assert response.json()["code"] == str(status)
    assert SECRET not in response.text
    assert handler.notices == []


async def test_uid_header_of_another_account_is_refused() -> None:
    handler = Recorder()
    response = await post(
        fastapi_app(handler=handler), notice_body(), headers={"Topview-Uid": "someoneElse"}
    )
    assert response.status_code == 403
    assert handler.notices == []


async def test_missing_uid_header_is_accepted_and_ack_uses_the_configured_uid() -> None:
    app = fastapi_app(handler=Recorder())
    async with client_for(app) as client:
        response = await client.post(NOTICE_URL, content=encode(notice_body()))
    assert response.status_code == 200
    assert response.json()["result"]["topviewUid"] == UID


async def test_uid_defaults_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOPVIEW_UID", "envUid")
    receiver = NoticeReceiver(secret=SECRET)
    assert receiver.topview_uid == "envUid"


def test_uid_is_required() -> None:
    with pytest.raises(ConfigurationError, match="uid"):
        NoticeReceiver(secret=SECRET)


async def test_duplicate_delivery_runs_the_handler_once_and_acks_both() -> None:
    handler = Recorder()
    app = fastapi_app(handler=handler)
    first = await post(app, notice_body())
    second = await post(app, notice_body())

    assert first.status_code == second.status_code == 200
    assert first.json() == second.json() == build_acknowledgement(notice_body()["uuid"], UID)
    assert len(handler.notices) == 1


async def test_a_repost_under_another_uuid_runs_the_handler_once_and_is_acknowledged() -> None:
    # Issue 23: the same outcome re-posted with only its uuid changed ran the handler twice.
    handler = Recorder()
    app = fastapi_app(handler=handler)
    first = await post(app, notice_body("M2V_PREVIEW", uuid="u-first"))
    again = await post(app, notice_body("M2V_PREVIEW", uuid="u-second"))

    assert first.status_code == again.status_code == 200
    # Each acknowledgement echoes its own uuid, as Topview expects.
    assert again.json() == build_acknowledgement("u-second", UID)
    assert [n.uuid for n in handler.notices] == ["u-first"]


async def test_another_uuid_for_the_same_task_is_handled_again() -> None:
    handler = Recorder()
    app = fastapi_app(handler=handler)
    await post(app, notice_body("M2V_PREVIEW", uuid="u-preview"))
    await post(app, notice_body("M2V_EXPORT", uuid="u-export"))
    assert [n.task_kind for n in handler.notices] == ["m2v", "m2v_export"]


async def test_failing_handler_is_not_acknowledged_and_redelivery_retries_it() -> None:
    handler = Recorder(failures=1)
    store = InMemoryDeliveryStore()
    app = fastapi_app(handler=handler, store=store)

    failed = await post(app, notice_body())
    assert failed.status_code == 500
    # Issue 11.11: nothing in a refusal reads as delivered.
    refused = failed.json()
    assert refused["code"] == "500"
    assert "handler failed" in refused["message"]
    assert refused["result"] == {"uuid": notice_body()["uuid"], "topviewUid": UID, "result": "fail"}
    assert not await store.is_processed(notice_key(parse_notice(notice_body())))

    redelivered = await post(app, notice_body())
    assert redelivered.status_code == 200
    assert redelivered.json()["result"]["result"] == "success"
    assert len(handler.notices) == 2
    assert await store.is_processed(notice_key(parse_notice(notice_body())))


async def test_concurrent_duplicates_run_the_handler_once() -> None:
    entered = anyio.Event()
    release = anyio.Event()
    calls: list[str] = []

    async def slow_handler(notice: TaskNotice) -> None:
        calls.append(notice.uuid)
        entered.set()
        await release.wait()

    app = fastapi_app(handler=slow_handler)
    responses: list[httpx.Response] = []

    async def deliver() -> None:
        responses.append(await post(app, notice_body()))

    async with anyio.create_task_group() as tg:
        tg.start_soon(deliver)
        await entered.wait()
        tg.start_soon(deliver)
        await anyio.wait_all_tasks_blocked()  # the second delivery is parked behind the first
        assert responses == []
        release.set()

    assert calls == [notice_body()["uuid"]]
    assert [r.status_code for r in responses] == [200, 200]
    assert all(r.json()["result"]["result"] == "success" for r in responses)


async def test_concurrent_duplicate_of_a_failing_delivery_is_not_acknowledged() -> None:
    entered = anyio.Event()
    release = anyio.Event()

    async def failing_handler(notice: TaskNotice) -> None:
        entered.set()
        await release.wait()
        raise RuntimeError("boom")

    app = fastapi_app(handler=failing_handler)
    statuses: list[int] = []

    async def deliver() -> None:
        statuses.append((await post(app, notice_body())).status_code)

    async with anyio.create_task_group() as tg:
        tg.start_soon(deliver)
        await entered.wait()
        tg.start_soon(deliver)
        await anyio.wait_all_tasks_blocked()
        release.set()
    assert statuses == [500, 500]


async def test_oversized_body_is_refused_with_413() -> None:
    handler = Recorder()
    app = fastapi_app(handler=handler, max_body_size=2048)
    response = await post(app, notice_body(padding="x" * 4096))
    assert response.status_code == 413
    assert handler.notices == []


async def test_oversized_streamed_body_without_length_is_refused_with_413() -> None:
    handler = Recorder()
    app = fastapi_app(handler=handler, max_body_size=2048)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"x" * 1024

    async with client_for(app) as client:
        response = await client.post(NOTICE_URL, content=chunks())
    assert response.status_code == 413
    assert handler.notices == []


async def test_receiver_stops_reading_at_the_limit() -> None:
    receiver = NoticeReceiver(secret=SECRET, topview_uid=UID, max_body_size=4096)
    sent: list[int] = []

    async def endless() -> AsyncIterator[bytes]:
        while True:
            sent.append(1)
            yield b"x" * 1024
            assert len(sent) < 100, "the receiver kept reading past the limit"

    reply = await receiver.receive(endless(), token=SECRET)
    assert reply.status_code == 413
    assert len(sent) == 5


@pytest.mark.parametrize(
    "body",
    [b"{nope", b"[]", encode({"bizType": "M2V_EXPORT", "taskId": "t", "status": "success"})],
)
async def test_malformed_body_gets_400_without_crashing(body: bytes) -> None:
    handler = Recorder()
    response = await post(fastapi_app(handler=handler), body)
    assert response.status_code == 400
    assert response.json()["code"] == "400"
    assert handler.notices == []


async def test_unknown_biz_type_reaches_the_handler_raw() -> None:
    handler = Recorder()
    response = await post(fastapi_app(handler=handler), notice_body("COMMON_TASK_SOMETHING_NEW"))
    assert response.status_code == 200
    assert handler.notices[0].result == {"anything": 1}
    assert handler.notices[0].task_kind is None


async def test_verify_with_api_replaces_the_result_with_the_fetched_one() -> None:
    handler = Recorder()
    fetched = {"taskId": TASK_ID, "status": "success", "outputVideoUrl": "https://api/real.mp4"}
    fetcher = FakeFetcher(fetched)
    forged = notice_body(
        "ZERO_SHOT_AVATAR",
        result={"taskId": TASK_ID, "status": "success", "outputVideoUrl": "https://evil/x.mp4"},
    )
    response = await post(fastapi_app(handler=handler, fetcher=fetcher), forged)

    assert response.status_code == 200
    assert fetcher.calls == [("video_avatar", TASK_ID)]
    [notice] = handler.notices
    assert notice.verified
    assert isinstance(notice.result, VideoAvatarTaskResult)
    assert notice.result.output_video_url == "https://api/real.mp4"
    assert notice.raw["result"]["outputVideoUrl"] == "https://evil/x.mp4"  # raw stays as sent


async def test_verify_with_api_takes_status_and_error_from_the_api() -> None:
    handler = Recorder()
    fetched = VideoAvatarTaskResult(task_id=TASK_ID, status="fail", error_msg="no face")
    app = fastapi_app(handler=handler, fetcher=FakeFetcher(fetched))
    await post(app, notice_body("ZERO_SHOT_AVATAR", status="success"))
    [notice] = handler.notices
    assert notice.result is fetched
    assert notice.failed
    assert notice.error_msg == "no face"


async def test_verify_with_api_can_be_turned_off() -> None:
    handler = Recorder()
    fetcher = FakeFetcher({"taskId": TASK_ID, "status": "success"})
    app = fastapi_app(handler=handler, fetcher=fetcher, verify_with_api=False)
    await post(app, notice_body("ZERO_SHOT_AVATAR"))
    assert fetcher.calls == []
    assert not handler.notices[0].verified
    assert handler.notices[0].result.output_video_url == "https://cdn/avatar.mp4"  # type: ignore[union-attr]


def test_verify_with_api_without_fetcher_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="fetcher"):
        NoticeReceiver(secret=SECRET, topview_uid=UID, verify_with_api=True)


@pytest.mark.parametrize(
    "fetched",
    [
        RuntimeError("API unreachable"),
        {"taskId": TASK_ID, "status": "running"},
        "not a result",
    ],
)
async def test_unconfirmed_notice_is_not_acknowledged(fetched: Any) -> None:
    handler = Recorder()
    store = InMemoryDeliveryStore()
    app = fastapi_app(handler=handler, fetcher=FakeFetcher(fetched), store=store)
    response = await post(app, notice_body("ZERO_SHOT_AVATAR"))
    assert response.status_code == 503
    assert response.json()["code"] == "503"
    assert "not processed" in response.json()["message"]
    assert response.json()["result"]["result"] == "fail"
    assert handler.notices == []
    assert len(store) == 0


async def test_unknown_kind_cannot_be_verified_and_stays_unverified() -> None:
    handler = Recorder()
    fetcher = FakeFetcher({"status": "success"})
    await post(
        fastapi_app(handler=handler, fetcher=fetcher), notice_body("COMMON_TASK_SOMETHING_NEW")
    )
    assert fetcher.calls == []
    assert not handler.notices[0].verified


async def test_accepted_notices_are_published_to_the_hub() -> None:
    hub = NoticeHub()
    app = fastapi_app(handler=None, hub=hub)
    async with anyio.create_task_group() as tg:
        waited: list[TaskNotice] = []

        async def wait() -> None:
            waited.append(await hub.wait_for(TASK_ID))

        tg.start_soon(wait)
        await anyio.wait_all_tasks_blocked()
        await post(app, notice_body("SCRAPER"))
    assert waited[0].task_kind == "scraper"


async def test_refused_notices_are_not_published() -> None:
    hub = NoticeHub()
    app = fastapi_app(handler=None, hub=hub)
    await post(app, notice_body(), url=f"{BASE}/topview/notice?token=bad-secret-0123456789")
    assert hub.latest(TASK_ID) is None


async def test_secret_in_the_path() -> None:
    handler = Recorder()
    app = fastapi_app(handler=handler, path="/hooks/topview/{token}")
    url = build_notice_url(f"{BASE}/hooks/topview", SECRET, in_path=True)
    assert (await post(app, notice_body(), url=url)).status_code == 200
    bad = await post(app, notice_body(uuid="u2"), url=f"{BASE}/hooks/topview/wrong-0123456789abc")
    assert bad.status_code == 403
    assert len(handler.notices) == 1


async def test_get_is_not_allowed() -> None:
    async with client_for(fastapi_app(handler=Recorder())) as client:
        response = await client.get(NOTICE_URL)
    assert response.status_code == 405


async def test_router_shows_in_openapi_and_exposes_its_receiver() -> None:
    router = topview_webhook_router(secret=SECRET, handler=None, topview_uid=UID)
    assert isinstance(router.receiver, NoticeReceiver)  # type: ignore[attr-defined]
    app = FastAPI()
    app.include_router(router)
    assert "/topview/notice" in app.openapi()["paths"]


async def test_starlette_route() -> None:
    handler = Recorder()
    app = Starlette(routes=[topview_webhook_route(secret=SECRET, handler=handler, topview_uid=UID)])
    response = await post(app, notice_body())
    assert response.status_code == 200
    assert response.json() == build_acknowledgement(notice_body()["uuid"], UID)
    async with client_for(app) as client:
        assert (await client.get(NOTICE_URL)).status_code == 405
    assert len(handler.notices) == 1


async def test_starlette_route_with_token_in_path() -> None:
    handler = Recorder()
    route = topview_webhook_route("/n/{token}", secret=SECRET, handler=handler, topview_uid=UID)
    app = Starlette(routes=[route])
    url = build_notice_url(f"{BASE}/n", SECRET, in_path=True)
    assert (await post(app, notice_body(), url=url)).status_code == 200


async def test_receiver_is_a_plain_asgi_app() -> None:
    handler = Recorder()
    receiver = NoticeReceiver(secret=SECRET, handler=handler, topview_uid=UID)
    response = await post(receiver, notice_body())
    assert response.status_code == 200
    async with client_for(receiver) as client:
        refused = await client.put(NOTICE_URL, content=b"{}")
    assert refused.status_code == 405
    assert refused.headers["allow"] == "POST"
    assert len(handler.notices) == 1


def test_importing_webhooks_does_not_need_fastapi_or_starlette() -> None:
    code = (
        "import sys\n"
        "sys.modules['fastapi'] = None\n"
        "sys.modules['starlette'] = None\n"
        "import topview_async.webhooks as w\n"
        "print(w.parse_notice({'uuid': 'u', 'taskId': 't', 'status': 'success'}).uuid)\n"
        "try:\n"
        "    w.topview_webhook_router(secret='x' * 20, handler=None, topview_uid='u')\n"
        "except ImportError as exc:\n"
        "    print('fastapi' in str(exc))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.split() == ["u", "True"]
