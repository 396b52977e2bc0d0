"""The benchmark harness still works: every section runs to the end and is reported.

The harness runs in this process with the smoke mode shrunk further (a few calls, files and
waits per section); its children (servers, measured clients, fresh interpreters) still run as
processes, so every code path of ``python -m benchmarks --smoke`` is exercised, in seconds
rather than the ~15-40 s of the real smoke mode on a shared 2-core machine. No timing is
asserted (the figures of such a run mean nothing).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def benchmarks_main(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """``benchmarks.__main__`` with a tiny smoke mode (the package lives at the repo root)."""
    monkeypatch.syspath_prepend(str(ROOT))
    from benchmarks import __main__ as main_module
    from benchmarks import _common

    tiny = dataclasses.replace(
        _common.MODES["smoke"],
        concurrency=(1, 10),
        window=0.05,
        warmup=0.02,
        download_size=1 << 20,
        parallel_files=2,
        parallel_size=256 * 1024,
        upload_files=2,
        upload_size=64 * 1024,
        upload_concurrency=2,
        poll_tasks=10,
        scale_waits=20,
        import_runs=1,
    )
    monkeypatch.setitem(_common.MODES, "smoke", tiny)
    # Children import ``benchmarks`` from the repo root too (child_env adds it to PYTHONPATH).
    return main_module


@pytest.mark.slow
def test_smoke_mode_runs_every_section(
    benchmarks_main: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "RESULTS.md"
    code = benchmarks_main.main(["--smoke", "--output", str(output)])
    out, err = capsys.readouterr()
    assert code == 0, out[-2000:] + err[-2000:]
    assert "smoke mode" in out
    for number, (title, _) in benchmarks_main.SECTIONS.items():
        heading = f"== {number}. {title}"
        assert heading in out, f"{heading!r} missing from:\n{out[-2000:]}"
    assert "Traceback" not in err, err[-2000:]
    results = output.read_text()
    assert "## Targets" in results
    assert "## Machine" in results
