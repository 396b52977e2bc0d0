"""How downloads write: the .part file writer, MD5 only when checkable, the aiohttp stream."""

from __future__ import annotations

import hashlib
import http.server
import os
import threading
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from transfer_server import StorageServer

from topview_async._transport import AiohttpTransport
from topview_async.lib import _files
from topview_async.lib._files import PartFile
from topview_async.lib.downloads import RESUME_OVERLAP, download

pytestmark = pytest.mark.anyio

SIZE = 5 * 1024 * 1024 + 3


@pytest.fixture
def video(storage_server: StorageServer) -> bytes:
    data = os.urandom(SIZE)
    storage_server.files["video.mp4"] = data
    return data


@pytest.fixture
async def aiohttp_storage_http() -> AsyncIterator[httpx.AsyncClient]:
    """A storage client on the SDK's default transport (what ``client.download`` uses)."""
    async with httpx.AsyncClient(transport=AiohttpTransport(), timeout=10) as client:
        yield client


async def test_part_file_appends_in_order_hashes_and_starts_writeback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    advised: list[tuple[int, int]] = []

    def fake_fadvise(fd: int, offset: int, length: int, advice: int) -> None:
        advised.append((offset, length))
        if len(advised) == 1:
            raise OSError("advice refused")  # only advice: the write still succeeds

    monkeypatch.setattr(_files, "_FADVISE_DONTNEED", os.POSIX_FADV_DONTNEED)
    monkeypatch.setattr(os, "posix_fadvise", fake_fadvise)
    path = tmp_path / "x.part"
    file = PartFile.create(path)
    md5 = hashlib.md5()
    try:
        data = b"abcdefghij"
        await file.append([memoryview(data)[:4], data[4:]], md5)
        await file.append([b"XYZ"], None)
        assert path.read_bytes() == b"abcdefghijXYZ"
        assert md5.hexdigest() == hashlib.md5(data).hexdigest()  # not fed the second batch
        assert advised == [(0, 10), (10, 3)]

        await file.truncate()  # a restart writes from the beginning again
        await file.append([b"new"], None)
        await file.sync()
        assert path.read_bytes() == b"new"
        assert advised[-1] == (0, 3)
    finally:
        file.close()
    with pytest.raises(FileExistsError):
        PartFile.create(path)


async def test_md5_is_computed_only_when_the_etag_is_an_s3_md5(
    tmp_path: Path,
    storage_server: StorageServer,
    storage_http: httpx.AsyncClient,
    video: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hashers: list[Any] = []
    real_append = PartFile.append

    async def recording_append(
        self: PartFile, chunks: Sequence[bytes | memoryview], md5: Any
    ) -> None:
        hashers.append(md5)
        await real_append(self, chunks, md5)

    monkeypatch.setattr(PartFile, "append", recording_append)
    url = storage_server.url("video.mp4")

    await download(storage_http, url, tmp_path / "s3.mp4")
    assert hashers
    assert all(h is not None for h in hashers)

    hashers.clear()
    storage_server.s3_headers = False  # 32 hex digits, but not S3's: nothing to check
    await download(storage_http, url, tmp_path / "other.mp4")
    assert hashers
    assert all(h is None for h in hashers)
    assert (tmp_path / "other.mp4").read_bytes() == video


async def test_a_chunk_size_below_one_byte_is_refused(
    tmp_path: Path, storage_server: StorageServer, storage_http: httpx.AsyncClient
) -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        await download(storage_http, storage_server.url("video.mp4"), tmp_path / "v", chunk_size=0)
    assert storage_server.requests == []


async def test_download_through_the_aiohttp_transport_resumes_exactly(
    tmp_path: Path,
    storage_server: StorageServer,
    aiohttp_storage_http: httpx.AsyncClient,
    video: bytes,
) -> None:
    storage_server.drops["video.mp4"] = [3_000_001]
    seen: list[int] = []
    dest = tmp_path / "video.mp4"

    await download(
        aiohttp_storage_http,
        storage_server.url("video.mp4"),
        dest,
        progress=lambda _d, n, _t: seen.append(n),
        chunk_size=1 << 20,
    )

    assert dest.read_bytes() == video
    first, second = storage_server.requests
    assert "Range" not in first.headers
    # Every byte that reached the client before the drop was kept (aiohttp's read-ahead
    # buffer included): the resume asks again only for the fixed overlap it compares.
    assert first.sent == 3_000_001
    assert second.range_start == first.sent - RESUME_OVERLAP
    assert second.sent == SIZE - second.range_start
    # Progress after each full 1 MiB chunk of a response, and for the bytes that had
    # arrived when the connection dropped (kept: the resume continues right after them).
    mib = 1 << 20
    before = [*range(mib, first.sent, mib), first.sent]
    after = [*range(first.sent + mib, SIZE, mib), SIZE]
    assert seen == before + after


async def test_aiohttp_stream_yields_buffers_as_received(
    storage_server: StorageServer, aiohttp_storage_http: httpx.AsyncClient, video: bytes
) -> None:
    sizes: list[int] = []
    body = bytearray()
    async with aiohttp_storage_http.stream("GET", storage_server.url("video.mp4")) as response:
        async for data in response.aiter_raw():
            sizes.append(len(data))
            body += data
    assert bytes(body) == video
    assert all(sizes)  # no empty pieces
    # Not re-cut into 64 KiB slices: whatever each socket read brought, in one piece.
    assert len(sizes) < SIZE // (64 * 1024)


async def test_writer_errors_surface_as_themselves_and_leave_nothing(
    tmp_path: Path,
    storage_server: StorageServer,
    storage_http: httpx.AsyncClient,
    video: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = storage_server.url("video.mp4")

    def failing_progress(_dest: object, done: int, _total: int | None) -> None:
        if done >= 2 << 20:
            raise RuntimeError("callback broke")

    with pytest.raises(RuntimeError, match="callback broke"):  # not an ExceptionGroup
        await download(storage_http, url, tmp_path / "a.mp4", progress=failing_progress)

    real_append = PartFile.append
    calls = 0

    async def disk_full(self: PartFile, chunks: Sequence[bytes | memoryview], md5: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise OSError(28, "No space left on device")
        await real_append(self, chunks, md5)

    monkeypatch.setattr(PartFile, "append", disk_full)
    with pytest.raises(OSError, match="No space left"):
        await download(storage_http, url, tmp_path / "b.mp4")

    assert list(tmp_path.iterdir()) == []
    assert len(storage_server.requests) == 2  # neither error is retried


class _StaticHandler(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_download_works_under_trio(tmp_path: Path) -> None:
    body = os.urandom(3 * 1024 * 1024 + 5)
    handler = type("Handler", (_StaticHandler,), {"body": body})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v.mp4"
        async with httpx.AsyncClient() as http_client:
            dest = await download(http_client, url, tmp_path / "v.mp4", chunk_size=1 << 20)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert dest.read_bytes() == body


async def test_aiohttp_stream_hands_out_buffered_bytes_before_the_error() -> None:
    """aiohttp raises a broken connection's error ahead of what it had buffered; the
    transport yields those bytes first so that a resume does not fetch them again."""
    import asyncio
    from unittest import mock

    import aiohttp

    from topview_async._transport import _ResponseStream

    content = aiohttp.StreamReader(
        mock.Mock(_reading_paused=False), 2**16, loop=asyncio.get_running_loop()
    )
    content.feed_data(b"a" * 1000)
    content.feed_data(b"b" * 500)
    content.set_exception(aiohttp.ClientPayloadError("Response payload is not completed"))
    response = mock.Mock(content=content)
    request = httpx.Request("GET", "http://127.0.0.1/v.mp4")
    stream = _ResponseStream(response, request, lambda: None)

    received = bytearray()

    async def read_all() -> None:
        async for data in stream:
            received.extend(data)

    with pytest.raises(httpx.ReadError):
        await read_all()
    assert bytes(received) == b"a" * 1000 + b"b" * 500
