"""Lenient mode (``strict_responses=False``): results that miss the spec still come back as
the declared type, built without validation, never as plain dicts."""

from __future__ import annotations

from typing import Any

import pytest

from topview_async import ResponseValidationError
from topview_async.lib._media import result_files
from topview_async.lib._status import TaskState, evaluate, read_field
from topview_async.types import Caption, M2vScript, M2vTaskResult, M2vVideo

from .helpers import Recorder, make_client, ok

pytestmark = pytest.mark.anyio

GOOD_VIDEO = {"scriptId": 1, "videoUrl": "https://cdn.test/1.mp4", "title": "one"}


def m2v(**fields: Any) -> dict[str, Any]:
    return {"taskId": "t1", "status": "success", "exportVideos": [GOOD_VIDEO], **fields}


async def query(result: object, *, strict: bool = False) -> M2vTaskResult:
    async with make_client(Recorder(ok(result)), strict_responses=strict) as client:
        return await client.marketing_videos.query(task_id="t1")


async def test_a_broken_nested_field_keeps_the_models_around_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = {"scriptId": 2, "videoUrl": 7, "videoDuration": "long"}
    result = await query(m2v(exportVideos=[GOOD_VIDEO, broken, "junk"]))

    assert type(result) is M2vTaskResult
    assert result.task_id == "t1"
    good, bad, junk = result.export_videos or []
    assert isinstance(good, M2vVideo)
    assert good.video_url == "https://cdn.test/1.mp4"
    assert isinstance(bad, M2vVideo)
    assert (bad.script_id, bad.video_url, bad.video_duration) == (2, 7, "long")  # as received
    assert junk == "junk"  # an item that is not even an object is kept as it is
    assert "queryM2vTask does not match the spec" in caplog.text


async def test_a_wrong_type_is_kept_and_the_rest_validated() -> None:
    result = await query(m2v(status=5, previewVideos="oops", errorMsg=None))

    assert type(result) is M2vTaskResult
    assert result.status == 5
    assert result.preview_videos == "oops"
    assert isinstance(result.export_videos, list)
    assert isinstance(result.export_videos[0], M2vVideo)  # valid fields are still models


async def test_a_missing_required_field_reads_as_none() -> None:
    result = await query({"status": "running", "exportVideos": None})

    assert type(result) is M2vTaskResult
    assert result.task_id is None  # required in the spec, absent on the wire
    assert result.status == "running"
    assert "task_id" not in result.model_fields_set


async def test_unknown_fields_stay_in_model_extra_under_their_wire_names() -> None:
    result = await query(m2v(status=5, brandNew={"nested": [1, 2]}))

    assert result.model_extra == {"brandNew": {"nested": [1, 2]}}
    assert result.model_dump(by_alias=True, warnings=False)["brandNew"] == {"nested": [1, 2]}


async def test_the_task_helpers_read_lenient_models() -> None:
    broken = {"scriptId": 2, "videoUrl": 7}
    result = await query(m2v(exportVideos=[broken, GOOD_VIDEO], productName=["not", "text"]))

    assert read_field(result, "task_id", "taskId") == "t1"
    assert evaluate("m2v", result).state is TaskState.SUCCEEDED
    # A URL that is not a string is no file: ResultFile.url stays a str.
    files = result_files("m2v", "t1", result)
    assert [file.url for file in files] == ["https://cdn.test/1.mp4"]


async def test_lists_and_unions_are_built_item_by_item() -> None:
    captions = [{"captionId": "c1", "thumbnail": 3}, {"captionId": "c2"}]
    scripts = {"scriptId": "not a number", "scriptContents": "none"}
    async with make_client(Recorder(ok(captions), ok(scripts)), strict_responses=False) as client:
        listed = await client.captions.list()
        script = await client.marketing_videos.list_scripts(task_id="t1")

    assert [type(item) for item in listed] == [Caption, Caption]
    assert listed[0].thumbnail == 3
    assert type(script) is M2vScript  # the object member of list[M2vScript] | M2vScript
    assert (script.script_id, script.script_contents) == ("not a number", "none")


async def test_a_rebuilt_task_handle_gets_a_lenient_model() -> None:
    recorder = Recorder(ok({"status": "success", "exportVideos": [{"videoUrl": 7}]}))
    async with make_client(recorder, strict_responses=False) as client:
        result = await client.tasks.get("m2v", "t1").refresh()
    assert type(result) is M2vTaskResult


@pytest.mark.parametrize(
    ("endpoint", "result"),
    [
        ("query", ["an", "array"]),  # a model needs an object
        ("query", "text"),
        ("captions", {"captionId": "c1"}),  # a list needs a list
        ("captions", [{"captionId": "c1"}, "not an object"]),  # and its items objects
        ("check", {"ok": True}),  # bool | str | None: nothing to build from an object
    ],
)
async def test_a_result_of_the_wrong_shape_raises_even_when_lenient(
    endpoint: str, result: object
) -> None:
    async with make_client(Recorder(ok(result)), strict_responses=False) as client:
        calls = {
            "query": lambda: client.marketing_videos.query(task_id="t1"),
            "captions": client.captions.list,
            "check": lambda: client.uploads.check(file_id="f1"),
        }
        with pytest.raises(ResponseValidationError) as caught:
            await calls[endpoint]()
    assert "not buildable leniently" in str(caught.value)
    assert caught.value.body


async def test_strict_mode_still_raises() -> None:
    with pytest.raises(ResponseValidationError):
        await query(m2v(status=5), strict=True)
