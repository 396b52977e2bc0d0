"""Downloads over loopback HTTP: resume, verification, atomic replace, cancellation."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from transfer_server import StorageServer

from topview_async.lib._files import DownloadError, DownloadManyError, IntegrityError, PartFile
from topview_async.lib.downloads import download, download_many

pytestmark = pytest.mark.anyio

SIZE = 3 * 1024 * 1024 + 17


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".part"))


@pytest.fixture
def video(storage_server: StorageServer) -> bytes:
    data = os.urandom(SIZE)
    storage_server.files["video.mp4"] = data
    return data


async def test_download_is_byte_identical_and_sends_no_credentials(
    tmp_path: Path, storage_server: StorageServer, storage_http: httpx.AsyncClient, video: bytes
) -> None:
    dest = tmp_path / "out" / "video.mp4"
    result = await download(storage_http, storage_server.url("video.mp4"), dest)
    assert result == dest
    assert sha256(dest.read_bytes()) == sha256(video)
    assert leftovers(dest.parent) == []
    [get] = storage_server.requests
    headers = {k.lower() for k in get.headers}
    assert "authorization" not in headers
    assert "topview-uid" not in headers
    assert "range" not in headers


async def test_dropped_connection_resumes_with_range(
    tmp_path: Path,
    storage_server: StorageServer,
    storage_http: httpx.AsyncClient,
    video: bytes,
    sleeps: list[float],
) -> None:
    storage_server.drops["video.mp4"] = [1_000_000, 500_000]
    dest = tmp_path / "video.mp4"

    await download(storage_http, storage_server.url("video.mp4"), dest, chunk_size=64 * 1024)

    assert sha256(dest.read_bytes()) == sha256(video)
    first, second, third = storage_server.requests
    assert "Range" not in first.headers
    etag = storage_server.etag("video.mp4")
    # Resumes start at a chunk boundary at or before where the connection dropped.
    start = int(second.headers["Range"].removeprefix("bytes=").rstrip("-"))
    assert 0 < start <= 1_000_000
    assert second.headers["If-Range"] == etag
    assert int(third.headers["Range"].removeprefix("bytes=").rstrip("-")) > start
    assert len(sleeps) == 2
    assert leftovers(tmp_path) == []


async def test_server_ignoring_range_restarts_cleanly(
    tmp_path: Path, storage_server: StorageServer, storage_http: httpx.AsyncClient, video: bytes
) -> None:
    storage_server.drops["video.mp4"] = [2_000_000]
    storage_server.ignore_range = True
    dest = tmp_path / "video.mp4"
    seen: list[int] = []

    await download(
        storage_http,
        storage_server.url("video.mp4"),
        dest,
        progress=lambda _d, n, _t: seen.append(n),
    )

    assert sha256(dest.read_bytes()) == sha256(video)
    assert "Range" in storage_server.requests[1].headers
    assert 0 in seen  # progress went back to zero on the restart
    assert seen[-1] == SIZE


async def test_changed_object_restarts_through_if_range(
    tmp_path: Path, storage_server: StorageServer, storage_http: httpx.AsyncClient, video: bytes
) -> None:
    new_version = os.urandom(SIZE // 2)
    storage_server.drops["video.mp4"] = [1_500_000]
    storage_server.replace_after_drop["video.mp4"] = new_version
    dest = tmp_path / "video.mp4"

    await download(storage_http, storage_server.url("video.mp4"), dest)

    # If-Range carried the old ETag, so the server sent the whole new object (200).
    assert (
        storage_server.requests[1].headers["If-Range"] == '"' + hashlib.md5(video).hexdigest() + '"'
    )
    assert sha256(dest.read_bytes()) == sha256(new_version)


async def test_progress_reports_every_chunk(
    tmp_path: Path, storage_server: StorageServer, storage_http: httpx.AsyncClient, video: bytes
) -> None:
    seen: list[tuple[object, int, int | None]] = []

    async def progress(dest: object, done: int, total: int | None) -> None:
        seen.append((dest, done, total))

    dest = tmp_path / "v.mp4"
    await download(
        storage_http, storage_server.url("video.mp4"), dest, progress=progress, chunk_size=1 << 20
    )
    assert [n for _, n, _ in seen] == [1 << 20, 2 << 20, 3 << 20, SIZE]
    assert {(d, t) for d, _, t in seen} == {(dest, SIZE)}


async def test_writer_never_gets_more_than_chunk_size(
    tmp_path: Path,
    storage_server: StorageServer,
    storage_http: httpx.AsyncClient,
    video: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    writes: list[int] = []
    real_append = PartFile.append

    async def recording_append(
        self: PartFile, chunks: Sequence[bytes | memoryview], md5: Any
    ) -> None:
        writes.append(sum(len(chunk) for chunk in chunks))
        await real_append(self, chunks, md5)

    monkeypatch.setattr(PartFile, "append", recording_append)
    storage_server.drops["video.mp4"] = [700_000]
    dest = tmp_path / "v.mp4"

    await download(storage_http, storage_server.url("video.mp4"), dest, chunk_size=32 * 1024)

    assert sha256(dest.read_bytes()) == sha256(video)
    assert max(writes) <= 32 * 1024
    assert sum(writes) == SIZE


async def test_truncated_body_is_detected_and_leaves_nothing(
    tmp_path: Path, storage_server: StorageServer, storage_http: httpx.AsyncClient, video: bytes
) -> None:
    storage_server.drops["video.mp4"] = [100_000] * 3
    dest = tmp_path / "video.mp4"

    with pytest.raises(DownloadError, match="after 3 attempts") as caught:
        await download(storage_http, storage_server.url("video.mp4"), dest, attempts=3)

    assert "X-Amz-Signature" not in str(caught.value)  # the presigned query stays private
    assert not dest.exists()
    assert leftovers(tmp_path) == []


async def test_size_and_md5_mismatches_are_integrity_errors(
    tmp_path: Path, storage_server: StorageServer, storage_http: httpx.AsyncClient, video: bytes
) -> None:
    dest = tmp_path / "video.mp4"
    url = storage_server.url("video.mp4")
    with pytest.raises(IntegrityError, match="expected 123"):
        await download(storage_http, url, dest, expected_size=123)
    with pytest.raises(IntegrityError, match="ETag"):
        await download(storage_http, url, dest, expected_etag='"0123"')

    corrupted = bytearray(video)
    corrupted[SIZE // 2] ^= 0xFF
    storage_server.served_body["video.mp4"] = bytes(corrupted)
    with pytest.raises(IntegrityError, match="MD5"):
        await download(storage_http, url, dest)
    assert not dest.exists()
    assert leftovers(tmp_path) == []

    # Without S3 headers a 32-hex ETag is not trusted to be an MD5 (Starlette-style ETags).
    storage_server.s3_headers = False
    await download(storage_http, url, dest, expected_etag=storage_server.etag("video.mp4"))
    assert dest.read_bytes() == bytes(corrupted)


async def test_existing_destination_is_replaced_only_on_success(
    tmp_path: Path, storage_server: StorageServer, storage_http: httpx.AsyncClient, video: bytes
) -> None:
    dest = tmp_path / "video.mp4"
    dest.write_bytes(b"previous version")
    storage_server.drops["video.mp4"] = [10] * 2
    with pytest.raises(DownloadError):
        await download(storage_http, storage_server.url("video.mp4"), dest, attempts=2)
    assert dest.read_bytes() == b"previous version"

    await download(storage_http, storage_server.url("video.mp4"), dest)
    assert dest.read_bytes() == video
    assert leftovers(tmp_path) == []


async def test_http_error_is_not_retried(
    tmp_path: Path, storage_server: StorageServer, storage_http: httpx.AsyncClient
) -> None:
    with pytest.raises(DownloadError) as caught:
        await download(storage_http, storage_server.url("absent.mp4"), tmp_path / "a.mp4")
    assert caught.value.status_code == 404
    assert len(storage_server.requests) == 1
    assert list(tmp_path.iterdir()) == []


async def test_cancellation_mid_download_leaves_no_file(
    tmp_path: Path, storage_server: StorageServer, storage_http: httpx.AsyncClient, video: bytes
) -> None:
    dest = tmp_path / "video.mp4"
    with anyio.CancelScope() as scope:

        def cancel_after_first_chunk(_dest: object, done: int, _total: int | None) -> None:
            assert leftovers(tmp_path)  # the .part file exists while downloading
            scope.cancel()

        await download(
            storage_http,
            storage_server.url("video.mp4"),
            dest,
            progress=cancel_after_first_chunk,
            chunk_size=64 * 1024,
        )
    assert scope.cancelled_caught
    assert not dest.exists()
    assert list(tmp_path.iterdir()) == []


async def test_refuses_a_client_with_credentials(
    tmp_path: Path, storage_server: StorageServer, video: bytes
) -> None:
    async with httpx.AsyncClient(headers={"Authorization": "Bearer sk"}) as http:
        with pytest.raises(ValueError, match="Topview credentials"):
            await download(http, storage_server.url("video.mp4"), tmp_path / "v.mp4")
        with pytest.raises(ValueError, match="Topview credentials"):
            await download_many(http, [(storage_server.url("video.mp4"), tmp_path / "v.mp4")])
    assert storage_server.requests == []


async def test_download_many_keeps_order_and_reports_failures(
    tmp_path: Path, storage_server: StorageServer, storage_http: httpx.AsyncClient
) -> None:
    contents = {f"f{i}.bin": os.urandom(10_000 + i) for i in range(5)}
    storage_server.files.update(contents)
    items = [(storage_server.url(name), tmp_path / name) for name in contents]

    paths = await download_many(storage_http, items, concurrency=2)
    assert paths == [dest for _, dest in items]
    assert all(p.read_bytes() == contents[p.name] for p in paths)

    broken = [*items[:2], (storage_server.url("absent.bin"), tmp_path / "absent.bin")]
    with pytest.raises(DownloadManyError) as caught:
        await download_many(storage_http, broken)
    assert list(caught.value.failures) == [2]
    assert caught.value.paths == [items[0][1], items[1][1], None]
    # The message alone says which file failed and why (a log line, a CLI's one error line).
    message = str(caught.value)
    assert message.startswith(f"1 of 3 downloads failed: {tmp_path / 'absent.bin'}: ")
    assert type(caught.value.failures[2]).__name__ in message

    with pytest.raises(ValueError, match="same destination"):
        await download_many(storage_http, [items[0], (items[1][0], items[0][1])])


async def test_downloaded_file_gets_umask_permissions(
    tmp_path: Path, storage_server: StorageServer, storage_http: httpx.AsyncClient, video: bytes
) -> None:
    umask = os.umask(0)
    os.umask(umask)
    dest = await download(storage_http, storage_server.url("video.mp4"), tmp_path / "v.mp4")
    assert dest.stat().st_mode & 0o777 == 0o666 & ~umask
