"""The quick start runs end to end against the built-in simulator, as a newcomer would run it.

Its ``main`` runs in this process (the way ``python examples/quickstart.py`` calls it) with
the SDK's waits capped at 10 ms: the default poll policy would otherwise wait seconds on the
wall clock between polls of a task the fast simulator finished long before.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import anyio
import pytest

from topview_async.testing import set_testing

ROOT = Path(__file__).resolve().parents[2]


def _load_example() -> ModuleType:
    # By path: ``tests/examples`` is itself imported as the package ``examples`` by pytest.
    name = "topview_example_quickstart"
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / "quickstart.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


quickstart = _load_example()


@pytest.fixture(autouse=True)
def short_sdk_sleeps() -> Iterator[None]:
    """Poll waits and backoffs capped at 10 ms (poll loops re-check the task, not the clock)."""

    async def capped(seconds: float) -> None:
        await anyio.sleep(min(seconds, 0.01))

    with set_testing(True, sleep=capped):
        yield


def test_quickstart_saves_a_complete_video(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in [name for name in os.environ if name.startswith("TOPVIEW_")]:
        monkeypatch.delenv(name)  # no credentials: the simulator, as for a newcomer
    status = anyio.run(quickstart.main, ["--out", str(tmp_path), "--speed", "40"])
    assert status == 0
    printed = capsys.readouterr().out
    assert "built-in Topview simulator" in printed
    saved = [line for line in printed.splitlines() if line.startswith("Saved the video to ")]
    assert len(saved) == 1
    video = Path(saved[0].removeprefix("Saved the video to "))
    assert video.parent == tmp_path.resolve()
    assert video.stat().st_size > 0
    # Nothing half-written is left beside it.
    assert not list(tmp_path.glob("*.part"))
    # Without a product link Topview needs more than 10 images (CORRECTIONS #1).
    assert sorted(p.name for p in (tmp_path / "inputs").iterdir()) == sorted(
        f"product_{n}.png" for n in range(1, 12)
    )
