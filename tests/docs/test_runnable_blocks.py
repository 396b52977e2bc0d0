"""Run every documentation block marked runnable against the simulator.

``<!-- runnable -->``: a complete program (``anyio.run(main)`` at the end), run in this process
with ``TOPVIEW_BASE_URL`` / ``TOPVIEW_API_KEY`` / ``TOPVIEW_UID`` pointing at the simulator, in
an empty working directory that holds the sample files the docs use (``shoe_front.png``, ...).
``<!-- runnable pytest -->``: a test module, run by pytest in a subprocess (it brings its own
``topview_simulator`` from the SDK's plugin), which must pass with at least one test.
"""

from __future__ import annotations

import runpy
import struct
import subprocess
import sys
import zlib
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import pytest

from topview_async.testing import SimulatorConfig, SimulatorServer, set_testing

from .blocks import Block, all_blocks

PROGRAMS = [block for block in all_blocks() if block.runner == "python"]
TEST_MODULES = [block for block in all_blocks() if block.runner == "pytest"]
SAMPLE_IMAGES = ("shoe_front.png", "shoe_side.png", "product.png")


def _png(rgb: tuple[int, int, int], size: int = 64) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    rows = (b"\x00" + bytes(rgb) * size) * size
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _short_sleeps(real: Callable[[float], Awaitable[None]]) -> Callable[[float], Awaitable[None]]:
    async def sleep(seconds: float) -> None:
        await real(min(seconds, 0.01))  # polls and backoff: simulator tasks take milliseconds

    return sleep


@pytest.fixture
def topview_simulator_config() -> SimulatorConfig:
    return SimulatorConfig(seed=0, time_scale=500.0, media_size=4096)


def test_the_docs_have_runnable_blocks() -> None:
    assert len(PROGRAMS) >= 3, [str(block) for block in PROGRAMS]
    assert TEST_MODULES, "the testing guide's examples are run as tests"


@pytest.mark.parametrize("block", PROGRAMS, ids=str)
def test_block_runs_against_the_simulator(
    block: Block,
    topview_simulator: SimulatorServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TOPVIEW_BASE_URL", topview_simulator.base_url)
    monkeypatch.setenv("TOPVIEW_API_KEY", topview_simulator.api_key)
    monkeypatch.setenv("TOPVIEW_UID", topview_simulator.uid)
    monkeypatch.chdir(tmp_path)
    for index, name in enumerate(SAMPLE_IMAGES):
        (tmp_path / name).write_bytes(_png((60 * index, 120, 200)))
    script = tmp_path / f"{block.name}.py"
    script.write_text(block.code, encoding="utf-8")

    with set_testing(True, sleep=_short_sleeps(anyio.sleep)):
        runpy.run_path(str(script), run_name="__main__")

    assert capsys.readouterr().out.strip(), f"{block} printed nothing"
    assert topview_simulator.simulator.requests, f"{block} sent no request to the simulator"


@pytest.mark.parametrize("block", TEST_MODULES, ids=str)
def test_test_module_passes(block: Block, tmp_path: Path) -> None:
    module = tmp_path / f"test_{block.name}.py"
    module.write_text(block.code, encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", tmp_path],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert " passed" in completed.stdout, completed.stdout
