"""Running ``topview`` as a subprocess against an in-process simulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from topview_async.testing import SimulatorServer

SUBMIT = "/v1/m2v/task/submit"


PYCACHE = Path(tempfile.gettempdir()) / f"topview-cli-tests-pycache-{os.getuid()}"
"""Bytecode of the subprocesses, kept outside the source tree: every restart of the command
would otherwise compile the SDK again (PYTHONDONTWRITEBYTECODE may be set)."""


def environment(sim: SimulatorServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOPVIEW_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env |= {
        "PYTHONPYCACHEPREFIX": str(PYCACHE),
        "TOPVIEW_BASE_URL": sim.base_url,
        "TOPVIEW_API_KEY": sim.api_key,
        "TOPVIEW_UID": sim.uid,
    }
    return env


def topview(*args: str) -> list[str]:
    return [sys.executable, "-m", "topview_async.cli", *args]


def start_batch(sim: SimulatorServer, jobs: Path, out: Path, *extra: str) -> subprocess.Popen[str]:
    command = topview(
        "batch",
        "run",
        str(jobs),
        "--out",
        str(out),
        "--poll-interval",
        "0.02",
        "--no-progress",
        *extra,
    )
    return subprocess.Popen(
        command, env=environment(sim), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def write_jobs(path: Path, count: int) -> list[str]:
    keys = [f"shoe-{n:03d}" for n in range(count)]
    lines = [
        json.dumps({"key": k, "kind": "m2v", "params": {"product_link": f"https://shop.test/{k}"}})
        for k in keys
    ]
    path.write_text("\n".join(lines) + "\n")
    return keys


def read_manifest(out: Path) -> dict[str, dict[str, Any]]:
    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    return {row["key"]: row for row in rows}


def m2v_tasks_by_link(sim: SimulatorServer) -> dict[str, list[str]]:
    tasks: dict[str, list[str]] = {}
    for task in sim.simulator.tasks.values():
        if task.kind == "m2v":
            tasks.setdefault(task.request["productLink"], []).append(task.task_id)
    return tasks
