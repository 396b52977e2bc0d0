"""The batch example, run as its command line, against a simulator that misbehaves.

The simulator (the SDK's pytest plugin fixture) refuses some submits with 5003 and one with
4007, drops the response of one submit after creating its task, and fails a share of the
tasks. The batch must account for every link exactly once, create exactly one task per
accepted submit, never resubmit the one whose outcome is unknown, and save every video
that was made.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import anyio
import pytest

from topview_async.testing import SimulatorConfig, SimulatorServer, set_testing

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
COUNT = 200
MEDIA_SIZE = 2048
SUBMIT = "/v1/m2v/task/submit"


def _load_example() -> ModuleType:
    # By path: ``tests/examples`` is itself imported as the package ``examples`` by pytest.
    name = "topview_example_batch"
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / "batch.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses resolve their annotations through it
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
    # In list order: five busy answers, then one "too many unfinished tasks", then a submit
    # whose task is created but whose response is lost.
    sim.faults.add(path=SUBMIT, business_code="5003", times=5)
    sim.faults.add(path=SUBMIT, business_code="4007", times=1)
    sim.faults.add(path=SUBMIT, drop_connection=True, times=1)
    # The "real API" switch of the example, aimed at the simulator.
    monkeypatch.setenv("TOPVIEW_API_KEY", sim.api_key)
    monkeypatch.setenv("TOPVIEW_UID", sim.uid)
    monkeypatch.setenv("TOPVIEW_BASE_URL", sim.base_url)
    out = tmp_path / "batch"

    status = await batch.main(
        ["--count", str(COUNT), "--concurrency", "16", "--out", str(out), "--busy-wait", "0.01"]
    )

    printed = capsys.readouterr().out
    assert "Summary:" in printed
    summary = json.loads((out / "summary.json").read_text())
    rows = summary["rows"]
    # Every link exactly once, in input order.
    assert summary["total"] == COUNT
    assert [row["index"] for row in rows] == list(range(COUNT))
    assert len({row["product_link"] for row in rows}) == COUNT
    with (out / "summary.csv").open(newline="") as stream:
        assert [int(r["index"]) for r in csv.DictReader(stream)] == list(range(COUNT))
    counts = Counter(row["status"] for row in rows)
    assert summary["counts"] == dict(sorted(counts.items()))
    assert set(counts) == {"saved", "task_failed", "submit_unknown"}
    assert counts["submit_unknown"] == 1
    assert counts["task_failed"] > 0
    assert status == 1  # not every video was saved

    # One task per accepted submit, plus the one whose response was lost.
    with_task = {row["task_id"] for row in rows if row["task_id"]}
    assert len(with_task) == COUNT - 1
    created = set(sim.simulator.tasks)
    assert with_task < created
    assert len(created) == COUNT
    # Sent exactly: one accepted submit per link, plus the six refused ones (5003 and 4007
    # are "not created", so those links were submitted again). The lost one was not resent.
    assert len(sim.simulator.requests.for_path(SUBMIT)) == COUNT + 6
    unknown = next(row for row in rows if row["status"] == "submit_unknown")
    assert unknown["task_id"] is None
    assert unknown["submit_attempts"] == 1
    assert unknown["error"]
    assert sum(row["submit_attempts"] for row in rows) >= COUNT + 1  # the 4007 came back

    # Failed tasks carry Topview's reason; they failed at the simulator too.
    for row in rows:
        if row["status"] == "task_failed":
            assert row["error"] == "Video generation failed: not enough usable product material"
            assert sim.simulator.tasks[row["task_id"]].fails

    # Every success is a complete file, named after its row and task; nothing else is there.
    saved = [row for row in rows if row["status"] == "saved"]
    for row in saved:
        path = Path(row["path"])
        assert path.parent.resolve() == (out / "videos").resolve()
        assert path.name == f"{row['index']:05d}-{row['task_id']}.mp4"
        assert path.stat().st_size == MEDIA_SIZE
        assert not sim.simulator.tasks[row["task_id"]].fails
    assert sorted(p.name for p in (out / "videos").iterdir()) == sorted(
        Path(row["path"]).name for row in saved
    )
