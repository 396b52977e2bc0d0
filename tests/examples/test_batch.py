"""The batch example, run as its command line, against a simulator that misbehaves, and run
again after that: every video exactly once, one task per link, nothing paid twice.

The simulator refuses some submits with 5003 and one with 4007 (nothing created: the runner
submits those again), drops the response of one submit after creating its task (the runner
finds it in the M2V task list instead of submitting again), and fails a share of the tasks.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import anyio
import pytest

from topview_async.testing import SimulatorConfig, SimulatorServer, set_testing

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
COUNT = 60
MEDIA_SIZE = 2048
SUBMIT = "/v1/m2v/task/submit"


def _load_example() -> ModuleType:
    # By path: ``tests/examples`` is itself imported as the package ``examples`` by pytest.
    name = "topview_example_batch"
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / "batch.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


batch = _load_example()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def topview_simulator_config() -> SimulatorConfig:
    return SimulatorConfig(
        seed=3,
        time_scale=200,  # an M2V task takes 30 ms
        failure_probability={"m2v": 0.1},
        media_size=MEDIA_SIZE,
    )


@pytest.fixture(autouse=True)
def short_sdk_sleeps() -> Iterator[None]:
    """The client's retry backoff and poll waits, capped at 10 ms (loops re-check the clock)."""

    async def capped(seconds: float) -> None:
        await anyio.sleep(min(seconds, 0.01))

    with set_testing(True, sleep=capped):
        yield


async def test_batch_accounts_for_every_link_once(
    topview_simulator: SimulatorServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sim = topview_simulator
    sim.faults.add(path=SUBMIT, business_code="5003", times=5)
    sim.faults.add(path=SUBMIT, business_code="4007", times=1)
    sim.faults.add(path=SUBMIT, drop_connection=True, times=1)
    # The "real API" switch of the example, aimed at the simulator.
    monkeypatch.setenv("TOPVIEW_API_KEY", sim.api_key)
    monkeypatch.setenv("TOPVIEW_UID", sim.uid)
    monkeypatch.setenv("TOPVIEW_BASE_URL", sim.base_url)
    out = tmp_path / "batch"
    argv = ["--count", str(COUNT), "--concurrency", "8", "--out", str(out)]

    assert await batch.main(argv) == 1  # some tasks failed
    assert "manifest:" in capsys.readouterr().out
    assert await batch.main(argv) == 1  # again: nothing new to do
    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]

    assert [row["key"] for row in rows] == [f"video-{n:05d}" for n in range(COUNT)]
    assert {row["status"] for row in rows} == {"downloaded", "failed"}
    # One task per link: the lost response was reconciled, the refused submits were not
    # tasks; nothing was submitted by the second run.
    links = [t.request["productLink"] for t in sim.simulator.tasks.values()]
    assert sorted(links) == sorted(set(links))
    assert len(links) == COUNT
    # Sent: one submit per link (the lost one included), plus the six refused ones.
    assert len(sim.simulator.requests.for_path(SUBMIT)) == COUNT + 6
    for row in rows:
        task = sim.simulator.tasks[row["task_id"]]
        if row["status"] == "failed":
            assert task.fails
            assert row["error"] == "Video generation failed: not enough usable product material"
            continue
        assert not task.fails
        assert row["credits"] == 5.0  # M2V results carry no costCredit: from the credit log
        for entry in row["files"]:
            data = (out / entry["path"]).read_bytes()
            assert entry["path"].startswith(row["key"])
            assert len(data) == MEDIA_SIZE
            assert hashlib.sha256(data).hexdigest() == entry["sha256"]
