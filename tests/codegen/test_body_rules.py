"""Bad input is refused before any request or upload, naming the Python argument (issue 11.5,
11.6): required arguments given as None, and the cross-field rules of the spec's x-sdk-rules."""

from __future__ import annotations

import struct
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from topview_async import AsyncTopview
from topview_async._exceptions import InvalidInputError
from topview_async._generated.rules import BODY_RULES

pytestmark = pytest.mark.anyio


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


class Counter:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(500)


@pytest.fixture
async def counted() -> AsyncIterator[tuple[AsyncTopview, Counter]]:
    counter = Counter()
    client = AsyncTopview(
        api_key="k", uid="u", base_url="http://127.0.0.1:9", transport=httpx.MockTransport(counter)
    )
    uploads: list[Any] = []

    async def no_upload(*args: Any, **kwargs: Any) -> list[str]:
        uploads.append(args)
        raise AssertionError("nothing may be uploaded")

    client.uploads.upload_many = no_upload  # type: ignore[method-assign]
    async with client:
        yield client, counter
    assert not uploads


@pytest.fixture
def images(tmp_path: Path) -> list[Path]:
    paths = []
    for n in range(11):
        path = tmp_path / f"shot_{n}.png"
        path.write_bytes(_png())
        paths.append(path)
    return paths


async def test_a_required_query_argument_given_as_none_is_refused(
    counted: tuple[AsyncTopview, Counter],
) -> None:
    client, counter = counted
    with pytest.raises(InvalidInputError, match=r"task_id is required by queryM2vTask"):
        await client.marketing_videos.query(task_id=None)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match=r"file_id is required"):
        await client.uploads.check(file_id=None)  # type: ignore[arg-type]
    assert counter.requests == []


M2V_CASES: list[tuple[str, dict[str, Any], str]] = [
    (
        "no source",
        {"product_name": "n", "product_description": "d"},
        r"at least one of product_link \(productLink\), file_ids",
    ),
    (
        "no name",
        {"product_description": "d"},
        r"product_name \(productName\) is required when product_link",
    ),
    (
        "no description",
        {"product_name": "n"},
        r"product_description \(productDescription\) is required",
    ),
    (
        "too few images",
        {"product_name": "n", "product_description": "d", "few": True},
        r"file_ids \(fileIds\) needs at least 11 items, got 3",
    ),
]


@pytest.mark.parametrize(("case", "arguments", "message"), M2V_CASES, ids=[c[0] for c in M2V_CASES])
async def test_m2v_rules_cost_no_request_and_no_upload(
    counted: tuple[AsyncTopview, Counter],
    images: list[Path],
    case: str,
    arguments: dict[str, Any],
    message: str,
) -> None:
    client, counter = counted
    arguments = dict(arguments)
    if case != "no source":
        arguments["file_ids"] = images[:3] if arguments.pop("few", False) else images
    with pytest.raises(InvalidInputError, match=message):
        await client.marketing_videos.submit(**arguments)
    assert counter.requests == []


async def test_m2v_rules_also_hold_for_file_ids(counted: tuple[AsyncTopview, Counter]) -> None:
    client, counter = counted
    with pytest.raises(InvalidInputError, match="needs at least 11 items, got 2"):
        await client.marketing_videos.submit(
            file_ids=["a" * 32, "b" * 32], product_name="n", product_description="d"
        )
    # A DIY script needs no description; a product link needs nothing else.
    with pytest.raises(InvalidInputError, match="needs at least 11 items"):
        await client.marketing_videos.submit(
            file_ids=["a" * 32], product_name="n", is_diy_script=True
        )
    assert counter.requests == []


VIDEO_AVATAR_CASES: list[tuple[dict[str, Any], str]] = [
    (
        {"avatar_source_from": 0, "audio_source_from": 1, "tts_text": "hi", "voiceover_id": "v"},
        "video_file_id",
    ),
    ({"avatar_source_from": 1, "audio_source_from": 1, "tts_text": "hi"}, "ai_avatar_id"),
    (
        {"avatar_source_from": 3, "audio_source_from": 1, "tts_text": "hi", "voiceover_id": "v"},
        "image_file_id",
    ),
    ({"avatar_source_from": 1, "ai_avatar_id": "a", "audio_source_from": 0}, "audio_file_id"),
    ({"avatar_source_from": 1, "ai_avatar_id": "a", "audio_source_from": 1}, "tts_text"),
    (
        {"avatar_source_from": 2, "ai_avatar_id": "a", "audio_source_from": 1, "tts_text": "hi"},
        "voiceover_id",
    ),
]


@pytest.mark.parametrize(
    ("arguments", "missing"), VIDEO_AVATAR_CASES, ids=[c[1] for c in VIDEO_AVATAR_CASES]
)
async def test_video_avatar_rules_cost_no_request(
    counted: tuple[AsyncTopview, Counter],
    images: list[Path],
    arguments: dict[str, Any],
    missing: str,
) -> None:
    client, counter = counted
    if missing != "image_file_id":
        arguments = {**arguments, "image_file_id": images[0]}  # a local file: never uploaded
    with pytest.raises(InvalidInputError, match=rf"{missing} \(\w+\) is required when"):
        await client.video_avatars.submit(**arguments)
    assert counter.requests == []


def test_rules_come_from_the_spec() -> None:
    assert set(BODY_RULES) == {
        "M2vSubmitRequest",
        "VideoAvatarSubmitRequest",
        "ImageToVideoV2Request",
        "PhotoAvatarRequest",
        "ProductAvatarImageToVideoV2Request",
        "AiMusicRequest",
        "VideoObjectRemoveRequest",
    }


@pytest.mark.parametrize("script_id", ["first", -1, "-2"])
async def test_an_export_script_id_that_is_not_a_number_is_refused(
    counted: tuple[AsyncTopview, Counter], script_id: int | str
) -> None:
    # scriptId is an integer or a string on the wire (CORRECTIONS #7); the export's handle
    # needs the number, so anything else is refused before the export is submitted.
    client, counter = counted
    with pytest.raises(InvalidInputError, match="script_id must be a non-negative integer"):
        await client.marketing_videos.export(task_id="a" * 32, script_id=script_id)
    assert counter.requests == []
