"""NoticeHub and InMemoryDeliveryStore: in-process hand-off and bounded memory."""

from __future__ import annotations

import anyio
import pytest

from topview_async.webhooks import InMemoryDeliveryStore, NoticeHub, TaskNotice, parse_notice

from .webhook_samples import notice_body

pytestmark = pytest.mark.anyio


def notice(biz_type: str = "M2V_EXPORT", task_id: str = "t1", uuid: str = "u1") -> TaskNotice:
    body = notice_body(biz_type, uuid=uuid)
    body["taskId"] = task_id
    return parse_notice(body)


async def test_wait_for_returns_when_the_notice_is_published() -> None:
    hub = NoticeHub()
    received: list[TaskNotice] = []

    async def waiter() -> None:
        received.append(await hub.wait_for("t1"))

    async with anyio.create_task_group() as tg:
        tg.start_soon(waiter)
        tg.start_soon(waiter)
        await anyio.wait_all_tasks_blocked()
        assert hub.waiting == 2
        hub.publish(notice(task_id="other"))
        await anyio.wait_all_tasks_blocked()
        assert received == []
        published = notice()
        hub.publish(published)
    assert received == [published, published]
    assert hub.waiting == 0


async def test_a_notice_that_arrived_earlier_is_returned_at_once() -> None:
    hub = NoticeHub()
    published = notice()
    hub.publish(published)
    with anyio.fail_after(5):  # a safety net only: the call must not block at all
        assert await hub.wait_for("t1") is published
    assert hub.latest("t1") is published


async def test_wait_for_a_kind_skips_other_kinds_of_the_same_task() -> None:
    hub = NoticeHub()
    preview = notice("M2V_PREVIEW", uuid="p")
    export = notice("M2V_EXPORT", uuid="e")
    hub.publish(preview)
    received: list[TaskNotice] = []

    async def waiter() -> None:
        received.append(await hub.wait_for("t1", task_kind="m2v_export"))

    async with anyio.create_task_group() as tg:
        tg.start_soon(waiter)
        await anyio.wait_all_tasks_blocked()
        assert received == []
        hub.publish(export)
    assert received == [export]
    assert hub.latest("t1") is export
    assert hub.latest("t1", task_kind="m2v") is preview


async def test_cancelled_waiters_are_removed() -> None:
    hub = NoticeHub()
    with anyio.move_on_after(0):
        await hub.wait_for("t1")
    assert hub.waiting == 0
    hub.publish(notice())  # no stale waiter to wake


async def test_retention_is_bounded() -> None:
    hub = NoticeHub(max_retained=2)
    for index in range(3):
        hub.publish(notice(task_id=f"t{index}"))
    assert hub.latest("t0") is None
    assert hub.latest("t1") is not None
    assert hub.latest("t2") is not None


def test_bounds_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_retained"):
        NoticeHub(max_retained=0)
    with pytest.raises(ValueError, match="max_entries"):
        InMemoryDeliveryStore(max_entries=0)


async def test_store_forgets_the_least_recently_used_uuid() -> None:
    store = InMemoryDeliveryStore(max_entries=2)
    await store.mark_processed("a")
    await store.mark_processed("b")
    assert await store.is_processed("a")  # touching "a" makes "b" the oldest
    await store.mark_processed("c")
    assert await store.is_processed("a")
    assert not await store.is_processed("b")
    assert await store.is_processed("c")
    assert len(store) == 2
