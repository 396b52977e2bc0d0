"""Uploads and downloads retry through the SDK's one retry loop (issue 21.3).

So testing mode's attempt cap, ``retry=None``, the ``on_retry`` hook and the Retry-After
limit hold for them exactly as for API calls (tests/core/test_retry_loop.py).
"""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
from transfer_server import FakeUploadApi, StorageServer

from topview_async import AsyncTopview, DownloadError, RetryEvent, RetryPolicy, UploadError
from topview_async.lib.downloads import download
from topview_async.lib.uploads import upload
from topview_async.testing import set_testing

pytestmark = pytest.mark.anyio

NAME = "video.mp4"


@pytest.fixture
def old_version(storage_server: StorageServer) -> bytes:
    data = bytes(range(256)) * 40
    storage_server.files[NAME] = data
    return data


async def test_testing_mode_caps_the_attempts_of_a_download_cut_every_time(
    tmp_path: Path,
    storage_server: StorageServer,
    storage_http: httpx.AsyncClient,
    old_version: bytes,
) -> None:
    storage_server.drops[NAME] = [1000] * 10
    with set_testing(True, attempts=1), pytest.raises(DownloadError, match="after 1 attempt:"):
        await download(storage_http, storage_server.url(NAME), tmp_path / NAME)
    assert len(storage_server.requests) == 1  # the download default allows 5 attempts


async def test_testing_mode_caps_client_download_attempts(
    tmp_path: Path, storage_server: StorageServer, old_version: bytes
) -> None:
    storage_server.drops[NAME] = [1000] * 10
    async with AsyncTopview(api_key="sk-test", uid="uid-test") as client:
        with set_testing(True, attempts=1), pytest.raises(DownloadError):
            await client.download(storage_server.url(NAME), tmp_path / NAME)
    assert len(storage_server.requests) == 1  # the client's policy allows 3


async def test_download_retries_are_logged_and_reach_the_hook(
    tmp_path: Path,
    storage_server: StorageServer,
    storage_http: httpx.AsyncClient,
    old_version: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="topview_async")
    storage_server.drops[NAME] = [1000]
    events: list[RetryEvent] = []
    policy = RetryPolicy(wait_initial=0.25, wait_jitter=0.0, on_retry=events.append)
    path = await download(storage_http, storage_server.url(NAME), tmp_path / NAME, retry=policy)
    assert path.read_bytes() == old_version
    assert [(e.operation, e.attempt, e.wait) for e in events] == [("download", 1, 0.25)]
    assert isinstance(events[0].cause, httpx.TransportError)
    assert any("retrying download after attempt 1" in r.message for r in caplog.records)


async def test_a_download_told_to_retry_after_too_long_stops_carrying_it(
    tmp_path: Path, sleeps: list[float]
) -> None:
    requests: list[httpx.Request] = []

    def busy(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(503, headers={"Retry-After": "3600"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(busy)) as http:
        with pytest.raises(DownloadError) as caught:
            await download(http, "https://cdn.test/v.mp4", tmp_path / "v.mp4")
    assert caught.value.retry_after == 3600.0
    assert caught.value.status_code == 503
    assert len(requests) == 1
    assert sleeps == []


async def test_upload_puts_and_checks_reach_the_hook(
    tmp_path: Path,
    storage_server: StorageServer,
    storage_http: httpx.AsyncClient,
    upload_api: FakeUploadApi,
) -> None:
    source = tmp_path / "voice.wav"
    source.write_bytes(b"x" * 100)
    storage_server.fail_next = 1
    upload_api.check_answers = [False]
    events: list[RetryEvent] = []
    policy = RetryPolicy(wait_initial=0.5, wait_jitter=0.0, on_retry=events.append)
    assert await upload(upload_api, storage_http, source, retry=policy) == "file-1"
    assert [(e.operation, e.attempt, e.wait) for e in events] == [
        ("upload", 1, 0.5),
        ("upload check", 1, 0.5),
    ]
    assert isinstance(events[1].cause, UploadError)


async def test_retry_none_makes_one_download_attempt(
    tmp_path: Path, storage_server: StorageServer, old_version: bytes
) -> None:
    storage_server.drops[NAME] = [1000] * 10
    async with AsyncTopview(api_key="sk-test", uid="uid-test", retry=None) as client:
        with pytest.raises(DownloadError):
            await client.download(storage_server.url(NAME), tmp_path / NAME)
    assert len(storage_server.requests) == 1
