"""When a download may resume, and how it notices a file that changed between attempts.

Every case drops the connection part-way and changes (or lies about) the object before
the next attempt: the result must be one whole version of the file or a typed error,
never the old bytes followed by the new ones.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import anyio
import httpx
import pytest
from transfer_server import StorageServer

from topview_async import AsyncTopview, RetryPolicy
from topview_async.lib._files import DownloadError, DownloadTimeoutError, IntegrityError
from topview_async.lib.downloads import RESUME_OVERLAP, download
from topview_async.testing import set_testing

pytestmark = pytest.mark.anyio

SIZE = 1024 * 1024 + 5
DROP = 600_000
NAME = "video.mp4"


@pytest.fixture
def old_version(storage_server: StorageServer) -> bytes:
    data = os.urandom(SIZE)
    storage_server.files[NAME] = data
    return data


def change_after_drop(server: StorageServer) -> bytes:
    """Drop the first answer after DROP bytes, then replace the file by a new version."""
    new_version = os.urandom(SIZE)
    server.drops[NAME] = [DROP]
    server.replace_after_drop[NAME] = new_version
    return new_version


async def test_without_an_etag_a_changed_file_is_fetched_whole(
    tmp_path: Path,
    storage_server: StorageServer,
    storage_http: httpx.AsyncClient,
    old_version: bytes,
) -> None:
    storage_server.send_etag = False
    new_version = change_after_drop(storage_server)
    dest = tmp_path / NAME

    await download(storage_http, storage_server.url(NAME), dest)

    assert dest.read_bytes() == new_version  # not old[:DROP] + new[DROP:]
    _first, second = storage_server.requests
    assert "Range" not in second.headers  # no validator: nothing to resume safely
    assert second.sent == SIZE


async def test_a_weak_etag_or_a_date_without_length_is_no_validator(
    tmp_path: Path,
    storage_server: StorageServer,
    storage_http: httpx.AsyncClient,
    old_version: bytes,
) -> None:
    storage_server.fixed_etags[NAME] = 'W/"v1"'
    new_version = change_after_drop(storage_server)

    await download(storage_http, storage_server.url(NAME), tmp_path / NAME)

    assert (tmp_path / NAME).read_bytes() == new_version
    assert "Range" not in storage_server.requests[1].headers


@pytest.mark.parametrize("s3_md5", [False, True])
async def test_a_reused_strong_etag_is_caught_by_the_overlap(
    tmp_path: Path,
    storage_server: StorageServer,
    storage_http: httpx.AsyncClient,
    old_version: bytes,
    s3_md5: bool,
) -> None:
    # The server keeps the old version's ETag for the new bytes and honours If-Range with it.
    storage_server.fixed_etags[NAME] = storage_server.etag(NAME)
    storage_server.s3_headers = s3_md5
    new_version = change_after_drop(storage_server)
    dest = tmp_path / NAME

    if s3_md5:
        # The ETag is an MD5 that no longer matches anything the server sends: a typed
        # error, and the destination is not written.
        with pytest.raises(IntegrityError, match="MD5"):
            await download(storage_http, storage_server.url(NAME), dest)
        assert not dest.exists()
    else:
        await download(storage_http, storage_server.url(NAME), dest)
        assert dest.read_bytes() == new_version

    _first, resumed, restarted = storage_server.requests[:3]
    assert resumed.range_start == DROP - RESUME_OVERLAP
    assert resumed.headers["If-Range"] == storage_server.etag(NAME)
    assert "Range" not in restarted.headers  # the overlap differed: start again from 0


async def test_a_server_ignoring_if_range_is_caught_by_the_overlap(
    tmp_path: Path,
    storage_server: StorageServer,
    storage_http: httpx.AsyncClient,
    old_version: bytes,
) -> None:
    storage_server.ignore_if_range = True
    storage_server.etag_on_partial = False  # nothing in the 206 says the object changed
    storage_server.s3_headers = False
    new_version = change_after_drop(storage_server)
    dest = tmp_path / NAME

    await download(storage_http, storage_server.url(NAME), dest)

    assert dest.read_bytes() == new_version
    assert [r.range_start for r in storage_server.requests] == [None, DROP - RESUME_OVERLAP, None]


async def test_an_unchanged_file_resumes_after_the_overlap(
    tmp_path: Path,
    storage_server: StorageServer,
    storage_http: httpx.AsyncClient,
    old_version: bytes,
) -> None:
    storage_server.drops[NAME] = [DROP]
    dest = tmp_path / NAME

    await download(storage_http, storage_server.url(NAME), dest)

    assert dest.read_bytes() == old_version
    first, second = storage_server.requests
    assert first.sent == DROP
    assert second.range_start == DROP - RESUME_OVERLAP
    assert second.sent == SIZE - DROP + RESUME_OVERLAP  # only the overlap is fetched twice


async def test_last_modified_with_length_is_a_validator(
    tmp_path: Path,
    storage_server: StorageServer,
    storage_http: httpx.AsyncClient,
    old_version: bytes,
) -> None:
    storage_server.send_etag = False
    date = "Wed, 01 Jan 2025 00:00:00 GMT"
    storage_server.last_modified[NAME] = date
    storage_server.drops[NAME] = [DROP]

    await download(storage_http, storage_server.url(NAME), tmp_path / NAME)
    assert (tmp_path / NAME).read_bytes() == old_version
    assert storage_server.requests[1].headers["If-Range"] == date

    # A new version with a new date: If-Range no longer matches, the server sends it whole.
    storage_server.requests.clear()
    new_version = change_after_drop(storage_server)
    storage_server.drops[NAME] = [DROP]

    async def bump_date(_dest: object, done: int, _total: int | None) -> None:
        storage_server.last_modified[NAME] = "Thu, 02 Jan 2025 00:00:00 GMT"

    await download(storage_http, storage_server.url(NAME), tmp_path / "b.mp4", progress=bump_date)
    assert (tmp_path / "b.mp4").read_bytes() == new_version
    assert storage_server.requests[1].headers["If-Range"] == date


async def test_retry_policy_sets_the_attempts_and_backoff(
    tmp_path: Path,
    storage_server: StorageServer,
    storage_http: httpx.AsyncClient,
    old_version: bytes,
    sleeps: list[float],
) -> None:
    storage_server.drops[NAME] = [1000] * 10
    policy = RetryPolicy(attempts=2, wait_initial=0.25, wait_jitter=False)
    with pytest.raises(DownloadError, match="after 2 attempts"):
        await download(storage_http, storage_server.url(NAME), tmp_path / NAME, retry=policy)
    assert len(storage_server.requests) == 2
    assert sleeps == [0.25]


async def test_client_download_uses_the_client_retry_policy(
    tmp_path: Path, storage_server: StorageServer, old_version: bytes, sleeps: list[float]
) -> None:
    storage_server.drops[NAME] = [1000] * 10
    retry = RetryPolicy(attempts=4, wait_initial=0.1, wait_jitter=False)
    async with AsyncTopview(api_key="sk-test", uid="uid-test", retry=retry) as client:
        with pytest.raises(DownloadError, match="after 4 attempts"):
            await client.download(storage_server.url(NAME), tmp_path / NAME)
    assert len(storage_server.requests) == 4
    assert sleeps == [0.1, 0.2, 0.4]


async def test_the_overall_deadline_raises_a_typed_timeout(
    tmp_path: Path,
    storage_server: StorageServer,
    storage_http: httpx.AsyncClient,
    old_version: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    storage_server.drops[NAME] = [1000] * 10

    async def backoff_forever(_seconds: float) -> None:
        await anyio.sleep_forever()  # only the deadline can end this download

    dest = tmp_path / NAME
    with (
        set_testing(True, sleep=backoff_forever),
        pytest.raises(DownloadTimeoutError, match="did not finish within") as caught,
    ):
        await download(
            storage_http, storage_server.url(NAME), dest, retry=RetryPolicy(timeout=0.05)
        )
    assert isinstance(caught.value, TimeoutError)
    assert "X-Amz-Signature" not in str(caught.value)
    assert list(tmp_path.iterdir()) == []

    with set_testing(True, sleep=backoff_forever), pytest.raises(DownloadTimeoutError):
        await download(storage_http, storage_server.url(NAME), dest, timeout=0.05)
    with pytest.raises(ValueError, match="timeout"):
        RetryPolicy(timeout=0)


async def test_md5_mismatch_after_a_resume_fetches_the_file_whole(
    tmp_path: Path,
    storage_server: StorageServer,
    storage_http: httpx.AsyncClient,
    old_version: bytes,
) -> None:
    # The resumed answer differs only after the overlap, so the overlap cannot see it; the
    # S3 MD5 of the finished file does, and one whole answer then settles it.
    new_version = old_version[:DROP] + os.urandom(SIZE - DROP)
    other_version = old_version[:DROP] + os.urandom(SIZE - DROP)
    storage_server.fixed_etags[NAME] = '"' + hashlib.md5(new_version).hexdigest() + '"'
    storage_server.drops[NAME] = [DROP]
    storage_server.served_in_turn[NAME] = [old_version, other_version, new_version]
    dest = tmp_path / NAME

    await download(storage_http, storage_server.url(NAME), dest)

    assert dest.read_bytes() == new_version
    assert [r.range_start for r in storage_server.requests] == [None, DROP - RESUME_OVERLAP, None]
