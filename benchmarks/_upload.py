"""Section 3: uploading files through credential, presigned PUT and check, all on loopback.

The benchmark server answers ``GET /v1/upload/credential`` with a presigned URL on its
storage port, reads and drops each PUT body, and answers ``GET /v1/upload/check`` with
``true``. Every client does the same three steps per file.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import yarl

from . import _sdk
from ._common import MIB, WORK, Mode, Section, Table, fmt, median, short_error
from ._server import ServerProcess
from ._throughput import AUTH


async def _sdk_upload(base_url: str, paths: list[Path], concurrency: int) -> None:
    client = _sdk.make_client(base_url)
    try:
        ids = await _sdk.upload_many(client, paths, concurrency)
    finally:
        await _sdk.close_client(client)
    if len(ids) != len(paths):
        raise RuntimeError(f"{len(ids)} file ids for {len(paths)} files")


async def _aiohttp_upload(base_url: str, paths: list[Path], concurrency: int) -> None:
    limit = asyncio.Semaphore(concurrency)

    async def one(
        session: aiohttp.ClientSession, storage: aiohttp.ClientSession, path: Path
    ) -> None:
        async with limit:
            params = {"format": path.suffix.lstrip(".")}
            async with session.get("/v1/upload/credential", params=params) as response:
                credential = (await response.json())["result"]
            with path.open("rb") as file:
                # The presigned URL is used verbatim (encoded=True keeps its signature intact).
                async with storage.put(
                    yarl.URL(credential["uploadUrl"], encoded=True), data=file
                ) as response:
                    response.raise_for_status()
            params = {"fileId": credential["fileId"]}
            async with session.get("/v1/upload/check", params=params) as response:
                if (await response.json())["result"] is not True:
                    raise RuntimeError("upload check failed")

    async with (
        aiohttp.ClientSession(base_url, headers=AUTH) as session,
        aiohttp.ClientSession() as storage,
    ):
        await asyncio.gather(*(one(session, storage, path) for path in paths))


def _sequential(base_url: str) -> tuple[str, Callable[[list[Path]], None]]:
    """Topview's sample client: ``requests.get``/``requests.put`` per step, one file at a time."""
    try:
        import requests  # type: ignore[import-untyped,unused-ignore]
    except ImportError:

        def urllib_loop(paths: list[Path]) -> None:
            for path in paths:
                request = urllib.request.Request(
                    f"{base_url}/v1/upload/credential?format={path.suffix[1:]}", headers=AUTH
                )
                with urllib.request.urlopen(request, timeout=60) as response:
                    credential = json.loads(response.read())["result"]
                with path.open("rb") as file:
                    put = urllib.request.Request(
                        credential["uploadUrl"],
                        data=file,
                        method="PUT",
                        headers={"Content-Length": str(path.stat().st_size)},
                    )
                    urllib.request.urlopen(put, timeout=60).close()
                check = urllib.request.Request(
                    f"{base_url}/v1/upload/check?fileId={credential['fileId']}", headers=AUTH
                )
                urllib.request.urlopen(check, timeout=60).close()

        return "sequential urllib (requests not installed)", urllib_loop

    def requests_loop(paths: list[Path]) -> None:
        for path in paths:
            response = requests.get(
                f"{base_url}/v1/upload/credential",
                params={"format": path.suffix[1:]},
                headers=AUTH,
                timeout=60,
            )
            credential = response.json()["result"]
            with path.open("rb") as file:
                requests.put(credential["uploadUrl"], data=file, timeout=60).raise_for_status()
            requests.get(
                f"{base_url}/v1/upload/check",
                params={"fileId": credential["fileId"]},
                headers=AUTH,
                timeout=60,
            ).raise_for_status()

    return "sequential requests", requests_loop


def _in_thread(function: Callable[[], None], timeout: float) -> None:
    box: list[BaseException] = []

    def target() -> None:
        try:
            function()
        except BaseException as exc:
            box.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"no end within {timeout:.0f}s")
    if box:
        raise box[0]


@dataclass
class _Results:
    seconds: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def ratio(self, name: str, base: str) -> float | None:
        # Speed ratio = their time / our time, per round.
        pairs = zip(self.seconds.get(name, []), self.seconds.get(base, []), strict=False)
        return median([theirs / ours for ours, theirs in pairs if ours])


def _runs(
    base: str,
    paths: list[Path],
    concurrency: int,
    sequential_name: str,
    sequential: Callable[[list[Path]], None],
) -> dict[str, Callable[[], None]]:
    return {
        "SDK upload_many": lambda: asyncio.run(_sdk_upload(base, paths, concurrency)),
        "raw aiohttp": lambda: asyncio.run(_aiohttp_upload(base, paths, concurrency)),
        sequential_name: lambda: sequential(paths),
    }


def run(mode: Mode) -> Section:
    section = Section(3, "Upload")
    WORK.mkdir(parents=True, exist_ok=True)
    directory = WORK / f"upload-{time.time_ns()}"
    directory.mkdir()
    results = _Results()
    count, size, concurrency = mode.upload_files, mode.upload_size, mode.upload_concurrency
    total = count * size
    timeout = 60 + total / (5 * MIB)
    try:
        paths = []
        for index in range(count):
            path = directory / f"clip-{index}.mp4"
            with path.open("wb") as file:
                file.truncate(size)  # sparse: read from the page cache, never from disk
            paths.append(path)
        with ServerProcess() as server:
            base = server.url("api")
            sequential_name, sequential = _sequential(base)
            runs = _runs(base, paths, concurrency, sequential_name, sequential)
            warmups = _runs(base, paths[:1], 1, sequential_name, sequential)
            for name, warmup in warmups.items():  # first use pays for lazy imports: not timed
                try:
                    _in_thread(warmup, timeout)
                except Exception as exc:
                    results.errors[name] = short_error(exc)
            for _ in range(mode.transfer_rounds):
                for name, function in runs.items():
                    if name in results.errors:
                        continue
                    started = time.perf_counter()
                    try:
                        _in_thread(function, timeout)
                    except Exception as exc:
                        results.errors[name] = short_error(exc)
                        continue
                    results.seconds.setdefault(name, []).append(time.perf_counter() - started)
    finally:
        shutil.rmtree(directory, ignore_errors=True)

    table = Table(
        ["client", "seconds", "MB/s", "files/s", "SDK speed / this"],
        title=f"{count} files of {size / MIB:g} MiB, concurrency {concurrency} "
        "(the sequential loop does one at a time)",
    )
    for name in runs:
        seconds = median(results.seconds.get(name, []))
        table.rows.append(
            [
                name,
                fmt(seconds, ".2f"),
                fmt(None if seconds is None else total / seconds / 1e6, ".0f"),
                fmt(None if seconds is None else count / seconds, ".1f"),
                fmt(results.ratio("SDK upload_many", name), ".2f", "x"),
            ]
        )
    section.tables.append(table)
    for name, error in results.errors.items():
        section.notes.append(f"{name}: not available ({error})")
    section.notes.append("The issue sets no target here; the ratios are for comparison.")
    return section
