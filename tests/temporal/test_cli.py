"""``topview batch run --engine temporal``: usage errors before anything is started."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from topview_async.cli import main


@pytest.fixture
def jobs_file(tmp_path: Path) -> Path:
    path = tmp_path / "jobs.jsonl"
    path.write_text(json.dumps({"key": "a", "kind": "m2v", "params": {}}) + "\n")
    return path


@pytest.mark.parametrize(
    "extra",
    [
        ["--engine", "nope"],
        ["--engine", "temporal", "--max-credits", "5"],
        ["--engine", "temporal", "--notice-url", "https://example.test/notice?token=x"],
    ],
)
def test_options_the_temporal_engine_cannot_honour_are_usage_errors(
    jobs_file: Path, tmp_path: Path, extra: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["batch", "run", str(jobs_file), "--out", str(tmp_path / "out"), *extra])
    assert code == 2
    assert not (tmp_path / "out").exists()


def test_an_unknown_kind_is_refused_before_connecting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("temporalio", reason="the temporal extra is not installed")
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(json.dumps({"key": "a", "kind": "nope", "params": {}}) + "\n")
    # Port 9 (discard) on loopback: nothing listens, and nothing is tried before the check.
    code = main(
        ["batch", "run", str(jobs), "--out", str(tmp_path), "--engine", "temporal",
         "--temporal-address", "127.0.0.1:9"]
    )  # fmt: skip
    assert code == 2
    assert "unknown task kind 'nope'" in capsys.readouterr().err
