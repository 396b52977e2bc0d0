"""Worker and command processes for the Temporal tests: ``topview`` as a subprocess, its
output in a file (a pipe nobody reads could fill up and stall a worker)."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import anyio

from topview_async.testing import SimulatorServer

from ..cli.helpers import environment, topview

STOP_TIMEOUT = 30.0


def start_worker(
    sim: SimulatorServer, address: str, queue: str, log: Path, *extra: str
) -> subprocess.Popen[bytes]:
    command = topview(
        "temporal",
        "worker",
        "--address",
        address,
        "--task-queue",
        queue,
        "--poll-interval",
        "0.2",
        "--submits-per-second",
        "0",
        "--sticky-queue-timeout",
        "1",
        *extra,
    )
    with log.open("wb") as output:
        return subprocess.Popen(
            command, env=environment(sim), stdout=output, stderr=subprocess.STDOUT
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT)


def notifying_sleep(holder: dict[str, SimulatorServer]) -> Callable[[float], object]:
    """The simulator's sleep, waking ``wait_for`` watchers first, so a test sees progress
    (requests held in a latency fault, the delivery loop's ticks) as it happens."""

    async def sleep(seconds: float) -> None:
        server = holder.get("server")
        if server is not None:
            server.simulator.notify()
        await anyio.sleep(seconds)

    return sleep
