"""Section 9: the sync client's latency per call at 1 in flight, against the async client's.

Each round measures the async client (its own event loop, one call at a time) and the
sync client (``Topview``: blocking calls from this thread, run on the client's private loop
thread) back to back against the same loopback server, in alternating order, and takes the
ratio of the two median latencies of that round. The target (issue 21): the sync client within 1.2x.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable

from . import _sdk
from ._common import Mode, Section, Table, at_most, fmt, median, short_error
from ._server import ServerProcess
from ._throughput import _measure, _measure_sequential, _Sample, _sdk_client

TARGET = 1.2


def _sync_sample(base_url: str, mode: Mode, server: ServerProcess) -> _Sample:
    client = _sdk.make_sync_client(base_url)
    try:
        _sdk.check_query_result(_sdk.sync_query(client))
        call: Callable[[], object] = lambda: _sdk.sync_query(client)  # noqa: E731
        return _measure_sequential(call, mode, server)
    finally:
        client.close()


def run(mode: Mode) -> Section:
    section = Section(9, "Sync client")
    asyncs: list[_Sample] = []
    syncs: list[_Sample] = []
    error = ""
    # Four times the rounds, each a quarter as long, the order alternating: on a shared
    # machine the load moves within seconds, and short interleaved windows expose both
    # clients to the same load.
    short = dataclasses.replace(mode, window=mode.window / 4, warmup=mode.warmup / 2)
    with ServerProcess() as server:
        base_url = server.url("api")
        for number in range(mode.rounds * 4):
            try:
                if number % 2:
                    syncs.append(_sync_sample(base_url, short, server))
                asyncs.append(asyncio.run(_measure(_sdk_client, base_url, 1, short, server)))
                if not number % 2:
                    syncs.append(_sync_sample(base_url, short, server))
            except _sdk.Unavailable as exc:
                error = short_error(exc)
                break
    ratios = [s.latency / a.latency for a, s in zip(asyncs, syncs, strict=False) if a.latency]
    ratio = median(ratios)
    table = Table(
        ["client", "median latency at 1 in flight", "calls/s", "client CPU per call", "vs async"],
        title="Median of rounds; the ratio is taken per round, then its median",
    )
    for name, samples, versus in (
        ("AsyncTopview", asyncs, 1.0 if asyncs else None),
        ("Topview (sync)", syncs, ratio),
    ):
        latency = median([s.latency for s in samples])
        rate = median([s.rate for s in samples])
        cpu = median([s.client_cpu / (s.rate * s.wall) for s in samples if s.rate])
        table.rows.append(
            [
                name,
                fmt(None if latency is None else latency * 1000, ".3f", " ms"),
                fmt(rate, ".0f"),
                fmt(None if cpu is None else cpu * 1e6, ".0f", " us"),
                fmt(versus, ".2f", "x"),
            ]
        )
    section.tables.append(table)
    section.targets.append(
        at_most("sync client latency at 1 in flight <= 1.2x the async client's", ratio, TARGET, "x")
    )
    section.notes.append(
        "Per-round ratios: " + ", ".join(f"{r:.2f}x" for r in ratios) if ratios else "no rounds"
    )
    section.notes.append(f"Load average at the end: {_load()}")
    if error:
        section.notes.append(f"not available: {error}")
    section.notes.append(
        "The sync client hands each call to its loop thread (call_soon_threadsafe, then a "
        "lock the loop releases) and blocks on it: the cost over the async client is that "
        "hand-over, two thread wake-ups per call, which a loaded machine makes dearer (each "
        "wake-up waits for a free core)."
    )
    return section


def _load() -> str:
    try:
        import os

        return ", ".join(f"{value:.1f}" for value in os.getloadavg())
    except OSError:
        return "n/a"
