"""``topview`` refuses what it does not understand; ``topview simulator`` is
``python -m topview_async.testing`` (issue 20.1)."""

from __future__ import annotations

import os
import queue
import re
import shlex
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from topview_async.cli import main
from topview_async.testing._command import build_parser, configure

from .helpers import PYCACHE, topview

TIMEOUT = 120.0
"""Seconds a child process may take to answer (a bound, not an expectation)."""

COMMANDS = [
    ["batch", "run", "jobs.jsonl", "--out", "out"],
    ["batch", "status", "."],
    ["batch", "resolve", ".", "key", "--resubmit"],
    ["tasks", "get", "m2v", "t-1"],
    ["upload", "a.png"],
    ["credit"],
    ["voices", "list"],
    ["temporal", "worker"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_every_command_refuses_an_unknown_option(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*command, "--no-such-option"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("error: ")
    assert "--no-such-option" in err


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOPVIEW_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env | {"PYTHONPYCACHEPREFIX": str(PYCACHE)}


def test_the_simulator_refuses_options_it_does_not_know() -> None:
    # The line of the issue: it used to start a healthy simulator, so this would time out.
    args = ["simulator", "--port", str(_free_port()), "--chaos", "1.0", "--time-scael", "100"]
    done = subprocess.run(
        topview(*args), env=_child_env(), capture_output=True, text=True, timeout=TIMEOUT
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("error: unrecognized arguments: --time-scael 100")
    assert done.stdout == ""


def test_one_parser_for_both_simulator_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulator", "--help"]) == 0
    from_topview = capsys.readouterr().out
    standalone = build_parser("python -m topview_async.testing").format_help()
    options = set(re.findall(r"--[a-z-]+", from_topview))
    assert {"--fault", "--chaos", "--failure-probability", "--time-scale", "--credits"} <= options
    assert options == set(re.findall(r"--[a-z-]+", standalone))
    # The value-less fault form the testing guide shows.
    args = build_parser("x").parse_args(
        ["--fault", "path=/v1/m2v/task/submit,drop_connection,rate=0.1"]
    )
    (fault,) = configure(args).faults
    assert fault.drop_connection is True
    assert fault.rate == 0.1
    assert fault.path == "/v1/m2v/task/submit"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--fault", "drop_connectoin"], "unknown fault option 'drop_connectoin'"),
        (["--fault", "rate=lots"], "--fault 'rate=lots'"),
        (["--failure-probability", "m2v=2"], "not between 0 and 1"),
        (["--port", "http"], "argument --port: invalid int value"),
    ],
)
def test_simulator_usage_errors_are_one_line(
    args: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulator", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("error: ")
    assert expected in err
    assert "topview simulator --help" in err


def test_a_missing_extra_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # import uvicorn -> ImportError
    assert main(["simulator"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "pip install 'topview-async[testing]'" in err
    assert "ModuleNotFoundError" not in err


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _lines(stream: object) -> Iterator[str]:
    """Lines of a child's pipe, each within TIMEOUT (a reader thread: no sleeping)."""
    lines: queue.Queue[str] = queue.Queue()
    thread = threading.Thread(target=lambda: [lines.put(line) for line in stream], daemon=True)  # type: ignore[attr-defined]
    thread.start()
    while True:
        yield lines.get(timeout=TIMEOUT)


def test_the_simulator_prints_export_lines_and_logs_requests(tmp_path: Path) -> None:
    port = _free_port()
    fault = "path=/v1/m2v/task/submit,drop_connection,rate=0.1"
    process = subprocess.Popen(
        topview("simulator", "--port", str(port), "--fault", fault, "--api-key", "k y"),
        env=_child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out = _lines(process.stdout)
        printed = []
        while (line := next(out)) != "\n":
            printed.append(line)
        # Shell code: comments and `export NAME=value` lines only, values quoted for the shell.
        exports = {}
        for line in printed:
            words = shlex.split(line, comments=True)
            if words:
                assert words[0] == "export", line
                name, _, value = words[1].partition("=")
                exports[name] = value
        assert exports == {
            "TOPVIEW_BASE_URL": f"http://127.0.0.1:{port}",
            "TOPVIEW_API_KEY": "k y",
            "TOPVIEW_UID": exports["TOPVIEW_UID"],
        }
        assert any("drop_connection=True" in line for line in printed)
        eval_check = subprocess.run(
            ["sh", "-c", 'eval "$1"; printf %s "$TOPVIEW_API_KEY"', "sh", "".join(printed)],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        assert eval_check.stdout == "k y"
        err = _lines(process.stderr)
        for _ in range(20):  # the server is up once a request is answered
            try:
                httpx.get(f"http://127.0.0.1:{port}/v1/voice/list", timeout=TIMEOUT)
                break
            except httpx.ConnectError:
                next(err)  # uvicorn's start-up lines: wait for the next one, then retry
        while "/v1/voice/list" not in (line := next(err)):
            pass
        assert "GET /v1/voice/list" in line
    finally:
        process.terminate()
        process.wait(timeout=TIMEOUT)
