"""The quick start runs end to end against the built-in simulator, as a newcomer would run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quickstart_saves_a_complete_video(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOPVIEW_")}
    done = subprocess.run(
        [sys.executable, "examples/quickstart.py", "--out", str(tmp_path), "--speed", "40"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "built-in Topview simulator" in done.stdout
    saved = [line for line in done.stdout.splitlines() if line.startswith("Saved the video to ")]
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
