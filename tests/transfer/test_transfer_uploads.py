"""Uploads: credential -> presigned PUT -> check, over loopback HTTP to a fake S3."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from transfer_server import CREDENTIAL, SIGNATURE, Credential, FakeUploadApi, StorageServer
from trio.testing import MockClock

from topview_async import AuthenticationError, InsufficientCreditError, RetryPolicy
from topview_async.lib._files import (
    InvalidFileError,
    UnsupportedFormatError,
    UploadError,
    UploadManyError,
)
from topview_async.lib.uploads import upload, upload_many
from topview_async.testing import set_testing

pytestmark = pytest.mark.anyio


class StaticApi:
    """One fixed credential; the upload is always confirmed."""

    async def get_credential(self, *, format: str) -> Credential:
        return Credential(file_id="f", upload_url="https://s3.test/k?sig=1")

    async def check(self, *, file_id: str) -> object:
        return True


def write(path: Path, size: int) -> bytes:
    data = os.urandom(size)
    path.write_bytes(data)
    return data


async def test_upload_puts_exact_bytes_and_returns_the_checked_file_id(
    tmp_path: Path,
    storage_server: StorageServer,
    storage_http: httpx.AsyncClient,
    upload_api: FakeUploadApi,
) -> None:
    source = tmp_path / "Product.PNG"
    data = write(source, 300_000)

    file_id = await upload(upload_api, storage_http, source)

    assert file_id == "file-1"
    assert upload_api.credential_calls == ["png"]
    assert upload_api.check_calls == ["file-1"]
    assert storage_server.objects["file-1.png"] == data
    [put] = storage_server.requests
    headers = {k.lower(): v for k, v in put.headers.items()}
    assert headers["content-length"] == str(len(data))
    assert headers["content-type"] == "image/png"
    assert "transfer-encoding" not in headers
    assert "authorization" not in headers
    assert "topview-uid" not in headers
    # The signed query reached the server byte for byte (%2F and %2B not re-encoded).
    assert put.raw_path.endswith(f"X-Amz-Signature={SIGNATURE}")
    assert f"X-Amz-Credential={CREDENTIAL}&" in put.raw_path


async def test_expired_url_gets_a_fresh_credential(
    tmp_path: Path,
    storage_server: StorageServer,
    storage_http: httpx.AsyncClient,
    upload_api: FakeUploadApi,
) -> None:
    source = tmp_path / "clip.mp4"
    data = write(source, 50_000)
    storage_server.expire_next = 1

    file_id = await upload(upload_api, storage_http, source)

    assert file_id == "file-2"  # the first file id belongs to the dead URL
    assert upload_api.credential_calls == ["mp4", "mp4"]
    assert upload_api.check_calls == ["file-2"]
    assert [r.raw_path.split("?")[0] for r in storage_server.requests] == [
        "/upload/file-1.mp4",
        "/upload/file-2.mp4",
    ]
    assert storage_server.objects == {"file-2.mp4": data}


async def test_failed_put_is_resent_from_the_first_byte(
    tmp_path: Path,
    storage_server: StorageServer,
    storage_http: httpx.AsyncClient,
    upload_api: FakeUploadApi,
    sleeps: list[float],
) -> None:
    source = tmp_path / "voice.mp3"
    data = write(source, 10_000)
    storage_server.fail_next = 2

    assert await upload(upload_api, storage_http, source) == "file-1"

    assert upload_api.credential_calls == ["mp3"]  # same URL reused for a 5xx
    assert [r.body_size for r in storage_server.requests] == [len(data)] * 3
    assert storage_server.objects["file-1.mp3"] == data
    assert len(sleeps) == 2


async def test_put_failures_exhaust_attempts(
    tmp_path: Path,
    storage_server: StorageServer,
    storage_http: httpx.AsyncClient,
    upload_api: FakeUploadApi,
) -> None:
    source = tmp_path / "voice.wav"
    write(source, 100)
    storage_server.fail_next = 5

    with pytest.raises(UploadError) as caught:
        await upload(upload_api, storage_http, source, retry=RetryPolicy(attempts=2))

    assert caught.value.status_code == 500
    assert caught.value.storage_code == "InternalError"
    assert caught.value.file_id == "file-1"
    assert len(storage_server.requests) == 2
    assert upload_api.check_calls == []


async def test_check_is_polled_until_present_then_gives_up(
    tmp_path: Path,
    storage_http: httpx.AsyncClient,
    upload_api: FakeUploadApi,
    sleeps: list[float],
) -> None:
    source = tmp_path / "a.webp"
    write(source, 10)
    upload_api.check_answers = [False, "false", None]
    # The checks follow the retry policy: its attempts and its backoff.
    policy = RetryPolicy(attempts=4, wait_initial=0.5, wait_jitter=0.0)
    assert await upload(upload_api, storage_http, source, retry=policy) == "file-1"
    assert len(upload_api.check_calls) == 4
    assert sleeps == [0.5, 1.0, 2.0]

    upload_api.check_answers = [False] * 10
    with pytest.raises(UploadError, match="did not confirm") as caught:
        await upload(upload_api, storage_http, source, retry=RetryPolicy(attempts=3))
    assert caught.value.file_id == "file-2"
    assert len(upload_api.check_calls) == 4 + 3


async def test_bytes_and_streams_need_a_format_and_upload(
    storage_server: StorageServer,
    storage_http: httpx.AsyncClient,
    upload_api: FakeUploadApi,
) -> None:
    payload = os.urandom(70_000)
    assert await upload(upload_api, storage_http, payload, format="JPG") == "file-1"
    assert storage_server.objects["file-1.jpg"] == payload

    async def stream() -> AsyncIterator[bytes]:
        for start in range(0, len(payload), 7000):
            yield payload[start : start + 7000]

    storage_server.fail_next = 1  # a stream must be re-readable for the second PUT
    assert await upload(upload_api, storage_http, stream(), format="m4a") == "file-2"
    assert storage_server.objects["file-2.m4a"] == payload
    put = storage_server.requests[-1]
    assert put.headers["Content-Length"] == str(len(payload))
    assert put.headers["Content-Type"] == "audio/mp4"


async def test_progress_reports_bytes_sync_and_async(
    tmp_path: Path, storage_http: httpx.AsyncClient, upload_api: FakeUploadApi
) -> None:
    source = tmp_path / "big.mov"
    write(source, 250_000)
    seen: list[tuple[object, int, int | None]] = []

    await upload(
        upload_api,
        storage_http,
        source,
        progress=lambda s, n, t: seen.append((s, n, t)),
        chunk_size=100_000,
    )
    assert seen == [(source, n, 250_000) for n in (0, 100_000, 200_000, 250_000)]

    async def async_progress(s: object, n: int, t: int | None) -> None:
        seen.append((s, n, t))

    seen.clear()
    await upload(upload_api, storage_http, source, progress=async_progress, chunk_size=200_000)
    assert [n for _, n, _ in seen] == [0, 200_000, 250_000]


async def test_body_is_streamed_in_bounded_chunks(tmp_path: Path) -> None:
    source = tmp_path / "video.mp4"
    write(source, 1_000_001)
    chunks: list[int] = []

    class RecordingTransport(httpx.AsyncBaseTransport):
        # MockTransport reads the whole body before the handler sees it; this does not.
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            stream: Any = request.stream
            chunks.extend([len(chunk) async for chunk in stream])
            return httpx.Response(200)

    async with httpx.AsyncClient(transport=RecordingTransport()) as http:
        await upload(StaticApi(), http, source, chunk_size=64 * 1024)
    assert sum(chunks) == 1_000_001
    assert max(chunks) <= 64 * 1024
    assert len(chunks) > 10


async def test_transport_error_on_put_is_retried() -> None:
    puts: list[bytes] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        puts.append(body)
        if len(puts) == 1:
            raise httpx.WriteError("connection reset")
        return httpx.Response(200)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        assert await upload(StaticApi(), http, b"abc" * 1000, format="png") == "f"
    assert puts == [b"abc" * 1000, b"abc" * 1000]


async def test_other_client_errors_are_not_retried(
    tmp_path: Path, upload_api: FakeUploadApi
) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, text="<Error><Code>EntityTooLarge</Code><Message>big</Message>")

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        with pytest.raises(UploadError, match="EntityTooLarge") as caught:
            await upload(upload_api, http, b"x", format="png")
    assert caught.value.status_code == 400
    assert caught.value.file_id == "file-1"
    assert upload_api.credential_calls == ["png"]


@pytest.mark.parametrize(
    ("make_source", "kwargs", "error"),
    [
        (lambda d: d / "missing.png", {}, InvalidFileError),
        (lambda d: d / "empty.png", {}, InvalidFileError),
        (lambda d: d / "doc.pdf", {}, UnsupportedFormatError),
        (lambda d: d / "NOEXT", {}, UnsupportedFormatError),
        (lambda d: d / "ok.png", {"format": "gif"}, UnsupportedFormatError),
        (lambda d: b"", {"format": "png"}, InvalidFileError),
        (lambda d: b"data", {}, InvalidFileError),
        (lambda d: b"data", {"format": "exe"}, UnsupportedFormatError),
    ],
)
async def test_bad_input_sends_nothing(
    tmp_path: Path,
    storage_server: StorageServer,
    storage_http: httpx.AsyncClient,
    upload_api: FakeUploadApi,
    make_source: object,
    kwargs: dict[str, Any],
    error: type[Exception],
) -> None:
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "doc.pdf").write_bytes(b"%PDF")
    (tmp_path / "NOEXT").write_bytes(b"x")
    (tmp_path / "ok.png").write_bytes(b"x")
    source = make_source(tmp_path)  # type: ignore[operator]

    with pytest.raises(error):
        await upload(upload_api, storage_http, source, **kwargs)

    assert upload_api.calls == 0
    assert storage_server.requests == []


async def test_empty_stream_sends_nothing(
    storage_server: StorageServer, storage_http: httpx.AsyncClient, upload_api: FakeUploadApi
) -> None:
    async def nothing() -> AsyncIterator[bytes]:
        return
        yield b""

    with pytest.raises(InvalidFileError, match="empty"):
        await upload(upload_api, storage_http, nothing(), format="mp4")
    assert upload_api.calls == 0
    assert storage_server.requests == []


@pytest.mark.parametrize(
    "client_kwargs",
    [
        {"headers": {"Authorization": "Bearer sk-secret"}},
        {"headers": {"Topview-Uid": "uid"}},
        {"auth": ("user", "pass")},
    ],
)
async def test_storage_client_with_credentials_is_refused(
    tmp_path: Path,
    storage_server: StorageServer,
    upload_api: FakeUploadApi,
    client_kwargs: dict[str, object],
) -> None:
    source = tmp_path / "a.png"
    write(source, 10)
    async with httpx.AsyncClient(**client_kwargs) as http:  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="Topview credentials") as caught:
            await upload(upload_api, http, source)
        with pytest.raises(ValueError, match="Topview credentials"):
            await upload_many(upload_api, http, [source])
    assert "sk-secret" not in str(caught.value)
    assert upload_api.calls == 0
    assert storage_server.requests == []


async def test_upload_many_keeps_order_and_reports_partial_failure(
    tmp_path: Path,
    storage_server: StorageServer,
    storage_http: httpx.AsyncClient,
    upload_api: FakeUploadApi,
) -> None:
    sources = [tmp_path / f"f{i}.png" for i in range(6)]
    contents = [write(p, 1000 + i) for i, p in enumerate(sources)]

    ids = await upload_many(upload_api, storage_http, sources, concurrency=3)

    assert len(ids) == 6
    by_id = {fid: storage_server.objects[upload_api.issued[fid]] for fid in ids}
    assert [by_id[fid] for fid in ids] == contents  # ids are in input order

    # Now every PUT of the 1001-byte file fails for good.
    failing = FakeUploadApi(storage_server)
    storage_server.reject_body_sizes = {1001}
    seen: dict[object, int] = {}
    with pytest.raises(UploadManyError) as caught:
        await upload_many(
            failing,
            storage_http,
            sources,
            progress=lambda s, n, t: seen.__setitem__(s, n),
        )
    error = caught.value
    assert list(error.failures) == [1]
    assert isinstance(error.failures[1], UploadError)
    assert error.file_ids[1] is None
    assert all(error.file_ids[i] for i in (0, 2, 3, 4, 5))
    for index in (0, 2, 3, 4, 5):
        key = failing.issued[error.file_ids[index]]  # type: ignore[index]
        assert storage_server.objects[key] == contents[index]
    assert seen == {s: len(c) for s, c in zip(sources, contents, strict=True)}


async def test_upload_many_validates_everything_first(
    tmp_path: Path,
    storage_server: StorageServer,
    storage_http: httpx.AsyncClient,
    upload_api: FakeUploadApi,
) -> None:
    good = tmp_path / "good.png"
    write(good, 10)
    with pytest.raises(UploadManyError) as caught:
        await upload_many(
            upload_api, storage_http, [good, tmp_path / "missing.png", tmp_path / "x.gif"]
        )
    assert sorted(caught.value.failures) == [1, 2]
    assert isinstance(caught.value.failures[2], UnsupportedFormatError)
    assert caught.value.file_ids == [None, None, None]
    assert upload_api.calls == 0
    assert storage_server.requests == []


# -- one retry policy (issue 10.5) --------------------------------------------------------


async def test_retry_none_means_one_put_and_one_check(
    tmp_path: Path,
    storage_server: StorageServer,
    storage_http: httpx.AsyncClient,
    upload_api: FakeUploadApi,
    sleeps: list[float],
) -> None:
    source = tmp_path / "voice.wav"
    write(source, 100)
    storage_server.fail_next = 1
    with pytest.raises(UploadError):
        await upload(upload_api, storage_http, source, retry=None)
    assert len(storage_server.requests) == 1
    assert sleeps == []

    upload_api.check_answers = [False]
    with pytest.raises(UploadError, match="after 1 check"):
        await upload(upload_api, storage_http, source, retry=None)
    assert sleeps == []


async def test_the_policy_timeout_stops_retrying_puts(
    tmp_path: Path,
    storage_server: StorageServer,
    storage_http: httpx.AsyncClient,
    upload_api: FakeUploadApi,
    sleeps: list[float],
) -> None:
    source = tmp_path / "voice.wav"
    write(source, 100)
    storage_server.fail_next = 10
    # 10 attempts allowed, but waits of 4 s each cannot fit more than two into 10 s.
    policy = RetryPolicy(
        attempts=10, wait_initial=4.0, wait_exp_base=1.0, wait_jitter=0.0, timeout=10.0
    )
    with pytest.raises(UploadError):
        await upload(upload_api, storage_http, source, retry=policy)
    assert sleeps == [4.0, 4.0]
    assert len(storage_server.requests) == 3


@pytest.mark.parametrize(
    "anyio_backend", [pytest.param(("trio", {"clock": MockClock(autojump_threshold=0)}), id="trio")]
)
async def test_an_upload_timeout_is_an_overall_deadline(tmp_path: Path) -> None:
    # Trio's auto-jumping mock clock: the 30 s pass in virtual time, nothing waits for real.
    class StuckApi:
        async def get_credential(self, *, format: str) -> Credential:
            await anyio.sleep_forever()
            raise AssertionError

        async def check(self, *, file_id: str) -> object:
            return True

    source = tmp_path / "a.png"
    write(source, 10)
    async with httpx.AsyncClient() as http:
        started = anyio.current_time()
        with pytest.raises(UploadError, match=r"did not finish within 30\.0 s"):
            await upload(StuckApi(), http, source, timeout=30.0)
    assert anyio.current_time() - started == pytest.approx(30.0)


async def test_testing_mode_caps_attempts_without_patching(
    tmp_path: Path,
    storage_server: StorageServer,
    storage_http: httpx.AsyncClient,
    upload_api: FakeUploadApi,
) -> None:
    source = tmp_path / "voice.wav"
    write(source, 100)
    storage_server.fail_next = 5
    with set_testing(True, attempts=2), pytest.raises(UploadError, match="after 2 attempts"):
        await upload(upload_api, storage_http, source, retry=RetryPolicy(attempts=5))
    assert len(storage_server.requests) == 2


# -- upload_many stops on an error every file would hit (issue 11.3) ----------------------


@pytest.mark.parametrize(
    "fatal",
    [
        AuthenticationError("Unauthorized", code="401"),
        InsufficientCreditError("not enough credit", code="4100"),
    ],
)
async def test_upload_many_starts_no_new_upload_after_a_fatal_error(
    tmp_path: Path,
    storage_server: StorageServer,
    storage_http: httpx.AsyncClient,
    fatal: Exception,
) -> None:
    sources = [tmp_path / f"f{i}.png" for i in range(10)]
    for i, path in enumerate(sources):
        write(path, 100 + i)

    class FailingAfterTwo(FakeUploadApi):
        async def get_credential(self, *, format: str) -> Credential:
            if len(self.credential_calls) >= 2:
                self.credential_calls.append(format)
                raise fatal
            return await super().get_credential(format=format)

    api = FailingAfterTwo(storage_server)
    with pytest.raises(UploadManyError) as caught:
        await upload_many(api, storage_http, sources, concurrency=1)

    error = caught.value
    assert len(api.credential_calls) == 3  # two uploads, one failure, then nothing more
    assert error.file_ids[:2] == ["file-1", "file-2"]  # the finished ones are reported
    assert error.file_ids[2:] == [None] * 8
    assert sorted(error.failures) == list(range(2, 10))
    assert all(exc is fatal for exc in error.failures.values())
