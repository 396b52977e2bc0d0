"""Measurements that need a process of their own (peak RSS, CPU time, a virtual clock).

``python -m benchmarks._child JOB JSON_ARGS`` runs one job and prints one JSON line.
The harness starts these through :func:`benchmarks._common.run_child`.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from ._common import MIB, peak_rss_mib


def _current_rss_mib() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


async def _download_sdk(base_url: str, urls: list[str], dests: list[Path]) -> dict[str, Any]:
    from . import _sdk

    client = _sdk.make_client(base_url)
    try:
        _sdk.storage_http(client)  # create the pool before the RSS baseline is taken
        start_rss = _current_rss_mib()
        started = time.perf_counter()
        if len(urls) == 1:
            await _sdk.download(client, urls[0], dests[0])
        else:
            await _sdk.download_many(client, list(zip(urls, dests, strict=True)))
        seconds = time.perf_counter() - started
    finally:
        await _sdk.close_client(client)
    return {"seconds": seconds, "start_rss_mib": start_rss}


async def _download_aiohttp(urls: list[str], dests: list[Path]) -> dict[str, Any]:
    import aiohttp

    async def one(session: aiohttp.ClientSession, url: str, dest: Path) -> None:
        # What a user would write: stream in 1 MiB chunks, write each as it comes.
        async with session.get(url) as response:
            response.raise_for_status()
            with dest.open("wb") as file:
                async for chunk in response.content.iter_chunked(MIB):
                    file.write(chunk)

    async with aiohttp.ClientSession() as session:
        start_rss = _current_rss_mib()
        started = time.perf_counter()
        await asyncio.gather(*(one(session, u, d) for u, d in zip(urls, dests, strict=True)))
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "start_rss_mib": start_rss}


def download(args: dict[str, Any]) -> dict[str, Any]:
    urls: list[str] = args["urls"]
    dests = [Path(d) for d in args["dests"]]
    if args["client"] == "sdk":
        result = asyncio.run(_download_sdk(args["base_url"], urls, dests))
    else:
        result = asyncio.run(_download_aiohttp(urls, dests))
    result["bytes"] = sum(d.stat().st_size for d in dests)
    return result


def poll(args: dict[str, Any]) -> dict[str, Any]:
    from ._simulation import simulate

    return simulate(args)


JOBS = {"download": download, "poll": poll}


def main() -> None:
    job, raw = sys.argv[1], sys.argv[2]
    cpu = time.process_time()
    try:
        result = JOBS[job](json.loads(raw))
    except Exception as exc:
        # A missing SDK API is an answer, not a crash: the harness shows "not available".
        from ._sdk import Unavailable

        if not isinstance(exc, Unavailable):
            raise
        result = {"unavailable": str(exc)}
    result["cpu_seconds"] = time.process_time() - cpu
    result["peak_rss_mib"] = peak_rss_mib()
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
