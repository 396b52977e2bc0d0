"""The sync client (:class:`Topview`) against the simulator: the typed surface, threads, a
running loop in the caller's thread, and a clean close (no connection or thread left)."""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from topview_async import (
    AuthenticationError,
    ClientClosedError,
    ClientStateError,
    RawResponse,
    ServerBusyError,
    SyncTask,
    Topview,
    TopviewError,
)
from topview_async.testing import SimulatorServer, set_testing
from topview_async.types import VoicePage

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def portal_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "topview-portal" and t.is_alive()]


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    before = set(portal_threads())
    yield
    gc.collect()
    assert set(portal_threads()) <= before, "a sync client left its loop thread running"


@pytest.fixture
def client(topview_simulator: SimulatorServer) -> Iterator[Topview]:
    with Topview(
        api_key=topview_simulator.api_key,
        uid=topview_simulator.uid,
        base_url=topview_simulator.base_url,
    ) as client:
        yield client


def test_calls_iterators_and_raw_responses(client: Topview) -> None:
    page = client.voices.list(language="en", page_size=2)
    assert isinstance(page, VoicePage)
    everything = client.voices.list_all(language="en")
    assert isinstance(everything, Iterator)
    voices = list(everything)
    assert page.total is not None
    assert len(voices) == page.total
    raw = client.voices.with_raw_response.list(language="en", page_size=2)
    assert isinstance(raw, RawResponse)
    assert raw.status_code == 200
    assert raw.headers["content-type"].startswith("application/json")
    parsed = raw.parse()
    assert isinstance(parsed, VoicePage)
    assert parsed.total == page.total


def test_upload_submit_wait_and_download(client: Topview, tmp_path: Path) -> None:
    file_id = client.uploads.upload(PNG, format="png")
    task = client.image_to_video.submit(
        image_file_id=file_id, duration=5, mode="lite", generating_count=1, prompt="turns"
    )
    assert isinstance(task, SyncTask)
    states = [update.state for update in task.watch()]
    assert states[-1].is_terminal
    result = task.wait()
    assert result is task.result
    paths = task.download(tmp_path)
    assert paths
    assert all(path.stat().st_size > 0 for path in paths)
    again = client.tasks.get("image_to_video", task.task_id)
    assert again.refresh() == result

    raw = client.image_to_video.with_raw_response.submit(
        image_file_id=file_id, duration=5, mode="lite", generating_count=1, prompt="again"
    )
    handle = raw.parse()
    assert isinstance(handle, SyncTask)
    assert handle.task_id != task.task_id


def test_errors_are_the_async_clients_exceptions(
    client: Topview, topview_simulator: SimulatorServer
) -> None:
    topview_simulator.faults.add(path="/v1/voice/query", business_code="5003", times=1)
    with set_testing(True), pytest.raises(ServerBusyError):
        client.voices.list(retry=None)
    with (
        Topview(
            api_key="wrong", uid=topview_simulator.uid, base_url=topview_simulator.base_url
        ) as wrong,
        pytest.raises(AuthenticationError),
    ):
        wrong.voices.list()


def test_many_threads_share_one_client_and_one_loop_thread(client: Topview) -> None:
    threads_before = len(portal_threads())

    def work(n: int) -> int:
        return client.voices.list(page_size=1 + n % 3).page_size or 0

    with ThreadPoolExecutor(max_workers=8) as pool:
        sizes = list(pool.map(work, range(40)))
    assert sizes == [1 + n % 3 for n in range(40)]
    assert len(portal_threads()) == threads_before


def test_usable_where_an_event_loop_is_running(topview_simulator: SimulatorServer) -> None:
    async def notebook_cell() -> int:
        # A notebook runs cells inside a running loop; blocking calls must still work.
        with Topview(
            api_key=topview_simulator.api_key,
            uid=topview_simulator.uid,
            base_url=topview_simulator.base_url,
        ) as client:
            page = client.voices.list(page_size=2)
            return len(page.data or [])

    assert asyncio.run(notebook_cell()) == 2


def test_close_ends_the_thread_and_refuses_new_calls(topview_simulator: SimulatorServer) -> None:
    client = Topview(
        api_key=topview_simulator.api_key,
        uid=topview_simulator.uid,
        base_url=topview_simulator.base_url,
    )
    client.voices.list()
    thread = client._portal.thread
    assert thread.is_alive()
    client.close()
    client.close()  # twice is fine
    assert not thread.is_alive()
    assert client.is_closed
    assert client.async_client.is_closed  # its connections were closed on its loop
    with pytest.raises(ClientClosedError):
        client.voices.list()
    with pytest.raises(ClientClosedError), client:
        pass


def test_a_forgotten_client_is_closed_when_collected(topview_simulator: SimulatorServer) -> None:
    client = Topview(
        api_key=topview_simulator.api_key,
        uid=topview_simulator.uid,
        base_url=topview_simulator.base_url,
    )
    client.voices.list()
    async_client = client.async_client
    thread = client._portal.thread
    del client
    gc.collect()
    assert not thread.is_alive()
    assert async_client.is_closed


def test_with_options_shares_the_loop_thread_and_closes_nothing(client: Topview) -> None:
    quick = client.with_options(retry=None, timeout=5, default_headers={"X-Tenant": "a"})
    assert quick.retry.attempts == 1
    assert quick.voices.list(page_size=1).page_size == 1
    quick.close()
    assert not client.is_closed
    assert client.voices.list(page_size=1).page_size == 1


def test_a_callback_calling_back_into_the_same_client_fails_clearly(client: Topview) -> None:
    file_id = client.uploads.upload(PNG, format="png")
    task = client.image_to_video.submit(
        image_file_id=file_id, duration=5, mode="lite", generating_count=1, prompt="turns"
    )

    def on_progress(update: object) -> None:
        client.voices.list()  # runs on the client's own loop thread: would wait for itself

    with pytest.raises(ClientStateError):
        task.wait(on_progress=on_progress)
    assert isinstance(ClientStateError("x"), TopviewError)


def test_leaving_an_iterator_early_closes_it_on_the_loop(client: Topview) -> None:
    first = next(iter(client.voices.list_all(page_size=1)))
    assert first.voice_id
    for _voice in client.voices.list_all(page_size=1):
        break  # the generator is closed here, on the client's loop
    file_id = client.uploads.upload(PNG, format="png")
    task = client.image_to_video.submit(
        image_file_id=file_id, duration=5, mode="lite", generating_count=1, prompt="turns"
    )
    updates = task.watch()
    next(updates)
    updates.close()  # the async watch generator behind it ends on the loop, not at exit
    assert task.wait() is task.result


def test_wait_all_waits_for_sync_handles(client: Topview) -> None:
    file_id = client.uploads.upload(PNG, format="png")
    tasks = [
        client.image_to_video.submit(
            image_file_id=file_id, duration=5, mode="lite", generating_count=1, prompt=str(n)
        )
        for n in range(3)
    ]
    results = client.tasks.wait_all(tasks)
    assert results == [task.result for task in tasks]
    assert all(task.done for task in tasks)
