"""``client.download`` against the simulator's lying media server (its fault kinds)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from topview_async import AsyncTopview
from topview_async.lib.downloads import RESUME_OVERLAP
from topview_async.testing import SimulatorConfig, SimulatorServer

pytestmark = pytest.mark.anyio

NAME = "clip.mp4"
PATH = f"/_storage/media/{NAME}"
SIZE = 512 * 1024
CUT = 200_000


@pytest.fixture
async def server() -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer(SimulatorConfig(seed=3, media_size=SIZE)) as running:
        yield running


@pytest.fixture
async def client(server: SimulatorServer) -> AsyncIterator[AsyncTopview]:
    async with AsyncTopview(
        api_key=server.api_key, uid=server.uid, base_url=server.base_url
    ) as topview:
        yield topview


def range_starts(server: SimulatorServer) -> list[int | None]:
    starts: list[int | None] = []
    for record in server.simulator.requests.for_path(PATH, "GET"):
        value = record.header("range")
        starts.append(int(value.removeprefix("bytes=").rstrip("-")) if value else None)
    return starts


@pytest.mark.parametrize(
    ("how", "expected_starts"),
    [
        # If-Range carries the old ETag: the server answers 200 with the new version.
        ("new_etag", [None, CUT - RESUME_OVERLAP]),
        # Same ETag, new bytes: the overlap differs, the download starts again from 0.
        ("same_etag", [None, CUT - RESUME_OVERLAP, None]),
        # No validator at all: no resume, a whole new request.
        ("no_etag", [None, None]),
    ],
)
async def test_a_file_changing_mid_download_is_never_spliced(
    server: SimulatorServer,
    client: AsyncTopview,
    tmp_path: Path,
    how: str,
    expected_starts: list[int | None],
) -> None:
    server.faults.add(path=PATH, truncate_body=CUT, change_content=how, times=1)

    dest = await client.download(f"{server.base_url}{PATH}", tmp_path / NAME)

    media = server.simulator.media
    assert media.version(NAME) == 1
    assert dest.read_bytes() == media.read(NAME, 0, SIZE - 1)  # wholly the new version
    assert range_starts(server) == expected_starts


@pytest.mark.parametrize("fault", ["ignore_range", "ignore_if_range"])
async def test_servers_ignoring_range_or_if_range(
    server: SimulatorServer, client: AsyncTopview, tmp_path: Path, fault: str
) -> None:
    # Dropped mid-body and changed (new ETag); the resume then meets a server that ignores
    # Range (a whole 200 answer) or If-Range (a 206 of the new bytes under a new ETag).
    server.faults.add(path=PATH, truncate_body=CUT, change_content="new_etag", times=1)
    server.faults.add(path=PATH, times=1, **{fault: True})

    dest = await client.download(f"{server.base_url}{PATH}", tmp_path / NAME)

    assert dest.read_bytes() == server.simulator.media.read(NAME, 0, SIZE - 1)
    assert range_starts(server)[1] == CUT - RESUME_OVERLAP
