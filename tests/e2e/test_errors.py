"""Error mapping over real HTTP, and bad input refused before any request is sent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from topview_async import (
    AsyncTopview,
    ClientClosedError,
    ConfigurationError,
    InsufficientCreditError,
    InvalidInputError,
    ServerBusyError,
    SubmitOutcomeUnknownError,
)
from topview_async.lib._files import (
    InvalidFileError,
    MaskSizeMismatchError,
    UnsupportedFormatError,
)
from topview_async.lib.tasks import get_task
from topview_async.testing import SimulatorServer

from .helpers import make_client, write_png

pytestmark = pytest.mark.anyio

SUBMIT = "/v1/scraper/task/submit"
LINK = "https://shop.example/products/3"


# --- error mapping ------------------------------------------------------------------------


async def test_busy_submit_is_retried_and_creates_exactly_one_task(
    client: AsyncTopview, sim: SimulatorServer
) -> None:
    fault = sim.faults.add(path=SUBMIT, business_code="5003", times=1)

    task = await client.scraper.submit(product_link=LINK)

    assert fault.hits == 1
    assert sim.simulator.requests.counts[SUBMIT] == 2
    assert list(sim.simulator.tasks) == [task.task_id]


async def test_busy_submit_keeps_failing_after_the_policy_attempts(
    client: AsyncTopview, sim: SimulatorServer
) -> None:
    sim.faults.add(path=SUBMIT, business_code="5003")

    with pytest.raises(ServerBusyError) as caught:
        await client.scraper.submit(product_link=LINK)

    assert caught.value.code == "5003"
    assert sim.simulator.requests.counts[SUBMIT] == client.retry.attempts
    assert not sim.simulator.tasks


async def test_dropped_submit_response_is_never_resent(
    client: AsyncTopview, sim: SimulatorServer
) -> None:
    sim.faults.add(path=SUBMIT, drop_connection=True, times=1)

    with pytest.raises(SubmitOutcomeUnknownError) as caught:
        await client.scraper.submit(product_link=LINK)

    assert sim.simulator.requests.counts[SUBMIT] == 1
    assert len(sim.simulator.tasks) == 1  # Topview did create it: the caller must reconcile
    sent = caught.value.request
    assert sent.method == "POST"
    assert sent.url.endswith(SUBMIT)
    assert sent.body == {"productLink": LINK}


async def test_insufficient_credit_is_typed_and_not_retried(
    client: AsyncTopview, sim: SimulatorServer
) -> None:
    sim.faults.add(path="/v1/m2v/task/submit", business_code="4100", times=1)

    with pytest.raises(InsufficientCreditError) as caught:
        await client.marketing_videos.submit(product_link=LINK)

    assert caught.value.code == "4100"
    assert sim.simulator.requests.counts["/v1/m2v/task/submit"] == 1
    assert not sim.simulator.tasks


async def test_rate_limited_submit_waits_as_told_then_succeeds(
    client: AsyncTopview, sim: SimulatorServer, fast_sdk_sleep: list[float]
) -> None:
    sim.faults.add(path=SUBMIT, http_status=429, retry_after=3, times=1)

    task = await client.scraper.submit(product_link=LINK)

    assert 3.0 in fast_sdk_sleep  # the Retry-After was honoured (the sleep itself is capped)
    assert list(sim.simulator.tasks) == [task.task_id]


async def test_failing_queries_during_a_wait_are_retried(
    client: AsyncTopview, sim: SimulatorServer
) -> None:
    task = await client.scraper.submit(product_link=LINK)
    # Two failures in a row: one short of the retry policy's three attempts.
    bad_gateway = sim.faults.add(path="/v1/scraper/task/query", http_status=502, times=1)
    dropped = sim.faults.add(path="/v1/scraper/task/query", drop_connection=True, times=1)

    result = await task.wait()

    assert result.status == "success"
    assert bad_gateway.hits == dropped.hits == 1


# --- bad input: a typed error and not a single request ---------------------------------


BadCall = Callable[[AsyncTopview, Path], Awaitable[object]]

BAD_CALLS: dict[str, tuple[BadCall, type[Exception]]] = {
    "m2v aspect ratio not in the enum": (
        lambda c, d: c.marketing_videos.submit(product_link=LINK, aspect_ratio="2:1"),  # type: ignore[arg-type]
        InvalidInputError,
    ),
    "video avatar source out of range": (
        lambda c, d: c.video_avatars.submit(
            avatar_source_from=5,  # type: ignore[arg-type]
            audio_source_from=1,
            tts_text="hello",
        ),
        InvalidInputError,
    ),
    "anyshoot generating count too high": (
        lambda c, d: c.anyshoot.submit(
            product_image_file_id="a" * 32,
            template_mask_file_id="b" * 32,
            template_id="t",
            mode="m",
            generating_count=9,
        ),
        InvalidInputError,
    ),
    "upload of an unsupported format": (
        lambda c, d: c.uploads.upload(d / "clip.gif"),
        UnsupportedFormatError,
    ),
    "upload of a missing file": (
        lambda c, d: c.uploads.upload(d / "missing.png"),
        InvalidFileError,
    ),
    "upload of an empty file": (
        lambda c, d: c.uploads.upload(d / "empty.mp4"),
        InvalidFileError,
    ),
    "upload of bytes without a format": (
        lambda c, d: c.uploads.upload(b"\x89PNG"),
        InvalidFileError,
    ),
    "upload_many with one missing file among good ones": (
        lambda c, d: c.uploads.upload_many([d / "product.png", d / "missing.png"]),
        ExceptionGroup,  # UploadManyError, listing every bad input
    ),
}


def _bad_input_files(directory: Path) -> None:
    write_png(directory / "product.png")
    (directory / "empty.mp4").write_bytes(b"")
    (directory / "clip.gif").write_bytes(b"GIF89a" + b"\x00" * 32)


@pytest.mark.parametrize("case", sorted(BAD_CALLS))
async def test_bad_input_raises_before_any_request(
    case: str, client: AsyncTopview, sim: SimulatorServer, tmp_path: Path
) -> None:
    _bad_input_files(tmp_path)
    call, error = BAD_CALLS[case]

    with pytest.raises(error):
        await call(client, tmp_path)

    assert len(sim.simulator.requests) == 0


# Bad local files given to a submit: each is refused with its own typed error before any
# request (no upload for a file that cannot go through, none for a body that is invalid).
_BAD_FILE = "a bad local file is refused as itself, not as part of an upload group"
_VALIDATE_FIRST = "the other arguments are validated before anything is uploaded"

BAD_SUBMITS: dict[str, tuple[BadCall, type[Exception], str]] = {
    "missing local file in a submit": (
        lambda c, d: c.video_avatars.submit(
            avatar_source_from=0,
            video_file_id=str(d / "missing.mp4"),
            audio_source_from=1,
            tts_text="hello",
            voiceover_id="v",
        ),
        InvalidFileError,
        _BAD_FILE,
    ),
    "empty local file in a submit": (
        lambda c, d: c.video_avatars.submit(
            avatar_source_from=0,
            video_file_id=d / "empty.mp4",
            audio_source_from=1,
            tts_text="hello",
            voiceover_id="v",
        ),
        InvalidFileError,
        _BAD_FILE,
    ),
    "unsupported local file in a submit": (
        lambda c, d: c.video_avatars.submit(
            avatar_source_from=3,
            image_file_id=d / "clip.gif",
            mode_type="1",
            audio_source_from=1,
            tts_text="hello",
            voiceover_id="v",
        ),
        UnsupportedFormatError,
        _BAD_FILE,
    ),
    "good local file but a bad enum in the same submit": (
        lambda c, d: c.product_avatars.submit_image_replace(
            product_image_file_id=d / "product.png",
            image_edit_prompt="hold it",
            avatar_id="a",
            product_size="9",  # type: ignore[arg-type]
        ),
        InvalidInputError,
        _VALIDATE_FIRST,
    ),
}


@pytest.mark.parametrize(
    "case",
    [pytest.param(name) for name in sorted(BAD_SUBMITS)],
)
async def test_bad_local_files_in_a_submit_raise_before_any_request(
    case: str, client: AsyncTopview, sim: SimulatorServer, tmp_path: Path
) -> None:
    _bad_input_files(tmp_path)
    call, error, _ = BAD_SUBMITS[case]

    with pytest.raises(error):
        await call(client, tmp_path)

    assert len(sim.simulator.requests) == 0


async def test_client_misuse_raises_before_any_request(sim: SimulatorServer) -> None:
    with pytest.raises(ConfigurationError):
        AsyncTopview(api_key=sim.api_key, uid="", base_url=sim.base_url)
    client = make_client(sim)
    await client.aclose()
    with pytest.raises(ClientClosedError):
        await client.scraper.submit(product_link=LINK)
    with pytest.raises(ValueError, match="unknown task kind"):
        get_task(client, "no_such_kind", "a" * 32)
    assert len(sim.simulator.requests) == 0


async def test_anyshoot_mask_of_another_pixel_size_is_refused_before_any_request(
    client: AsyncTopview, sim: SimulatorServer, tmp_path: Path
) -> None:
    product = write_png(tmp_path / "product.png", 64, 48)
    product_mask = write_png(tmp_path / "product_mask.png", 48, 64)
    template = write_png(tmp_path / "template.png", 90, 160)
    template_mask = write_png(tmp_path / "template_mask.png", 90, 160)

    with pytest.raises(MaskSizeMismatchError) as caught:
        await client.anyshoot.submit(
            product_image_file_id=product,
            product_mask_file_id=product_mask,
            template_image_file_id=template,
            template_mask_file_id=template_mask,
            mode="default",
        )

    assert caught.value.path == product_mask
    assert caught.value.image_size == (64, 48)
    assert caught.value.mask_size == (48, 64)
    assert len(sim.simulator.requests) == 0


async def test_local_files_off_sends_strings_as_file_ids(
    sim: SimulatorServer, tmp_path: Path
) -> None:
    from topview_async import AsyncTopview, NotFoundError

    (tmp_path / "me.mp4").write_bytes(b"not read")
    async with AsyncTopview(
        api_key=sim.api_key, uid=sim.uid, base_url=sim.base_url, local_files=False
    ) as guarded:
        with pytest.raises(NotFoundError):
            await guarded.video_avatars.submit(
                avatar_source_from=0,
                video_file_id=str(tmp_path / "me.mp4"),
                audio_source_from=1,
                tts_text="hello",
                voiceover_id="v",
            )

    paths = [request.path for request in sim.simulator.requests]
    assert paths == ["/v1/video_avatar/task/submit"]  # no upload: the string went as an id
