"""The rules docs.topview.ai states for the endpoints issue 22 audited, checked on both sides:
the SDK refuses what the spec forbids before anything is sent, and the simulator refuses what
only the server can know (per-model values) with the documented code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from topview_async import (
    AsyncTopview,
    InvalidInputError,
    InvalidModelError,
    InvalidMusicRequestError,
    InvalidReferenceAudioError,
    InvalidRequestError,
)
from topview_async.testing import SimulatorServer

from .helpers import write_png

pytestmark = pytest.mark.anyio


def _submitted(sim: SimulatorServer, path: str) -> list[dict[str, Any]]:
    return [json.loads(r.body or b"{}") for r in sim.simulator.requests if r.path == path]


async def test_image_to_video_v2_needs_a_model(
    client: AsyncTopview, sim: SimulatorServer, tmp_path: Path
) -> None:
    frame = write_png(tmp_path / "frame.png")
    with pytest.raises(InvalidInputError, match="model"):
        await client.videos.submit_image_to_video(model=None, first_frame_file_id=frame)  # type: ignore[arg-type]
    assert _submitted(sim, "/v2/common_task/image2video/task/submit") == []
    # A model id as the docs page lists it and a display name as the official client sends it.
    for model in ("kling-v3", "Kling V3"):
        task = await client.videos.submit_image_to_video(model=model, first_frame_file_id=frame)
        assert sim.simulator.tasks[task.task_id].request["model"] == model


async def test_photo_avatar_modes_are_the_three_documented(client: AsyncTopview) -> None:
    with pytest.raises(InvalidInputError, match="mode"):
        await client.photo_avatars.submit(
            mode="lite",  # type: ignore[arg-type]
            script_mode="text",
            avatar_id="any",
            tts_text="Hi",
            voice_id="any",
        )


async def test_product_avatar_v2_text_script_needs_a_voice(client: AsyncTopview) -> None:
    with pytest.raises(InvalidInputError, match=r"voice_id \(\w+\) is required when"):
        await client.product_avatars.submit_image_to_video_v2(
            replace_product_task_image_id="img",
            mode="avatar2",
            script_mode="text",
            tts_text="Hello",
            caption_id="cap",
        )


async def test_storyboard_is_an_image_task_with_documented_rules(client: AsyncTopview) -> None:
    with pytest.raises(InvalidInputError, match="story"):
        await client.videos.submit_storyboard(
            story="x" * 5001, model="GPT Image 2", resolution="2K"
        )
    with pytest.raises(InvalidInputError, match="aspectRatio"):
        await client.videos.submit_storyboard(
            story="A mug",
            model="GPT Image 2",
            resolution="2K",
            aspect_ratio="4:3",  # type: ignore[arg-type]
        )
    # Only the server knows per-model and per-mode values: 4000 like Topview.
    with pytest.raises(InvalidRequestError):
        await client.videos.submit_storyboard(story="A mug", model="GPT Image 2", resolution="512p")
    with pytest.raises(InvalidRequestError):
        await client.videos.submit_storyboard(
            story="A mug", model="GPT Image 2", resolution="2K", grid_mode="preset", grid_size=7
        )
    result = await client.videos.run_storyboard(
        story="A mug", model="nano banana pro", resolution="4K", grid_mode="custom", grid_size=7
    )
    assert result.images
    assert result.images[0].file_id
    assert result.images[0].file_path


async def test_ai_music_rules_are_local_and_its_codes_are_typed(
    client: AsyncTopview, sim: SimulatorServer, tmp_path: Path
) -> None:
    # The page's rules that the spec can state are checked before anything is sent ...
    with pytest.raises(InvalidInputError, match=r"styles \(styles\) is required when"):
        await client.music.submit(model="Topview Music", instrumental=True, lyrics="la")
    with pytest.raises(InvalidInputError, match="give at least one of lyrics"):
        await client.music.submit(model="Topview Music")
    with pytest.raises(InvalidInputError, match=r"styles \(styles\) is required when"):
        await client.music.submit(model="Topview Music", lyrics="la", enhance_prompt=True)
    assert _submitted(sim, "/v1/common_task/ai_music/task/submit") == []

    # ... and the codes only Topview can decide (4012-4022) raise their own classes.
    with pytest.raises(InvalidModelError) as model_error:
        await client.music.submit(model="Beethoven 9", lyrics="la")
    assert model_error.value.code == "4012"
    with pytest.raises(InvalidMusicRequestError) as lyrics_error:
        await client.music.submit(model="Minimax Music 2.6", lyrics="la " * 1200)
    assert lyrics_error.value.code == "4015"
    image = await client.uploads.upload(write_png(tmp_path / "not-audio.png"))
    with pytest.raises(InvalidReferenceAudioError) as audio_error:
        await client.music.submit(
            model="Topview Music", styles="lofi", reference_audio={"fileId": image}
        )
    assert audio_error.value.code == "4018"
    assert isinstance(audio_error.value, InvalidRequestError)


async def test_video_object_remove_needs_a_box_around_the_object(client: AsyncTopview) -> None:
    with pytest.raises(InvalidInputError, match=r"selection_box \(selectionBox\) is required"):
        await client.video_edits.submit_object_remove(mode="clear-outside", video_file_id="v")
    with pytest.raises(InvalidInputError, match="selectionBox"):
        await client.video_edits.submit_object_remove(
            mode="clear-inside", video_file_id="v", selection_box={"x": 10, "y": 10, "w": 0, "h": 5}
        )
