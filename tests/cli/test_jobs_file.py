"""A jobs file is checked whole before the first submit (issue 20.2).

Every bad line is listed with its number, the command exits 2, nothing reaches the simulator
and no journal (no output directory) is created.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from topview_async import AsyncTopview, InvalidInputError
from topview_async.cli import main
from topview_async.jobs import Job, JobsFileError, load_jobs, read_jobs
from topview_async.testing import SimulatorConfig, SimulatorServer

from .helpers import write_jobs


@pytest.fixture
def topview_simulator_config() -> SimulatorConfig:
    return SimulatorConfig(seed=3, time_scale=200.0, media_size=2048)


@pytest.fixture
def env(topview_simulator: SimulatorServer, monkeypatch: pytest.MonkeyPatch) -> SimulatorServer:
    monkeypatch.setenv("TOPVIEW_BASE_URL", topview_simulator.base_url)
    monkeypatch.setenv("TOPVIEW_API_KEY", topview_simulator.api_key)
    monkeypatch.setenv("TOPVIEW_UID", topview_simulator.uid)
    return topview_simulator


def batch_run(jobs: Path, out: Path) -> int:
    args = ["batch", "run", str(jobs), "--out", str(out), "--poll-interval", "0.01"]
    return main([*args, "--no-progress"])


def m2v(key: object, **params: object) -> str:
    return json.dumps({"key": key, "kind": "m2v", "params": params}, ensure_ascii=False)


GOOD = m2v("good-1", product_link="https://shop.test/1")

BAD_LINES = {
    # line text -> what the error line must say
    json.dumps({"key": "abc\n", "kind": "m2v", "params": {"product_link": "x"}}): "'abc\\n'",
    json.dumps({"key": None, "kind": "m2v", "params": {"product_link": "x"}}): "got null",
    json.dumps({"key": 7, "kind": "m2v", "params": {"product_link": "x"}}): "the number 7",
    json.dumps({"key": "p1", "kind": "m2v", "params": []}): "params must be an object",
    json.dumps({"key": "p2", "kind": "m2v", "params": 0}): "params must be an object",
    json.dumps({"key": "p3", "kind": "m2v", "params": ""}): "params must be an object",
    json.dumps({"key": "p4", "kind": "m2v", "params": False}): "params must be an object",
    json.dumps(
        {"key": "k1", "kind": "m2vv", "params": {}}
    ): "unknown task kind 'm2vv' (did you mean 'm2v'?)",
    m2v("typo", product_lnk="https://shop.test/2"): "did you mean 'product_link'",
    m2v("enum", product_link="https://shop.test/3", aspect_ratio="2:1"): "aspectRatio",
    m2v("rule"): "give at least one of product_link",
    m2v("type", product_link=5): "productLink",
    m2v("file", file_ids=["missing.png"], product_name="n", product_description="d"): (
        "missing.png: file does not exist"
    ),
    json.dumps(
        {"key": "i2v", "kind": "image_to_video", "params": {"image_file_id": "0" * 32}}
    ): "needs duration, mode, generating_count",
    "{not json}": "not valid JSON",
    GOOD: "used twice (first on line 1)",
}


def test_every_bad_line_is_listed_and_nothing_is_sent(
    env: SimulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs, out = tmp_path / "jobs.jsonl", tmp_path / "out"
    lines = [GOOD, *BAD_LINES, m2v("good-2", product_link="https://shop.test/4")]
    jobs.write_text("\n".join(lines) + "\n")
    assert batch_run(jobs, out) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {jobs}: {len(BAD_LINES)} bad lines; nothing was submitted\n")
    reported = err.splitlines()[1:]
    assert len(reported) == len(BAD_LINES)
    for number, (report, expected) in enumerate(zip(reported, BAD_LINES.values(), strict=True)):
        assert report.startswith(f"  {jobs}:{number + 2}: "), report
        assert expected in report, report
    assert "Traceback" not in err
    assert "TypeError" not in err
    assert not out.exists()  # no journal, no output directory
    assert list(env.simulator.requests) == []


def test_a_file_that_is_not_utf8_names_its_line(
    env: SimulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs, out = tmp_path / "jobs.jsonl", tmp_path / "out"
    jobs.write_bytes((GOOD + "\n").encode() + m2v("caf\xe9").encode("latin-1") + b"\n")
    assert batch_run(jobs, out) == 2
    err = capsys.readouterr().err
    assert f"{jobs}:2: not UTF-8 text" in err
    assert "UnicodeDecodeError" not in err
    assert not out.exists()


@pytest.mark.parametrize("case", ["missing", "directory", "out-is-a-file"])
def test_paths_are_usage_errors_in_plain_words(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs, out = tmp_path / "jobs.jsonl", tmp_path / "out"
    write_jobs(jobs, 1)
    if case == "missing":
        jobs = tmp_path / "nope.jsonl"
    elif case == "directory":
        jobs = tmp_path
    else:
        out.write_text("a file")
    assert batch_run(jobs, out) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("error: ")
    assert "Errno" not in err
    expected = {
        "missing": "does not exist",
        "directory": "is a directory",
        "out-is-a-file": "is a file",
    }
    assert expected[case] in err


def test_an_empty_jobs_file_says_there_is_nothing_to_do(
    env: SimulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs, out = tmp_path / "jobs.jsonl", tmp_path / "out"
    jobs.write_text("# no jobs yet\n\n")
    assert batch_run(jobs, out) == 0
    assert capsys.readouterr().out == f"no jobs in {jobs}: nothing to do\n"
    assert not out.exists()


def test_read_jobs_and_job_apply_the_key_rule_exactly(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="key"):
        Job("abc\n", "m2v", {})
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(m2v("abc\n", product_link="x") + "\n" + m2v("_x", product_link="x") + "\n")
    with pytest.raises(JobsFileError) as caught:
        read_jobs(jobs)
    assert [p.split(": ")[0] for p in caught.value.problems] == [f"{jobs}:1", f"{jobs}:2"]


@pytest.mark.anyio
async def test_load_jobs_checks_params_without_credentials_or_requests(tmp_path: Path) -> None:
    image = tmp_path / "shoe.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    jobs = tmp_path / "jobs.jsonl"
    params = {"image_file_id": str(image), "duration": 5, "mode": "lite", "generating_count": 1}
    jobs.write_text(json.dumps({"key": "a", "kind": "image_to_video", "params": params}) + "\n")
    assert [job.key for job in await load_jobs(jobs)] == ["a"]
    params["duration"] = 7
    jobs.write_text(json.dumps({"key": "a", "kind": "image_to_video", "params": params}) + "\n")
    with pytest.raises(JobsFileError, match="duration"):
        await load_jobs(jobs)


@pytest.mark.anyio
async def test_check_submit_runs_the_submit_checks_and_sends_nothing(tmp_path: Path) -> None:
    import httpx

    sent: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(500)

    image = tmp_path / "shoe.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    async with AsyncTopview(api_key="k", uid="u", transport=httpx.MockTransport(refuse)) as client:
        await client.tasks.check_submit("m2v", {"product_link": "https://shop.test/1"})
        await client.tasks.check_submit(
            "image_to_video",
            {"image_file_id": image, "duration": 5, "mode": "lite", "generating_count": 1},
        )
        with pytest.raises(InvalidInputError, match="product_lnk"):
            await client.tasks.check_submit("m2v", {"product_lnk": "x"})
        with pytest.raises(InvalidInputError, match="URL"):
            await client.tasks.check_submit(
                "image_to_video",
                {
                    "image_file_id": "https://x/a.png",
                    "duration": 5,
                    "mode": "lite",
                    "generating_count": 1,
                },
            )
        # After a check, a real submit is not in check mode.
        with pytest.raises(Exception) as caught:
            await client.marketing_videos.submit(product_link="https://shop.test/1")
        assert "Checked" not in type(caught.value).__name__
    assert len(sent) >= 1  # only the real submit above reached the transport
    assert all(request.url.path == "/v1/m2v/task/submit" for request in sent)


def test_a_resumed_batch_does_not_need_the_files_of_submitted_jobs(
    env: SimulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = tmp_path / "shoe.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    jobs, out = tmp_path / "jobs.jsonl", tmp_path / "out"
    params = {"image_file_id": str(image), "duration": 5, "mode": "lite", "generating_count": 1}
    jobs.write_text(json.dumps({"key": "clip", "kind": "image_to_video", "params": params}) + "\n")
    assert batch_run(jobs, out) == 0
    image.unlink()  # done with it: the task exists
    assert batch_run(jobs, out) == 0
    # A new job with the same missing file is still refused, before anything is sent.
    line = {"key": "clip-2", "kind": "image_to_video", "params": params}
    jobs.write_text(jobs.read_text() + json.dumps(line) + "\n")
    capsys.readouterr()
    assert batch_run(jobs, out) == 2
    assert f"{jobs}:2: clip-2: {image}: file does not exist" in capsys.readouterr().err


def test_every_kind_is_checked_through_submit_task() -> None:
    # check_submit calls the kind's stub in check mode and relies on submit_task stopping it
    # before anything is sent: a stub that reached the pipeline another way would send.
    import inspect

    from topview_async._generated.task_kinds import TASK_KINDS

    client = AsyncTopview(api_key="k", uid="u")
    for kind, spec in TASK_KINDS.items():
        operation = spec.submit_operation
        stub = getattr(getattr(client, operation.resource), operation.sdk_method or "submit")
        assert "return await self._submit_task(" in inspect.getsource(stub), kind
