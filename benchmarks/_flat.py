"""Section 11: the cost per job stays flat as the batch grows (issue 20, item 4).

``topview batch run`` runs 1,000, 10,000 and 100,000 text-to-image jobs of 3 images each
(quick mode: 300 and 3,000; smoke: 30) against a simulator whose tasks finish at once (its
own process), with ``--concurrency 64``; a plain SDK script (no journal, no manifest, no
progress) does the same submits, waits and downloads. Each client is a child process: its
CPU time (user + system) and peak RSS come from ``wait4``, so nothing of the harness or the
simulator is counted.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from ._common import WORK, Mode, Section, Table, at_most, child_env, fmt
from ._jobs import _start_simulator

CONCURRENCY = 64
FILES = 3
"""Images per job (``generate_count``): three small files to download."""
SIZES = {"full": (1_000, 10_000, 100_000), "quick": (300, 3_000)}
SMOKE_SIZES = (30,)

PLAIN = """
import sys, anyio
from topview_async import AsyncTopview
from topview_async.lib.polling import PollPolicy

async def main(count: int, out: str) -> None:
    poll = PollPolicy(wait_initial=0.001, wait_min=0.001, wait_max=0.01, learn=False, timeout=None)
    limit, downloads = anyio.Semaphore(64), anyio.Semaphore(16)  # as the runner's
    async with AsyncTopview(poll=poll, poll_rate=None, max_in_flight_polls=64) as client:

        async def one(n: int) -> None:
            async with limit:
                task = await client.tasks.submit(
                    "text_to_image", prompt=f"a red shoe, take {n}", generate_count=3
                )
            await task.wait()
            async with downloads:
                await task.download(f"{out}/j{n:06d}")

        async with anyio.create_task_group() as group:
            for n in range(count):
                group.start_soon(one, n)

anyio.run(main, int(sys.argv[1]), sys.argv[2])
"""


def _jobs_file(path: Path, count: int) -> None:
    with path.open("w") as stream:
        for n in range(count):
            params = {"prompt": f"a red shoe, take {n}", "generate_count": FILES}
            line = {"key": f"j{n:06d}", "kind": "text_to_image", "params": params}
            stream.write(json.dumps(line) + "\n")


def _measure(label: str, command: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """``(cpu seconds, wall seconds, peak RSS MiB)`` of the child running ``command``."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.stderr is not None
    error = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"{command[:4]} exited {process.returncode}: {error[-2000:].decode()}")
    cpu, peak = usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024
    print(f"  {label}: {cpu:.1f} s CPU, {wall:.1f} s, {peak:.0f} MiB", flush=True)
    return cpu, wall, peak


def _files(out: Path) -> int:
    return sum(1 for p in out.rglob("*") if p.is_file() and p.suffix in (".mp4", ".jpg", ".png"))


def run(mode: Mode) -> Section:
    section = Section(11, "Flat cost: 1,000 to 100,000 jobs")
    sizes = SIZES.get(mode.name, SMOKE_SIZES)
    sizes = tuple(int(s) for s in os.environ.get("BENCH_FLAT_SIZES", "").split(",") if s) or sizes
    process, base_url = _start_simulator()
    from topview_async.testing._config import DEFAULT_API_KEY, DEFAULT_UID

    env = {
        **child_env(),
        "TOPVIEW_BASE_URL": base_url,
        "TOPVIEW_API_KEY": DEFAULT_API_KEY,
        "TOPVIEW_UID": DEFAULT_UID,
    }
    table = Table(
        ["jobs", "client", "CPU ms/job", "wall s", "peak RSS MiB", "files"],
        title=f"--concurrency {CONCURRENCY}, tasks finish at once",
    )
    runner_cpu: dict[int, float] = {}
    plain_cpu: dict[int, float] = {}
    rss: dict[int, float] = {}
    try:
        for count in sizes:
            work = WORK / "flat" / str(count)
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            jobs = work / "jobs.jsonl"
            _jobs_file(jobs, count)
            runner_command = [
                sys.executable, "-m", "topview_async.cli", "batch", "run", str(jobs),
                "--out", str(work / "out"), "--concurrency", str(CONCURRENCY),
                "--downloads", "16", "--poll-interval", "0.001", "--no-progress",
            ]  # fmt: skip
            cpu, wall, peak = _measure(f"{count} jobs, runner", runner_command, env)
            runner_cpu[count], rss[count] = cpu / count, peak
            row = [f"{count:,}", "topview batch run", fmt(cpu / count * 1000, ".2f")]
            table.rows.append([*row, fmt(wall, ".1f"), fmt(peak, ".0f"), str(_files(work / "out"))])
            (work / "plain").mkdir()
            plain_command = [sys.executable, "-c", PLAIN, str(count), str(work / "plain")]
            cpu, wall, peak = _measure(f"{count} jobs, plain script", plain_command, env)
            plain_cpu[count] = cpu / count
            row = [f"{count:,}", "plain SDK script", fmt(cpu / count * 1000, ".2f")]
            table.rows.append(
                [*row, fmt(wall, ".1f"), fmt(peak, ".0f"), str(_files(work / "plain"))]
            )
            shutil.rmtree(work, ignore_errors=True)
    finally:
        process.kill()
        process.wait()
    section.tables.append(table)
    small, large = min(sizes), max(sizes)
    if large > small:
        section.targets.append(
            at_most(
                f"CPU per job at {large:,} <= 1.1x that at {small:,}",
                runner_cpu[large] / runner_cpu[small], 1.1, "x",
            )
        )  # fmt: skip
    section.targets.append(
        at_most(f"peak RSS at {large:,} jobs < 300 MiB", rss[large], 300.0, " MiB")
    )
    section.targets.append(
        at_most(
            f"runner CPU <= 1.5x the plain SDK script's ({large:,} jobs)",
            runner_cpu[large] / plain_cpu[large], 1.5, "x",
        )
    )  # fmt: skip
    section.notes.append(
        "each job: one text_to_image submit (3 images of 1 KiB), waits (1 ms polls), its "
        "files downloaded; the runner is the "
        "`topview batch run` command (the jobs file checked whole, SQLite journal, manifest, "
        "progress tracker fed though not drawn); the plain script has none of these. "
        f"Load average at the end: {', '.join(f'{v:.2f}' for v in os.getloadavg())}. "
        "BENCH_FLAT_SIZES=1000,10000 overrides the sizes."
    )
    return section
