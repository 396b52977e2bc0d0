"""Section 1: typed query calls per second at 1, 10, 100 and 1000 in flight.

Each round measures every client back to back against the same loopback server, so a ratio
compares figures taken seconds apart; the section reports the median of the per-round ratios.
Every client gets a fresh event loop and warms its connections up before the window opens.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import httpx

from . import _sdk
from ._common import Mode, Section, Table, at_least, at_most, fmt, median, short_error
from ._payloads import TASK_ID
from ._server import ServerProcess

QUERY_PATH = "/v1/m2v/task/query"
AUTH = {"Authorization": f"Bearer {_sdk.API_KEY}", "Topview-Uid": _sdk.UID}
_SLOW = 8  # a measurement taking this many times its planned time is not repeated
Call = Callable[[], Awaitable[object]]
ClientFactory = Callable[[str], AbstractAsyncContextManager[Call]]


def _check_envelope(data: Any) -> object:
    # What a hand-written client does: check the code, take the result, no model.
    if str(data.get("code")) != "200":
        raise RuntimeError(f"Topview error {data.get('code')}")
    return data["result"]


@asynccontextmanager
async def _sdk_client(base_url: str) -> AsyncIterator[Call]:
    client = _sdk.make_client(base_url)
    try:
        _sdk.check_query_result(await _sdk.query(client))
        yield lambda: _sdk.query(client)
    finally:
        await _sdk.close_client(client)


@asynccontextmanager
async def _aiohttp_client(base_url: str) -> AsyncIterator[Call]:
    url = base_url + QUERY_PATH
    params = {"taskId": TASK_ID}
    async with aiohttp.ClientSession(headers=AUTH) as session:

        async def call() -> object:
            async with session.get(url, params=params) as response:
                response.raise_for_status()
                return _check_envelope(await response.json())

        yield call


@asynccontextmanager
async def _httpx_client(base_url: str) -> AsyncIterator[Call]:
    url = base_url + QUERY_PATH
    params = {"taskId": TASK_ID}
    # Default transport and pool; only the timeout is raised so 1000 callers queueing for
    # 100 pooled connections measure throughput instead of hitting the 5 s pool timeout.
    async with httpx.AsyncClient(headers=AUTH, timeout=60.0) as client:

        async def call() -> object:
            response = await client.get(url, params=params)
            response.raise_for_status()
            return _check_envelope(response.json())

        yield call


CLIENTS: dict[str, ClientFactory] = {
    "SDK": _sdk_client,
    "raw aiohttp": _aiohttp_client,
    "plain httpx": _httpx_client,
}


def _sequential_get(base_url: str) -> tuple[str, Callable[[], object]]:
    """One call of Topview's sample client: ``requests.get`` per call, no session."""
    url = f"{base_url}{QUERY_PATH}?taskId={TASK_ID}"
    try:
        import requests  # type: ignore[import-untyped,unused-ignore]
    except ImportError:

        def urllib_call() -> object:
            request = urllib.request.Request(url, headers=AUTH)
            with urllib.request.urlopen(request, timeout=60) as response:
                return _check_envelope(json.loads(response.read()))

        return "sequential urllib (requests not installed)", urllib_call

    def requests_call() -> object:
        response = requests.get(url, headers=AUTH, timeout=60)
        response.raise_for_status()
        return _check_envelope(response.json())

    return "sequential requests", requests_call


@dataclass
class _Sample:
    rate: float  # calls per second in the window
    latency: float  # median seconds per call in the window
    client_cpu: float  # CPU seconds of this process in the window
    server_cpu: float
    wall: float


def _cpu_per_call(sample: _Sample) -> float:
    calls = sample.rate * sample.wall
    return sample.client_cpu / calls if calls else 0.0


async def _run_window(call: Call, in_flight: int, mode: Mode, server: ServerProcess) -> _Sample:
    state = {"measuring": False}
    latencies: list[float] = []

    async def worker() -> None:
        while True:
            started = time.perf_counter()
            await call()
            if state["measuring"]:
                latencies.append(time.perf_counter() - started)

    tasks = [asyncio.create_task(worker()) for _ in range(in_flight)]
    try:
        await asyncio.sleep(mode.warmup)
        state["measuring"] = True
        cpu, server_cpu, started = time.process_time(), server.cpu_seconds(), time.perf_counter()
        await asyncio.sleep(mode.window)
        state["measuring"] = False
        wall = time.perf_counter() - started
        cpu, server_cpu = time.process_time() - cpu, server.cpu_seconds() - server_cpu
    finally:
        # Cancel rather than drain: a slow client with 1000 calls queued would take minutes.
        for task in tasks:
            task.cancel()
        outcomes = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 60)
    for outcome in outcomes:
        if isinstance(outcome, Exception):
            raise outcome  # a failed call makes the whole measurement unavailable
    latency = median(latencies) or 0.0
    return _Sample(len(latencies) / wall, latency, cpu, server_cpu, wall)


async def _measure(
    factory: ClientFactory, base_url: str, in_flight: int, mode: Mode, server: ServerProcess
) -> _Sample:
    async with factory(base_url) as call:
        return await _run_window(call, in_flight, mode, server)


def _measure_sequential(call: Callable[[], object], mode: Mode, server: ServerProcess) -> _Sample:
    latencies: list[float] = []
    deadline = time.perf_counter() + mode.warmup
    while time.perf_counter() < deadline:
        call()
    cpu, server_cpu, started = time.process_time(), server.cpu_seconds(), time.perf_counter()
    deadline = started + mode.window
    while (now := time.perf_counter()) < deadline:
        call()
        latencies.append(time.perf_counter() - now)
    wall = time.perf_counter() - started
    return _Sample(
        len(latencies) / wall,
        median(latencies) or 0.0,
        time.process_time() - cpu,
        server.cpu_seconds() - server_cpu,
        wall,
    )


@dataclass
class _Figures:
    samples: dict[tuple[str, int], list[_Sample]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    slow: dict[tuple[str, int], float] = field(default_factory=dict)

    def add(self, name: str, in_flight: int, sample: _Sample) -> None:
        self.samples.setdefault((name, in_flight), []).append(sample)

    def rate(self, name: str, in_flight: int) -> float | None:
        return median([s.rate for s in self.samples.get((name, in_flight), [])])

    def ratio(
        self, name: str, base: str, in_flight: int, base_in_flight: int | None = None
    ) -> float | None:
        """Median over rounds of this round's ``name`` rate / this round's ``base`` rate."""
        ours = self.samples.get((name, in_flight), [])
        theirs = self.samples.get((base, base_in_flight or in_flight), [])
        return median([a.rate / b.rate for a, b in zip(ours, theirs, strict=False) if b.rate])

    def cpu_per_call(self, name: str, in_flight: int) -> float | None:
        """Median over rounds of the client's CPU seconds per call in the window."""
        return median([_cpu_per_call(s) for s in self.samples.get((name, in_flight), [])])

    def cpu_ratio(self, name: str, base: str, in_flight: int) -> float | None:
        """Median over rounds of this round's ``name`` CPU per call / ``base``'s."""
        ours = self.samples.get((name, in_flight), [])
        theirs = self.samples.get((base, in_flight), [])
        return median(
            [
                _cpu_per_call(a) / _cpu_per_call(b)
                for a, b in zip(ours, theirs, strict=False)
                if _cpu_per_call(b)
            ]
        )

    def latency_ratio(self, name: str, base: str) -> float | None:
        ours, theirs = self.samples.get((name, 1), []), self.samples.get((base, 1), [])
        return median(
            [a.latency / b.latency for a, b in zip(ours, theirs, strict=False) if b.latency]
        )


def run(mode: Mode) -> Section:
    section = Section(1, "Call throughput under concurrency")
    figures = _Figures()
    with ServerProcess() as server:
        base_url = server.url("api")
        sequential_name, sequential_call = _sequential_get(base_url)
        for _ in range(mode.rounds):
            for in_flight in mode.concurrency:
                for name, factory in CLIENTS.items():
                    if name in figures.errors or (name, in_flight) in figures.slow:
                        continue
                    started = time.perf_counter()
                    try:
                        sample = asyncio.run(_measure(factory, base_url, in_flight, mode, server))
                    except Exception as exc:  # report, keep measuring the others
                        figures.errors[name] = short_error(exc)
                        continue
                    figures.add(name, in_flight, sample)
                    took = time.perf_counter() - started
                    if took > _SLOW * (mode.warmup + mode.window):
                        # A client that stalls its own event loop (plain httpx with 1000
                        # callers queued on its pool) is measured in the first round only.
                        figures.slow[(name, in_flight)] = took
            if sequential_name not in figures.errors:
                try:
                    figures.add(sequential_name, 1, _run_in_thread(sequential_call, mode, server))
                except Exception as exc:
                    figures.errors[sequential_name] = short_error(exc)
        server_share = [
            s.server_cpu / s.client_cpu
            for samples in figures.samples.values()
            for s in samples
            if s.client_cpu > 0
        ]
    _tabulate(section, figures, mode, sequential_name, server_share)
    return section


def _run_in_thread(call: Callable[[], object], mode: Mode, server: ServerProcess) -> _Sample:
    # A thread of its own so a hung request cannot stop the harness past the join timeout.
    box: list[_Sample | BaseException] = []

    def target() -> None:
        try:
            box.append(_measure_sequential(call, mode, server))
        except BaseException as exc:
            box.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout=mode.warmup + mode.window + 60)
    if not box:
        raise TimeoutError("sequential loop did not finish")
    if isinstance(box[0], BaseException):
        raise box[0]
    return box[0]


def _tabulate(
    section: Section, figures: _Figures, mode: Mode, sequential: str, server_share: list[float]
) -> None:
    table = Table(
        [
            "in flight",
            "SDK calls/s",
            "raw aiohttp",
            "plain httpx",
            "SDK / aiohttp",
            "SDK / httpx",
            f"SDK / {sequential}",
        ],
        title="Calls per second (median of rounds) and per-round ratios (median)",
    )
    for in_flight in mode.concurrency:
        table.rows.append(
            [
                str(in_flight),
                fmt(figures.rate("SDK", in_flight), ".0f"),
                fmt(figures.rate("raw aiohttp", in_flight), ".0f"),
                fmt(figures.rate("plain httpx", in_flight), ".0f"),
                fmt(figures.ratio("SDK", "raw aiohttp", in_flight), ".2f", "x"),
                fmt(figures.ratio("SDK", "plain httpx", in_flight), ".2f", "x"),
                fmt(figures.ratio("SDK", sequential, in_flight, 1), ".1f", "x"),
            ]
        )
    section.tables.append(table)

    cpu = Table(
        ["in flight", "SDK us/call", "raw aiohttp us/call", "SDK / aiohttp"],
        title="Client CPU per call (process time in the window / calls; median of rounds) and "
        "the per-round ratio (median)",
    )
    for in_flight in mode.concurrency:
        sdk_cpu = figures.cpu_per_call("SDK", in_flight)
        aiohttp_cpu = figures.cpu_per_call("raw aiohttp", in_flight)
        cpu.rows.append(
            [
                str(in_flight),
                fmt(None if sdk_cpu is None else sdk_cpu * 1e6, ".0f"),
                fmt(None if aiohttp_cpu is None else aiohttp_cpu * 1e6, ".0f"),
                fmt(figures.cpu_ratio("SDK", "raw aiohttp", in_flight), ".2f", "x"),
            ]
        )
    section.tables.append(cpu)

    latency = Table(["client", "median latency at 1 in flight", "vs plain httpx"])
    for name in (*CLIENTS, sequential):
        samples = figures.samples.get((name, 1), [])
        value = median([s.latency * 1000 for s in samples])
        latency.rows.append(
            [
                name,
                fmt(value, ".3f", " ms"),
                fmt(figures.latency_ratio(name, "plain httpx"), ".2f", "x"),
            ]
        )
    section.tables.append(latency)

    for in_flight in (100, 1000):
        if in_flight not in mode.concurrency:
            continue
        section.targets.append(
            at_least(
                f"SDK at {in_flight} in flight >= 0.8x raw aiohttp",
                figures.ratio("SDK", "raw aiohttp", in_flight),
                0.8,
                "raw aiohttp",
            )
        )
        section.targets.append(
            at_least(
                f"SDK at {in_flight} in flight >= 10x plain httpx",
                figures.ratio("SDK", "plain httpx", in_flight),
                10.0,
                "plain httpx",
            )
        )
    for in_flight in (1, 100, 1000):
        if in_flight in mode.concurrency:
            section.targets.append(
                at_most(
                    f"SDK client CPU per call at {in_flight} in flight <= 1.1x raw aiohttp's",
                    figures.cpu_ratio("SDK", "raw aiohttp", in_flight),
                    1.1,
                    "x",
                )
            )
    section.targets.append(
        at_most(
            "SDK latency at 1 in flight <= 1.2x plain httpx",
            figures.latency_ratio("SDK", "plain httpx"),
            1.2,
            "x",
        )
    )
    for name, error in figures.errors.items():
        section.notes.append(f"{name}: not available ({error})")
    for (name, in_flight), took in figures.slow.items():
        section.notes.append(
            f"{name} at {in_flight} in flight stalled its event loop ({took:.0f} s for a "
            f"{mode.warmup + mode.window:.2f} s measurement): measured in the first round "
            "only, and its ratios compare that round."
        )
    if server_share:
        section.notes.append(
            "Server CPU per client CPU during the windows: median "
            f"{median(server_share):.2f}, max {max(server_share):.2f} (the server must stay "
            "well below 1 for the client to be what is measured)."
        )
    section.notes.append(
        "Each client uses its own default connection limit (SDK max_connections default, "
        "aiohttp 100, httpx 100); the sequential baseline opens a connection per call, as "
        "Topview's sample client (`requests.get` without a session) does."
    )
