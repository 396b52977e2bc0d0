"""Uploads and downloads against the simulator's presigned storage and media URLs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import anyio
import pytest

from topview_async import AsyncTopview
from topview_async.lib.downloads import RESUME_OVERLAP
from topview_async.testing import SimulatorServer

from .helpers import file_sha256, media_name, requests_to, served_sha256, write_png

pytestmark = pytest.mark.anyio

MEDIA_SIZE = 3 * 1024 * 1024 + 12_345
"""Several download chunks, and not a multiple of any chunk size."""


async def _finished_video_url(client: AsyncTopview) -> str:
    task = await client.scraper.submit(product_link="https://shop.example/products/1")
    result = await task.wait()
    assert result.product_videos
    assert result.product_videos[0].file_url
    return result.product_videos[0].file_url


async def test_upload_gets_a_fresh_credential_when_the_url_has_expired(
    client: AsyncTopview, sim: SimulatorServer, tmp_path: Path
) -> None:
    fault = sim.faults.add(name="getUploadCredential", expired_upload_url=True, times=1)
    image = write_png(tmp_path / "shot.png")

    file_id = await client.uploads.upload(image)

    assert fault.hits == 1
    credentials = requests_to(sim, "/v1/upload/credential")
    puts = requests_to(sim, "/_storage/upload/", "PUT")
    checks = requests_to(sim, "/v1/upload/check")
    assert len(credentials) == 2
    assert len(puts) == 2
    assert [c.query.get("fileId") for c in checks] == [file_id]
    # The first PUT went to the expired URL (and was refused); the second to the fresh one.
    assert puts[1].path == f"/_storage/upload/{file_id}.png"
    assert puts[0].path != puts[1].path
    assert sim.simulator.uploads[file_id].data == image.read_bytes()
    expired_id = puts[0].path.rsplit("/", 1)[-1].split(".")[0]
    assert sim.simulator.uploads[expired_id].data is None


async def test_download_resumes_after_a_drop_mid_body(
    client: AsyncTopview, sim: SimulatorServer, tmp_path: Path
) -> None:
    sim.simulator.media_size = MEDIA_SIZE
    url = await _finished_video_url(client)
    cut = 1_000_000
    fault = sim.faults.add(path="/_storage/media/*", method="GET", truncate_body=cut, times=1)

    dest = await client.download(url, tmp_path / "video.mp4")

    assert fault.hits == 1
    assert dest.stat().st_size == MEDIA_SIZE
    assert file_sha256(dest) == served_sha256(sim, url)
    gets = requests_to(sim, "/_storage/media/", "GET")
    assert len(gets) == 2
    assert gets[0].header("range") is None
    # Everything received is kept; the resume re-reads only the overlap it compares.
    assert gets[1].header("range") == f"bytes={cut - RESUME_OVERLAP}-"
    assert gets[1].header("if-range") == sim.simulator.media.etag(media_name(url), MEDIA_SIZE)
    assert [p.name for p in tmp_path.iterdir()] == ["video.mp4"]  # no .part file left


async def test_download_from_the_cdn_url_with_a_drop_right_after_the_headers(
    client: AsyncTopview, sim: SimulatorServer, tmp_path: Path
) -> None:
    sim.simulator.media_size = MEDIA_SIZE
    task = await client.scraper.submit(product_link="https://shop.example/products/2")
    await task.wait()
    result = await client.scraper.query(task_id=task.task_id, need_cloud_front_url=True)
    assert result.product_videos
    assert result.product_videos[0].file_url
    url = result.product_videos[0].file_url
    assert "/_cdn/media/" in url
    sim.faults.add(path="/_cdn/media/*", drop_connection=True, times=1)

    dest = await client.download(url, tmp_path / "cdn.mp4")

    assert file_sha256(dest) == served_sha256(sim, url)
    assert len(requests_to(sim, "/_cdn/media/", "GET")) == 2


async def test_cancelled_download_leaves_nothing_behind(
    client: AsyncTopview, sim: SimulatorServer, tmp_path: Path
) -> None:
    sim.simulator.media_size = MEDIA_SIZE
    url = await _finished_video_url(client)
    dest = tmp_path / "video.mp4"
    seen: list[int] = []

    with anyio.CancelScope() as scope:

        def progress(item: object, received: int, total: int | None) -> None:
            seen.append(received)
            if 0 < received < MEDIA_SIZE:
                scope.cancel()  # mid-body: some bytes are on disk, most are not

        await client.download(url, dest, progress=progress)

    assert scope.cancelled_caught
    assert seen
    assert 0 < seen[-1] < MEDIA_SIZE
    assert list(tmp_path.iterdir()) == []  # neither the destination nor a .part file

    # The client is still usable and the next download is complete.
    again = await client.download(url, dest)
    assert hashlib.sha256(again.read_bytes()).hexdigest() == served_sha256(sim, url)
