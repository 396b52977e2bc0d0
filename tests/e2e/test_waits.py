"""Waiting on tasks over HTTP: cancellation, many concurrent waits, handles rebuilt from ids."""

from __future__ import annotations

import anyio
import pytest

from topview_async import AsyncTopview
from topview_async._generated.models import ScraperTaskResult
from topview_async.lib.tasks import Task, TaskState, TaskUpdate, get_task, wait_all
from topview_async.testing import ManualClock, SimulatorConfig, SimulatorServer

from .helpers import QUERY_CAP, make_client

pytestmark = pytest.mark.anyio

SCRAPER_QUERY = "/v1/scraper/task/query"
LINK = "https://shop.example/products/{}"


async def test_cancelled_wait_leaves_a_usable_handle() -> None:
    # A manual clock: the task cannot finish before the cancellation, however slow the machine.
    clock = ManualClock()
    async with (
        SimulatorServer(SimulatorConfig(seed=5, clock=clock)) as server,
        make_client(server) as client,
    ):
        task = await client.marketing_videos.submit(product_link=LINK.format(1), preview=False)
        updates: list[TaskUpdate[object]] = []

        with anyio.CancelScope() as scope:

            def on_progress(update: TaskUpdate[object]) -> None:
                updates.append(update)
                scope.cancel()  # cancel as soon as the first query answered: mid-wait

            await task.wait(on_progress=on_progress)

        assert scope.cancelled_caught
        assert len(updates) == 1
        assert updates[0].state is TaskState.RUNNING
        assert not task.done
        log = server.simulator.requests
        assert log.counts["/v1/m2v/task/query"] == 1
        assert log.in_flight() == 0

        clock.advance(3600)
        result = await task.wait()  # the same handle resumes and finishes

        assert task.done
        assert result.status == "success"
        assert log.counts["/v1/m2v/task/query"] == 2


async def test_a_thousand_concurrent_waits_never_exceed_the_query_cap(
    sim: SimulatorServer,
) -> None:
    # Every query is held 5 ms on the server so that waiting queries really pile up.
    sim.faults.add(path=SCRAPER_QUERY, latency=0.005)
    async with make_client(sim) as client:
        handles: list[Task[ScraperTaskResult]] = []

        async def submit(index: int) -> None:
            handles.append(await client.scraper.submit(product_link=LINK.format(index)))

        async with anyio.create_task_group() as group:
            for index in range(1000):
                group.start_soon(submit, index)
        assert len({h.task_id for h in handles}) == 1000

        results: dict[str, str | None] = {}

        async def wait(handle: Task[ScraperTaskResult]) -> None:
            result = await handle.wait()
            results[handle.task_id] = result.status

        async with anyio.create_task_group() as group:
            for handle in handles:
                group.start_soon(wait, handle)

    assert len(results) == 1000
    assert set(results.values()) == {"success"}
    log = sim.simulator.requests
    assert log.counts[SCRAPER_QUERY] >= 1000
    peak = log.peak_in_flight(SCRAPER_QUERY)
    assert 1 < peak <= QUERY_CAP


async def test_handles_rebuilt_from_ids_and_waited_together(
    client: AsyncTopview, sim: SimulatorServer
) -> None:
    submitted = [await client.scraper.submit(product_link=LINK.format(i)) for i in range(3)] + [
        await client.video_avatars.submit(
            avatar_source_from=1,
            ai_avatar_id=_first_avatar(sim),
            audio_source_from=1,
            tts_text="Hi",
        )
    ]
    stored = [(task.kind, task.task_id) for task in submitted]

    # A new client (a new process, say) rebuilds the handles from what was stored.
    async with make_client(sim) as other:
        rebuilt = [get_task(other, kind, task_id) for kind, task_id in stored]
        results = await wait_all(rebuilt)

    assert [getattr(r, "task_id", None) for r in results] == [task_id for _, task_id in stored]
    assert all(getattr(r, "status", None) == "success" for r in results)


async def test_watch_reports_each_status_change_until_done(client: AsyncTopview) -> None:
    task = await client.scraper.submit(product_link=LINK.format(9))
    states = [update.state async for update in task.watch()]
    assert states[-1] is TaskState.SUCCEEDED
    assert all(state is TaskState.RUNNING for state in states[:-1])
    refreshed = await task.refresh()
    assert refreshed.status == "success"


def _first_avatar(sim: SimulatorServer) -> str:
    public = [a for a in sim.simulator.catalog.aiavatars if not a.get("isCustom")]
    return str(public[0]["aiavatarId"])
