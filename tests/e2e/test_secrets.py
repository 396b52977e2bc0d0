"""Credentials stay where they belong: in Topview API headers, never in logs or storage calls."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from topview_async import AsyncTopview, NotFoundError
from topview_async.testing import SimulatorServer

from .helpers import requests_to, write_png

pytestmark = pytest.mark.anyio

LOGGERS = ("", "topview_async", "httpx", "httpcore", "aiohttp", "asyncio", "uvicorn")


async def _full_flow(client: AsyncTopview, sim: SimulatorServer, directory: Path) -> None:
    """Upload (with one expired URL), submit, wait (with a retried query), download, fail."""
    sim.faults.add(name="getUploadCredential", expired_upload_url=True, times=1)
    sim.faults.add(path="/v1/product_avatar/task/image_replace/result", http_status=503, times=1)
    sim.faults.add(path="/_storage/media/*", truncate_body=10_000, times=1)
    avatars = await client.product_avatars.list_public_avatars()
    assert avatars.data
    replaced = await client.product_avatars.run_image_replace(
        product_image_file_id=write_png(directory / "product.png"),
        image_edit_prompt="hold it",
        avatar_id=avatars.data[0].avatar_id,
    )
    assert replaced.product_replace_result
    first = replaced.product_replace_result[0]
    assert first.key
    assert first.url
    await client.download(first.url, directory / "replaced.jpg")
    video = await client.product_avatars.run_image_to_video(
        product_replace_result_key=first.key, mode="pro"
    )
    assert video.video_url
    await client.download(video.video_url, directory / "video.mp4")
    with pytest.raises(NotFoundError) as caught:
        await client.scraper.query(task_id="0" * 32)
    assert sim.api_key not in f"{caught.value!s} {caught.value!r}"
    assert sim.uid not in f"{caught.value!s} {caught.value!r}"


async def test_debug_logs_of_a_full_flow_hold_neither_key_nor_uid(
    client: AsyncTopview,
    sim: SimulatorServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)

    await _full_flow(client, sim, tmp_path)

    sdk_records = [r for r in caplog.records if r.name.startswith("topview_async")]
    assert any(r.getMessage().startswith("retrying") for r in sdk_records)  # retries logged
    assert len(sdk_records) >= 5
    everything = caplog.text + "\n".join(
        f"{r.getMessage()} {r.args!r} {r.__dict__!r}" for r in caplog.records
    )
    for secret in (sim.api_key, sim.uid):
        assert secret not in everything
    assert sim.api_key not in repr(client)
    assert sim.uid not in repr(client)


async def test_storage_and_media_requests_carry_no_credentials(
    client: AsyncTopview, sim: SimulatorServer, tmp_path: Path
) -> None:
    await _full_flow(client, sim, tmp_path)

    storage = requests_to(sim, "/_storage/upload/", "PUT")
    media = requests_to(sim, "/_storage/media/", "GET")
    assert len(storage) == 2  # the expired URL and the fresh one
    assert len(media) == 3  # the image twice (resumed after the drop), then the video
    for request in storage + media:
        assert request.header("authorization") is None, request.path
        assert request.header("topview-uid") is None, request.path
    # The same client did authenticate its Topview API calls.
    api = requests_to(sim, "/v1/")
    assert api
    for request in api:
        assert request.header("authorization") == f"Bearer {sim.api_key}"
        assert request.header("topview-uid") == sim.uid
