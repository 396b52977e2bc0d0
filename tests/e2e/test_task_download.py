"""task.download(dest_dir) saves every result file of a finished task, byte-identical."""

from __future__ import annotations

from pathlib import Path

import pytest

from topview_async import AsyncTopview
from topview_async.testing import SimulatorServer

from .helpers import file_sha256, served_sha256, write_png

pytestmark = pytest.mark.anyio


async def test_task_download_saves_every_result_image(
    client: AsyncTopview, sim: SimulatorServer, tmp_path: Path
) -> None:
    product = write_png(tmp_path / "product.png", 80, 60)
    avatars = await client.product_avatars.list_public_avatars(page_size=1)
    assert avatars.data
    task = await client.product_avatars.submit_image_replace(
        product_image_file_id=product,
        image_edit_prompt="Hold it up",
        avatar_id=avatars.data[0].avatar_id,
    )

    paths = await task.download(tmp_path / "out")  # waits for the task first

    result = await task.wait()
    assert result.product_replace_result
    urls = [item.url for item in result.product_replace_result]
    assert len(paths) == len(urls) >= 1
    assert all(path.parent == tmp_path / "out" for path in paths)
    assert all(path.name.startswith(task.task_id) for path in paths)
    assert [file_sha256(p) for p in paths] == [served_sha256(sim, u) for u in urls if u]


async def test_task_download_of_an_export_saves_only_that_script(
    client: AsyncTopview, sim: SimulatorServer, tmp_path: Path
) -> None:
    task = await client.marketing_videos.submit(
        product_link="https://shop.example/p/1", preview=True
    )
    previews = await task.wait()
    assert previews.preview_videos
    script_id = previews.preview_videos[-1].script_id
    export = await client.marketing_videos.export(task_id=task.task_id, script_id=script_id)

    paths = await export.download(tmp_path)

    finished = await export.wait()
    wanted = [v for v in finished.export_videos or [] if v.script_id == script_id]
    assert len(paths) == 1
    assert wanted
    assert wanted[0].video_url
    assert file_sha256(paths[0]) == served_sha256(sim, wanted[0].video_url)


async def test_result_files_waits_and_names_what_download_saves(
    client: AsyncTopview, sim: SimulatorServer, tmp_path: Path
) -> None:
    task = await client.marketing_videos.submit(product_link="https://shop.example/p/2")

    files = await task.result_files()  # waits for the task first

    result = await task.wait()
    exported = [video.video_url for video in result.export_videos or []]
    assert [file.url for file in files] == exported
    assert len(files) >= 1
    assert all(isinstance(file.url, str) for file in files)
    paths = await task.download(tmp_path)
    assert [path.name for path in paths] == [file.name for file in files]
    assert all(file.name.startswith(task.task_id) for file in files)
