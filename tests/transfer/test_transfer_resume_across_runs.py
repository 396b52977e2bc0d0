"""Resumable downloads across processes: a later call (a fresh client, as after a crash)
continues the ``.part`` file an interrupted one kept, safely or not at all."""

from __future__ import annotations

import json
import os
from pathlib import Path

import anyio
import httpx
import pytest
from transfer_server import SIGNATURE, StorageServer

from topview_async import AsyncTopview, DownloadInProgressError, RetryPolicy
from topview_async.lib._files import DownloadError, IntegrityError
from topview_async.lib.downloads import RESUME_OVERLAP, download

pytestmark = pytest.mark.anyio

SIZE = 1024 * 1024 + 5
DROP = 600_000
NAME = "video.mp4"


@pytest.fixture
def data(storage_server: StorageServer) -> bytes:
    content = os.urandom(SIZE)
    storage_server.files[NAME] = content
    return content


def leftovers(dest: Path) -> tuple[Path, Path]:
    return dest.with_name(f".{dest.name}.part"), dest.with_name(f".{dest.name}.part.json")


async def interrupt_by_drop(server: StorageServer, dest: Path) -> None:
    """A first run whose only attempt loses the connection after DROP bytes."""
    server.drops[NAME] = [DROP]
    async with httpx.AsyncClient(timeout=10) as http:
        with pytest.raises(DownloadError):
            await download(http, server.url(NAME), dest, attempts=1, resumable=True)


async def test_a_dropped_download_keeps_part_and_sidecar_without_secrets(
    tmp_path: Path, storage_server: StorageServer, data: bytes
) -> None:
    dest = tmp_path / NAME
    await interrupt_by_drop(storage_server, dest)

    part, sidecar = leftovers(dest)
    assert part.read_bytes() == data[:DROP]
    text = sidecar.read_text(encoding="utf-8")
    assert SIGNATURE not in text
    assert "?" not in text
    recorded = json.loads(text)
    assert recorded["etag"] == storage_server.etag(NAME)
    assert recorded["total"] == SIZE
    assert not dest.exists()


async def test_a_fresh_client_resumes_with_range_and_if_range(
    tmp_path: Path, storage_server: StorageServer, data: bytes
) -> None:
    dest = tmp_path / NAME
    await interrupt_by_drop(storage_server, dest)

    async with httpx.AsyncClient(timeout=10) as http:  # a new process, as far as state goes
        await download(http, storage_server.url(NAME), dest, resumable=True)

    assert dest.read_bytes() == data
    resumed = storage_server.requests[-1]
    assert resumed.headers["Range"] == f"bytes={DROP - RESUME_OVERLAP}-"
    assert resumed.headers["If-Range"] == storage_server.etag(NAME)
    assert resumed.sent == SIZE - DROP + RESUME_OVERLAP
    assert not any(path.exists() for path in leftovers(dest))


async def test_client_download_resumes_what_an_earlier_client_left(
    tmp_path: Path, storage_server: StorageServer, data: bytes
) -> None:
    """``client.download(resumable=True)``: a first client's one attempt is cut, a second
    client (as after a crash) continues the kept part with a Range request."""
    dest = tmp_path / NAME
    storage_server.drops[NAME] = [DROP]
    once = RetryPolicy(attempts=1)
    async with AsyncTopview(api_key="sk-test", uid="uid-test", retry=once) as client:
        with pytest.raises(DownloadError):
            await client.download(storage_server.url(NAME), dest, resumable=True)
    part, sidecar = leftovers(dest)
    assert part.stat().st_size == DROP
    assert sidecar.exists()

    async with AsyncTopview(api_key="sk-test", uid="uid-test") as client:
        path = await client.download(storage_server.url(NAME), dest, resumable=True)

    assert path == dest
    assert dest.read_bytes() == data
    resumed = storage_server.requests[-1]
    assert resumed.headers["Range"] == f"bytes={DROP - RESUME_OVERLAP}-"
    assert resumed.sent == SIZE - DROP + RESUME_OVERLAP
    assert not any(p.exists() for p in leftovers(dest))


async def test_a_cancelled_resumable_download_keeps_its_part_and_resumes(
    tmp_path: Path, storage_server: StorageServer, data: bytes
) -> None:
    dest = tmp_path / NAME
    async with httpx.AsyncClient(timeout=10) as http:
        with anyio.CancelScope() as scope:

            def cancel_after_first_chunk(_dest: object, done: int, _total: int | None) -> None:
                if done:
                    scope.cancel()

            await download(
                http,
                storage_server.url(NAME),
                dest,
                chunk_size=256 * 1024,
                progress=cancel_after_first_chunk,
                resumable=True,
            )
    assert scope.cancelled_caught
    part, sidecar = leftovers(dest)
    kept = part.stat().st_size
    assert kept > 0
    assert sidecar.exists()

    async with httpx.AsyncClient(timeout=10) as http:
        await download(http, storage_server.url(NAME), dest, resumable=True)

    assert dest.read_bytes() == data
    assert storage_server.requests[-1].headers["Range"] == f"bytes={kept - RESUME_OVERLAP}-"


async def test_an_object_changed_between_runs_is_fetched_whole(
    tmp_path: Path, storage_server: StorageServer, data: bytes
) -> None:
    dest = tmp_path / NAME
    await interrupt_by_drop(storage_server, dest)
    new_version = os.urandom(SIZE)
    storage_server.files[NAME] = new_version  # a new ETag: If-Range gets the whole object

    async with httpx.AsyncClient(timeout=10) as http:
        await download(http, storage_server.url(NAME), dest, resumable=True)

    assert dest.read_bytes() == new_version  # never data[:DROP] + new_version[DROP:]
    resumed = storage_server.requests[-1]
    assert "Range" in resumed.headers
    assert resumed.sent == SIZE


async def test_a_reused_etag_between_runs_is_caught_and_never_spliced(
    tmp_path: Path, storage_server: StorageServer, data: bytes
) -> None:
    storage_server.fixed_etags[NAME] = '"same-etag-v1"'  # not an MD5: only the overlap can tell
    dest = tmp_path / NAME
    await interrupt_by_drop(storage_server, dest)
    new_version = os.urandom(SIZE)
    storage_server.files[NAME] = new_version

    async with httpx.AsyncClient(timeout=10) as http:
        await download(http, storage_server.url(NAME), dest, resumable=True)

    assert dest.read_bytes() == new_version
    last = storage_server.requests[-1]
    assert "Range" not in last.headers
    assert last.sent == SIZE


async def test_a_sidecar_for_another_url_is_not_resumed(
    tmp_path: Path, storage_server: StorageServer, data: bytes
) -> None:
    dest = tmp_path / NAME
    await interrupt_by_drop(storage_server, dest)
    storage_server.files["other.mp4"] = data

    async with httpx.AsyncClient(timeout=10) as http:
        await download(http, storage_server.url("other.mp4"), dest, resumable=True)

    assert dest.read_bytes() == data
    assert "Range" not in storage_server.requests[-1].headers


async def test_an_integrity_error_discards_the_resumable_part(
    tmp_path: Path, storage_server: StorageServer, data: bytes
) -> None:
    dest = tmp_path / NAME
    async with httpx.AsyncClient(timeout=10) as http:
        with pytest.raises(IntegrityError):
            await download(
                http, storage_server.url(NAME), dest, expected_size=SIZE + 1, resumable=True
            )
    assert not any(path.exists() for path in leftovers(dest))


async def test_a_second_download_of_the_same_destination_is_refused(
    tmp_path: Path, storage_server: StorageServer, data: bytes
) -> None:
    dest = tmp_path / NAME
    first_chunk = anyio.Event()
    release = anyio.Event()

    async def hold(_dest: object, done: int, _total: int | None) -> None:
        if done and not first_chunk.is_set():
            first_chunk.set()
            await release.wait()

    async with httpx.AsyncClient(timeout=10) as http, anyio.create_task_group() as group:

        async def first() -> None:
            await download(
                http,
                storage_server.url(NAME),
                dest,
                chunk_size=256 * 1024,
                progress=hold,
                resumable=True,
            )

        group.start_soon(first)
        await first_chunk.wait()
        requests = len(storage_server.requests)
        with pytest.raises(DownloadInProgressError) as caught:
            await download(http, storage_server.url(NAME), dest, resumable=True)
        assert caught.value.part == leftovers(dest)[0]
        assert SIGNATURE not in str(caught.value)
        assert len(storage_server.requests) == requests  # nothing sent
        release.set()

    assert dest.read_bytes() == data  # the first one was not disturbed
    assert not any(path.exists() for path in leftovers(dest))


async def test_a_part_kept_for_another_expected_etag_is_not_resumed(
    tmp_path: Path, storage_server: StorageServer, data: bytes
) -> None:
    dest = tmp_path / NAME
    await interrupt_by_drop(storage_server, dest)

    async with httpx.AsyncClient(timeout=10) as http:
        with pytest.raises(IntegrityError):
            await download(
                http, storage_server.url(NAME), dest, expected_etag='"other"', resumable=True
            )

    assert "Range" not in storage_server.requests[-1].headers
    assert not any(path.exists() for path in leftovers(dest))
