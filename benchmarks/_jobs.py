"""Section 7: what the job runner's journal costs, and how fast ``topview --help`` answers.

The runner runs the same batch of M2V jobs (submit, wait, download one small file) against a
simulator whose tasks finish at once, with its SQLite journal and with an in-memory one;
the two alternate within each round, and the ratio of their throughputs is the journal's
cost. The simulator runs in its own process, so it does not share the runner's CPU time.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from ._common import (
    WORK,
    Mode,
    Section,
    Table,
    at_least,
    at_most,
    child_env,
    fmt,
    installed_env,
    median,
)

SERVER = """
import sys, uvicorn
from topview_async.testing import Simulator, SimulatorConfig
config = SimulatorConfig(time_scale=1e9, media_size=1024, script_count=1)
uvicorn.run(Simulator(config).app, host="127.0.0.1", port=int(sys.argv[1]), log_level="error")
"""
CONCURRENCY = 64


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start_simulator() -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port)], env=child_env(), stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("the simulator did not start")


async def _batch(base_url: str, count: int, journaled: bool, out: Path, tag: str) -> float:
    from topview_async import AsyncTopview
    from topview_async.jobs import Job, JobRunner, MemoryJournal, SqliteJournal
    from topview_async.lib.polling import PollPolicy
    from topview_async.testing._config import DEFAULT_API_KEY, DEFAULT_UID

    poll = PollPolicy(wait_initial=0.001, wait_min=0.001, wait_max=0.01, learn=False, timeout=None)
    jobs = [
        Job(f"j{n:05d}", "m2v", {"product_link": f"https://shop.test/{tag}/{n}"})
        for n in range(count)
    ]
    journal = SqliteJournal(out / "journal.sqlite3") if journaled else MemoryJournal()
    async with AsyncTopview(
        api_key=DEFAULT_API_KEY,
        uid=DEFAULT_UID,
        base_url=base_url,
        poll=poll,
        poll_rate=None,
        max_in_flight_polls=CONCURRENCY,
    ) as client:
        runner = JobRunner(client, out, journal=journal, concurrency=CONCURRENCY, downloads=16)
        started = time.perf_counter()
        summary = await runner.run(jobs)
        elapsed = time.perf_counter() - started
        await journal.aclose()
    if not summary.complete:
        errors = {r.error for r in summary.records if r.error}
        raise RuntimeError(f"batch incomplete: {summary.counts}: {sorted(errors)[:3]}")
    return count / elapsed


def _help_seconds(runs: int) -> list[float]:
    script = Path(sys.executable).with_name("topview")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "topview_async.cli"]
    env = installed_env()
    times = []
    for run in range(runs + 1):
        started = time.perf_counter()
        subprocess.run([*command, "--help"], env=env, capture_output=True, check=True)
        if run:  # the first run writes the bytecode cache
            times.append(time.perf_counter() - started)
    return times


def run(mode: Mode) -> Section:
    import anyio

    section = Section(7, "Job runner")
    count = {"full": 10_000, "quick": 2_000}.get(mode.name, 200)
    rates: dict[bool, list[float]] = {True: [], False: []}
    ratios: list[float] = []
    process, base_url = _start_simulator()
    try:
        for round_no in range(mode.rounds):
            order = [True, False] if round_no % 2 == 0 else [False, True]
            measured: dict[bool, float] = {}
            for journaled in order:
                out = WORK / "jobs" / f"{round_no}-{journaled}"
                shutil.rmtree(out, ignore_errors=True)
                tag = f"{os.getpid()}-{round_no}-{journaled}"
                measured[journaled] = anyio.run(_batch, base_url, count, journaled, out, tag)
                rates[journaled].append(measured[journaled])
                shutil.rmtree(out, ignore_errors=True)
            ratios.append(measured[True] / measured[False])
    finally:
        process.kill()
        process.wait()
    table = Table(["journal", "jobs/s (median)", "vs in-memory"], title=f"{count} jobs")
    table.rows.append(
        [
            "SQLite (WAL, group commit)",
            fmt(median(rates[True]), ".0f"),
            fmt(median(ratios), ".2f", "x"),
        ]
    )
    table.rows.append(["in memory", fmt(median(rates[False]), ".0f"), "1.00x"])
    section.tables.append(table)
    section.targets.append(
        at_least("runner with SQLite journal >= 0.8x without", median(ratios), 0.8, "in-memory")
    )
    help_ms = [t * 1000 for t in _help_seconds(mode.import_runs)]
    section.tables.append(
        Table(
            ["command", "median ms", "min ms"],
            [["topview --help", fmt(median(help_ms), ".0f"), fmt(min(help_ms), ".0f")]],
        )
    )
    section.targets.append(at_most("topview --help <= 200 ms", median(help_ms), 200.0, " ms"))
    section.notes.append(
        f"each job: submit, one query, one 1 KiB download; {CONCURRENCY} submits in flight; "
        "tasks finish at once; the simulator runs in its own process. --help is timed around "
        "the whole process (interpreter start included), bytecode cached."
    )
    return section
