"""What every section shares: run sizes, result records, statistics, child processes."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = Path(__file__).resolve().parent / ".work"  # gitignored scratch space
MIB = 1 << 20
GIB = 1 << 30


@dataclass(frozen=True)
class Mode:
    """How big each section runs. ``full`` is the real benchmark; the others are shrunk."""

    name: str
    rounds: int
    # 1. throughput
    concurrency: tuple[int, ...]
    window: float  # seconds measured per round and client, after the warm-up
    warmup: float
    transfer_rounds: int  # rounds of sections 2 and 3 (each moves GiBs)
    # 2. download
    download_size: int
    parallel_files: int
    parallel_size: int
    # 3. upload
    upload_files: int
    upload_size: int
    upload_concurrency: int
    # 4. polling, 5. scale
    poll_tasks: int
    scale_waits: int
    # 6. import
    import_runs: int


MODES = {
    "full": Mode(
        name="full",
        rounds=5,
        transfer_rounds=3,
        concurrency=(1, 10, 100, 1000),
        window=2.0,
        warmup=0.5,
        download_size=1 * GIB,
        parallel_files=8,
        parallel_size=256 * MIB,
        upload_files=64,
        upload_size=8 * MIB,
        upload_concurrency=8,
        poll_tasks=1000,
        scale_waits=10_000,
        import_runs=21,
    ),
    "quick": Mode(
        name="quick",
        rounds=3,
        transfer_rounds=2,
        concurrency=(1, 10, 100, 1000),
        window=0.5,
        warmup=0.25,
        download_size=128 * MIB,
        parallel_files=8,
        parallel_size=16 * MIB,
        upload_files=16,
        upload_size=8 * MIB,
        upload_concurrency=8,
        poll_tasks=1000,
        scale_waits=1000,
        import_runs=7,
    ),
    "smoke": Mode(
        name="smoke",
        rounds=1,
        transfer_rounds=1,
        concurrency=(1, 10, 100),
        window=0.15,
        warmup=0.05,
        download_size=8 * MIB,
        parallel_files=2,
        parallel_size=2 * MIB,
        upload_files=4,
        upload_size=256 * 1024,
        upload_concurrency=2,
        poll_tasks=50,
        scale_waits=200,
        import_runs=3,
    ),
}


@dataclass
class Table:
    """Figures of one section as rows of text; ``None`` cells print as "n/a"."""

    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    title: str = ""


@dataclass
class Target:
    """A goal from the issue: met or not, and by how much when not."""

    text: str
    measured: str
    met: bool | None  # None: could not be measured
    shortfall: str = ""


@dataclass
class Section:
    """One section's figures, targets and remarks."""

    number: int
    title: str
    tables: list[Table] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def fmt(value: float | None, spec: str = ".1f", suffix: str = "") -> str:
    """A figure for a table cell; "n/a" when it could not be measured."""
    return "n/a" if value is None else f"{value:{spec}}{suffix}"


def median(values: Sequence[float]) -> float | None:
    """Median of the rounds that produced a figure; ``None`` when none did."""
    return statistics.median(values) if values else None


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile (enough for reporting p50/p95 of thousands of samples)."""
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def ratio(value: float | None, base: float | None) -> float | None:
    if value is None or base is None or base == 0:
        return None
    return value / base


def at_least(text: str, measured: float | None, goal: float, what: str) -> Target:
    """A "ratio >= goal" target, with the shortfall in the ratio's own terms."""
    if measured is None:
        return Target(text, "not available", None)
    met = measured >= goal
    short = "" if met else f"short by {goal - measured:.2f}x ({(1 - measured / goal):.0%} below)"
    return Target(text, f"{measured:.2f}x {what}", met, short)


def at_most(text: str, measured: float | None, goal: float, unit: str) -> Target:
    """A "value <= goal" target, with the excess in the value's own unit."""
    if measured is None:
        return Target(text, "not available", None)
    met = measured <= goal
    over = "" if met else f"over by {measured - goal:.2f}{unit} ({(measured / goal - 1):.0%} above)"
    return Target(text, f"{measured:.2f}{unit}", met, over)


def child_env() -> dict[str, str]:
    """The environment for child processes: the repo root importable, output unbuffered."""
    env = dict(os.environ)
    path = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), path) if p)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def installed_env() -> dict[str, str]:
    """:func:`child_env` with bytecode cached, as after ``pip install`` (which writes ``.pyc``
    files): a start-up measured without it would compile every module from source, where
    ``PYTHONDONTWRITEBYTECODE`` is set. The cache lives in the work folder; a caller's first
    run fills it and is not counted."""
    env = child_env()
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(WORK / "pycache")
    return env


def run_child(job: str, args: dict[str, object], timeout: float) -> dict[str, object]:
    """Run ``benchmarks._child`` job in a fresh interpreter and return the JSON it prints.

    A fresh process gives each measurement its own peak RSS and CPU time, and keeps an SDK
    crash or hang out of the harness. Raises ``RuntimeError`` with the child's stderr tail.
    """
    command = [sys.executable, "-m", "benchmarks._child", job, json.dumps(args)]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, env=child_env(), check=False
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{job}: no answer within {timeout:.0f}s") from None
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"{job}: exit {done.returncode}: " + " | ".join(tail))
    result: dict[str, object] = json.loads(lines[-1])
    return result


def short_error(exc: BaseException) -> str:
    """A one-line reason for a "not available" row."""
    text = str(exc).strip().replace("\n", " ")
    return f"{type(exc).__name__}: {text[:160]}" if text else type(exc).__name__


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux ``/proc``; 0.0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def peak_rss_mib() -> float:
    """This process's peak resident set size in MiB (VmHWM, else ru_maxrss)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return usage / (MIB if sys.platform == "darwin" else 1024)
