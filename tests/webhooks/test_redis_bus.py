"""The Redis notice bus against a real redis-server on loopback (issue 23).

Each client stands for one worker process: its own hub, its own listener and connections,
and a receiver bound to it. Nothing waits on a sleep: every wait is bounded by a hang guard.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from topview_async import AsyncTopview
from topview_async._exceptions import ConfigurationError
from topview_async.lib._notice_bus import ENV_NOTICE_BUS
from topview_async.lib._notice_codec import decode_notice, encode_notice
from topview_async.lib._redis_bus import RedisDeliveryStore, RedisNoticeBus
from topview_async.webhooks import NoticeReceiver, TaskNotice, parse_notice

from .redis_server import RedisServer, free_port
from .test_webhook_router import Recorder
from .webhook_samples import SECRET, TASK_ID, UID, encode, notice_body

pytestmark = pytest.mark.anyio

HANG_GUARD = 10


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def worker(url: str) -> AsyncTopview:
    return AsyncTopview(api_key="k", uid=UID, base_url="http://127.0.0.1:9", notice_bus=url)


@pytest.fixture
async def fleet(redis_server: RedisServer) -> AsyncIterator[list[AsyncTopview]]:
    clients = [worker(redis_server.url) for _ in range(3)]
    for client in clients:
        await client.__aenter__()
    yield clients
    for client in clients:
        await client.aclose()


def receiver(client: AsyncTopview, handler: Any) -> NoticeReceiver:
    # Trusting the body keeps these tests about the bus (the API re-read is tested elsewhere).
    return NoticeReceiver(secret=SECRET, handler=handler, client=client, verify_with_api=False)


async def deliver(to: NoticeReceiver, body: dict[str, Any]) -> int:
    reply = await to.receive(encode(body), token=SECRET, topview_uid=UID)
    return reply.status_code


def test_the_bus_is_chosen_by_argument_or_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(ENV_NOTICE_BUS, raising=False)
    assert worker("local").notice_hub.bus is None
    assert AsyncTopview(api_key="k", uid=UID).notice_hub.bus is None
    monkeypatch.setenv(ENV_NOTICE_BUS, "redis://cache:6379/2")
    bus = AsyncTopview(api_key="k", uid=UID).notice_hub.bus
    assert isinstance(bus, RedisNoticeBus)
    assert bus.url == "redis://cache:6379/2"
    assert worker("local").notice_hub.bus is None  # the argument wins
    with pytest.raises(ConfigurationError, match=r"redis://") as refused:
        worker("amqp://user:hunter2@mq")
    assert "hunter2" not in str(refused.value)


def test_a_notice_crosses_the_bus_unchanged() -> None:
    notice = parse_notice(notice_body("ZERO_SHOT_AVATAR"))
    again = decode_notice(encode_notice(notice))
    assert again == notice
    assert type(again.result) is type(notice.result)
    assert again.raw == notice.raw


async def test_unreachable_redis_is_a_clear_error_at_start() -> None:
    client = worker(f"redis://127.0.0.1:{free_port()}/0")
    with anyio.fail_after(HANG_GUARD), pytest.raises(ConfigurationError, match="unreachable"):
        async with client:
            pass
    await client.aclose()


async def test_a_callback_on_one_worker_ends_waits_on_every_other(
    fleet: list[AsyncTopview],
) -> None:
    first, second, third = fleet
    handler = Recorder()
    receivers = [receiver(client, handler) for client in fleet]
    assert all(client.notice_hub.fed for client in fleet)  # callback mode by the bus alone

    async def wait_on(client: AsyncTopview, into: list[TaskNotice]) -> None:
        into.append(await client.notice_hub.wait_for(TASK_ID))

    got: list[TaskNotice] = []
    with anyio.fail_after(HANG_GUARD):
        async with anyio.create_task_group() as group:
            group.start_soon(wait_on, second, got)
            group.start_soon(wait_on, third, got)
            while second.notice_hub.waiting + third.notice_hub.waiting < 2:
                await anyio.lowlevel.checkpoint()
            assert await deliver(receivers[0], notice_body("ZERO_SHOT_AVATAR")) == 200
        # A wait that starts after the notice came finds it too (retained in Redis).
        late = worker(first.notice_hub.bus.url if first.notice_hub.bus else "")
        async with late:
            retained = await late.notice_hub.wait_for(TASK_ID)
    assert [n.uuid for n in got] == [notice_body()["uuid"]] * 2
    assert retained.task_id == TASK_ID
    assert len(handler.notices) == 1


async def test_one_outcome_runs_the_handler_once_across_the_fleet(
    fleet: list[AsyncTopview],
) -> None:
    handler = Recorder()
    receivers = [receiver(client, handler) for client in fleet]
    statuses: list[int] = []

    async def post(index: int) -> None:
        body = notice_body("ZERO_SHOT_AVATAR", uuid=f"uuid-{index}")
        statuses.append(await deliver(receivers[index % len(receivers)], body))

    with anyio.fail_after(HANG_GUARD):
        async with anyio.create_task_group() as group:
            for index in range(12):  # at once, on every worker, each under its own uuid
                group.start_soon(post, index)
        statuses.append(await deliver(receivers[1], notice_body("ZERO_SHOT_AVATAR")))
    assert statuses == [200] * 13
    assert len(handler.notices) == 1


async def test_a_failed_handler_releases_the_claim_for_the_redelivery(
    fleet: list[AsyncTopview],
) -> None:
    handler = Recorder(failures=1)
    first, second = receiver(fleet[0], handler), receiver(fleet[1], handler)
    body = notice_body("ZERO_SHOT_AVATAR")
    with anyio.fail_after(HANG_GUARD):
        assert await deliver(first, body) == 500
        assert await deliver(second, body) == 200
        assert await deliver(first, body) == 200
    assert len(handler.notices) == 2
    assert isinstance(first.store, RedisDeliveryStore)


async def test_redis_down_refuses_notices_and_a_restart_loses_no_wait(
    redis_server: RedisServer,
) -> None:
    sender, waiter = worker(redis_server.url), worker(redis_server.url)
    async with sender, waiter:
        handler = Recorder()
        inbox = receiver(sender, handler)
        bus = waiter.notice_hub.bus
        assert bus is not None
        got: list[TaskNotice] = []

        async def wait_for_it() -> None:
            got.append(await waiter.notice_hub.wait_for(TASK_ID))

        with anyio.fail_after(HANG_GUARD):
            async with anyio.create_task_group() as group:
                group.start_soon(wait_for_it)
                while waiter.notice_hub.waiting < 1:
                    await anyio.lowlevel.checkpoint()
                redis_server.kill()
                # Down: the notice is refused (503: Topview delivers it again), never lost.
                assert await deliver(inbox, notice_body("ZERO_SHOT_AVATAR")) == 503
                assert handler.notices == []
                redis_server.start()
                # The redelivery once Redis is back reaches the waiting worker, whether its
                # listener was subscribed again before the publish or re-checked after it.
                assert await deliver(inbox, notice_body("ZERO_SHOT_AVATAR")) == 200
        assert [n.task_id for n in got] == [TASK_ID]
        assert len(handler.notices) == 1
        assert bus.reconnects >= 1  # how else: its listener subscribed again


def test_the_redis_bus_on_trio_is_a_clear_error() -> None:
    import trio

    async def main() -> None:
        client = worker(f"redis://127.0.0.1:{free_port()}/0")
        with pytest.raises(ConfigurationError, match="asyncio"):
            async with client:
                pass
        await client.aclose()

    trio.run(main)


def test_a_bus_notice_nobody_waits_for_is_decoded_only_when_asked() -> None:
    from topview_async.webhooks import NoticeHub

    hub = NoticeHub()
    preview = parse_notice(notice_body("M2V_PREVIEW", uuid="p"))
    export = parse_notice(notice_body("M2V_EXPORT", uuid="e"))
    hub._arrived(encode_notice(preview))  # what the listener hands over
    hub._arrived(encode_notice(export))
    hub._arrived(b"not json")  # ignored, not fatal
    assert hub.latest(TASK_ID, task_kind="m2v") == preview
    assert hub.latest(TASK_ID) == export


def test_the_redis_bus_without_redis_py_says_which_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "redis.asyncio", None)
    with pytest.raises(ConfigurationError, match=r"topview-async\[redis\]"):
        worker("redis://127.0.0.1:6379/0")


def test_the_bus_never_shows_the_redis_password() -> None:
    bus = RedisNoticeBus("redis://app:s3cret-pass@cache:6379/0")
    assert "s3cret-pass" not in repr(bus)


class _NeverCloses:
    """A connection whose ``aclose()`` never returns, as redis-py's PubSub can (#3941)."""

    def __init__(self) -> None:
        self.close_started = False

    async def aclose(self) -> None:
        self.close_started = True
        await asyncio.Event().wait()


async def test_a_connection_that_never_closes_does_not_hang_the_listener(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from topview_async.lib import _redis_bus

    monkeypatch.setattr(_redis_bus, "CLOSE_TIMEOUT", 0.01)
    stuck = _NeverCloses()

    async def listener() -> None:
        try:
            await asyncio.Event().wait()
        finally:  # as RedisNoticeBus.listen closes its connections when cancelled
            await _redis_bus._close_quietly(stuck)

    task = asyncio.get_running_loop().create_task(listener())
    await asyncio.sleep(0)
    task.cancel()
    with anyio.fail_after(HANG_GUARD):
        await asyncio.wait({task})  # raises nothing itself: only the guard can end it early
    assert task.cancelled()
    assert stuck.close_started
