"""The benchmark harness still works: ``python -m benchmarks --smoke`` in a subprocess.

Only that it runs to the end and prints every section; no timing is asserted (the figures
of a seconds-long run on a shared CI machine mean nothing).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = (
    "== 1. Call throughput under concurrency",
    "== 2. Download",
    "== 3. Upload",
    "== 4. Polling efficiency",
    "== 5. Scale",
    "== 6. Import time",
    "== 7. Job runner",
    "== 8. Cold start",
)


def test_smoke_mode_runs_every_section(tmp_path: Path) -> None:
    output = tmp_path / "RESULTS.md"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--smoke", "--output", str(output)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    for heading in SECTIONS:
        assert heading in done.stdout, f"{heading!r} missing from:\n{done.stdout[-2000:]}"
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    results = output.read_text()
    assert "## Targets" in results
    assert "## Machine" in results
