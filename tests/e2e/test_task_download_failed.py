"""task.download() of a failed task raises and writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from topview_async import AsyncTopview, TaskFailedError
from topview_async.testing import SimulatorConfig

from .helpers import TIME_SCALE, write_png

pytestmark = pytest.mark.anyio


@pytest.fixture
def topview_simulator_config() -> SimulatorConfig:
    # Every image-replace task fails, so download has nothing to save.
    return SimulatorConfig(
        seed=5, time_scale=TIME_SCALE, failure_probability={"product_avatar_image_replace": 1.0}
    )


async def test_task_download_of_a_failed_task_raises_and_writes_nothing(
    client: AsyncTopview, tmp_path: Path
) -> None:
    product = write_png(tmp_path / "product.png", 80, 60)
    avatars = await client.product_avatars.list_public_avatars(page_size=1)
    assert avatars.data
    task = await client.product_avatars.submit_image_replace(
        product_image_file_id=product, image_edit_prompt="x", avatar_id=avatars.data[0].avatar_id
    )

    with pytest.raises(TaskFailedError):
        await task.download(tmp_path / "out")
    assert not (tmp_path / "out").exists()
