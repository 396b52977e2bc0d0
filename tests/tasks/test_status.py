from __future__ import annotations

from typing import Any

import pytest
from _task_fakes import M2vResult, ReplaceResult, StatusResult

from topview_async.lib._status import (
    TaskState,
    evaluate,
    normalize_status,
    read_status,
    reports_finished,
)

RUNNING, SUCCEEDED, FAILED = TaskState.RUNNING, TaskState.SUCCEEDED, TaskState.FAILED


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("success", SUCCEEDED),
        ("SUCCESS", SUCCEEDED),
        (" Success ", SUCCEEDED),
        ("fail", FAILED),
        ("failed", FAILED),
        ("Failure", FAILED),
        ("error", FAILED),
        ("init", RUNNING),
        ("running", RUNNING),
        ("processing", RUNNING),
        ("pending", RUNNING),
        ("", RUNNING),
        (None, RUNNING),
        ("something-new", RUNNING),
        ("succeeded", RUNNING),  # not a documented value: never guess a success
    ],
)
def test_normalize_status(raw: object, expected: TaskState) -> None:
    assert normalize_status(raw) is expected


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (StatusResult.model_validate({"status": "running"}), "running"),
        (ReplaceResult.model_validate({"taskStatus": "success"}), "success"),
        ({"taskStatus": "failure"}, "failure"),
        ({"status": "init", "taskStatus": "success"}, "init"),  # status wins
        ({}, None),
        (None, None),
        # An unknown field kept by the model (extra="allow") under its wire name.
        (StatusResult.model_validate({"taskStatus": "fail"}), "fail"),
    ],
)
def test_read_status_prefers_status_then_task_status(result: object, expected: str | None) -> None:
    assert read_status(result) == expected


def test_failure_outcome_carries_error_msg() -> None:
    outcome = evaluate(
        "video_avatar", StatusResult.model_validate({"status": "fail", "errorMsg": "no face"})
    )
    assert outcome.state is FAILED
    assert outcome.error_msg == "no face"


def _m2v(status: str, videos: list[dict[str, Any]] | None, error: str | None = None) -> M2vResult:
    return M2vResult.model_validate({"status": status, "exportVideos": videos, "errorMsg": error})


@pytest.mark.parametrize(
    ("result", "script_id", "expected"),
    [
        # Previews ready (task status success) but no export entry yet: still running.
        (_m2v("success", None), 2, RUNNING),
        (_m2v("success", [{"scriptId": 1, "status": "success", "videoUrl": "u"}]), 2, RUNNING),
        (_m2v("success", [{"scriptId": 2, "status": "running"}]), 2, RUNNING),
        (_m2v("success", [{"scriptId": 2, "status": None}]), 2, RUNNING),
        # Success without a URL is not done yet.
        (_m2v("success", [{"scriptId": 2, "status": "success"}]), 2, RUNNING),
        (_m2v("running", [{"scriptId": 2, "status": "success", "videoUrl": "u"}]), 2, SUCCEEDED),
        (_m2v("success", [{"scriptId": 2, "status": "fail"}]), 2, FAILED),
        (_m2v("fail", None, "boom"), 2, FAILED),
        # Script 0 is Topview's default.
        (_m2v("success", [{"scriptId": 0, "status": "success", "videoUrl": "u"}]), None, SUCCEEDED),
    ],
)
def test_m2v_export_completes_by_script_id(
    result: M2vResult, script_id: int | None, expected: TaskState
) -> None:
    assert evaluate("m2v_export", result, script_id=script_id).state is expected


def test_m2v_export_reads_raw_dicts() -> None:
    raw = {
        "status": "success",
        "exportVideos": [{"scriptId": 3, "status": "fail", "errorMsg": "x"}],
    }
    outcome = evaluate("m2v_export", raw, script_id=3)
    assert (outcome.state, outcome.error_msg) == (FAILED, "x")


def test_m2v_with_previews_is_done_on_task_status() -> None:
    assert evaluate("m2v", _m2v("success", None)).state is SUCCEEDED


@pytest.mark.parametrize(
    ("kind", "result", "finished"),
    [
        ("video_avatar", {"status": "success"}, True),
        ("video_avatar", {"status": "fail"}, True),
        ("video_avatar", {"status": "running"}, False),
        ("product_avatar_image_replace", {"taskStatus": "success"}, True),
        ("scraper", {}, True),  # no status at all: neither confirms nor denies
        (
            "m2v",
            {"status": "running", "exportVideos": [{"scriptId": 1, "status": "success"}]},
            False,
        ),
        # An M2V task still rendering one export, while another finished: confirmed.
        (
            "m2v_export",
            {
                "status": "running",
                "exportVideos": [
                    {"scriptId": 1, "status": "running"},
                    {"scriptId": 2, "status": "success", "videoUrl": "https://v/2"},
                ],
            },
            True,
        ),
        ("m2v_export", {"status": "running", "exportVideos": [{"scriptId": 1}]}, False),
        ("m2v_export", {"status": "running"}, False),
    ],
)
def test_reports_finished(kind: str, result: dict[str, object], finished: bool) -> None:
    assert reports_finished(kind, result) is bool(finished)
