"""Section 2: downloading from a loopback static file server (sendfile, Range) to disk.

The source files are sparse, so creating them costs no disk and reading them costs no disk
I/O: what is measured is HTTP plus writing the destination. Each client's output is deleted
right after it is checked, so at most one set of outputs is on disk at a time.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from ._common import (
    MIB,
    WORK,
    Mode,
    Section,
    Table,
    at_least,
    at_most,
    fmt,
    median,
    run_child,
    short_error,
)
from ._server import ServerProcess

_MARGIN = 512 * MIB


@dataclass
class _Run:
    seconds: float
    bytes: int
    peak_rss_mib: float | None = None
    start_rss_mib: float | None = None

    @property
    def mb_per_s(self) -> float:
        return self.bytes / self.seconds / 1e6


@dataclass
class _Results:
    runs: dict[tuple[str, str], list[_Run]] = field(default_factory=dict)
    errors: dict[tuple[str, str], str] = field(default_factory=dict)

    def ratio(self, case: str, name: str, base: str) -> float | None:
        ours, theirs = self.runs.get((case, name), []), self.runs.get((case, base), [])
        pairs = zip(ours, theirs, strict=False)
        return median([a.mb_per_s / b.mb_per_s for a, b in pairs])


def _sizes(mode: Mode, directory: Path, section: Section) -> tuple[int, int]:
    """The single-file and per-parallel-file sizes, halved until the outputs fit on disk."""
    single, parallel = mode.download_size, mode.parallel_size
    free = shutil.disk_usage(directory).free
    while max(single, parallel * mode.parallel_files) + _MARGIN > free and single > MIB:
        single, parallel = single // 2, max(MIB, parallel // 2)
    if single != mode.download_size:
        section.notes.append(
            f"Only {free / MIB:.0f} MiB free: scaled down to {single / MIB:.0f} MiB and "
            f"{mode.parallel_files} x {parallel / MIB:.0f} MiB."
        )
    return single, parallel


def _curl(urls: list[str], dests: list[Path]) -> _Run:
    curl = shutil.which("curl")
    assert curl is not None
    started = time.perf_counter()
    processes = [
        subprocess.Popen([curl, "-sS", "--fail", "-o", str(d), u])
        for u, d in zip(urls, dests, strict=True)
    ]
    codes = []
    for process in processes:
        try:
            codes.append(process.wait(timeout=600))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            codes.append(-1)
    seconds = time.perf_counter() - started
    if any(codes):
        raise RuntimeError(f"curl exit codes {codes}")
    return _Run(seconds, sum(d.stat().st_size for d in dests))


def _child(client: str, base_url: str, urls: list[str], dests: list[Path], size: int) -> _Run | str:
    result = run_child(
        "download",
        {"client": client, "base_url": base_url, "urls": urls, "dests": [str(d) for d in dests]},
        timeout=60 + size / (20 * MIB),
    )
    if "unavailable" in result:
        return str(result["unavailable"])
    return _Run(
        float(result["seconds"]),  # type: ignore[arg-type]
        int(result["bytes"]),  # type: ignore[call-overload]
        float(result["peak_rss_mib"]),  # type: ignore[arg-type]
        float(result["start_rss_mib"]),  # type: ignore[arg-type]
    )


def run(mode: Mode) -> Section:
    section = Section(2, "Download")
    WORK.mkdir(parents=True, exist_ok=True)
    directory = Path(WORK / f"download-{time.time_ns()}")
    directory.mkdir()
    results = _Results()
    try:
        single, parallel = _sizes(mode, directory, section)
        sources = directory / "sources"
        sources.mkdir()
        with (sources / "single.bin").open("wb") as file:
            file.truncate(single)  # sparse: instant, no disk used
        for index in range(mode.parallel_files):
            with (sources / f"part-{index}.bin").open("wb") as file:
                file.truncate(parallel)
        cases = {
            "single": (["single.bin"], single),
            "parallel": ([f"part-{i}.bin" for i in range(mode.parallel_files)], parallel),
        }
        clients = ["SDK", "raw aiohttp"] + (["curl"] if shutil.which("curl") else [])
        if "curl" not in clients:
            section.notes.append("curl is not installed: the curl baseline is not available")
        _warm_page_cache(sources)
        with ServerProcess(files=sources) as server:
            base = server.url("files")
            for round_no in range(mode.transfer_rounds):
                # Rotate who goes first, so no client always pays for a cold start.
                shift = round_no % len(clients)
                order = clients[shift:] + clients[:shift]
                for case, (names, size) in cases.items():
                    for name in order:
                        if (case, name) in results.errors:
                            continue
                        _one(results, case, name, server.url("api"), base, names, size, directory)
        _tabulate(section, results, single, parallel, mode.parallel_files, clients)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return section


def _warm_page_cache(sources: Path) -> None:
    """Read every source once, untimed: the first reader of a sparse file pays to fault its
    pages into the page cache, which would otherwise be charged to whichever client ran first."""
    for path in sorted(sources.iterdir()):
        with path.open("rb") as file:
            while file.read(8 << 20):
                pass


def _one(
    results: _Results,
    case: str,
    name: str,
    api_url: str,
    base: str,
    names: list[str],
    size: int,
    directory: Path,
) -> None:
    out = directory / "out"
    out.mkdir(exist_ok=True)
    urls = [f"{base}/{n}" for n in names]
    dests = [out / n for n in names]
    try:
        if name == "curl":
            run: _Run | str = _curl(urls, dests)
        else:
            run = _child(
                "sdk" if name == "SDK" else "aiohttp", api_url, urls, dests, size * len(names)
            )
        if isinstance(run, str):
            results.errors[(case, name)] = run
            return
        if run.bytes != size * len(names):
            raise RuntimeError(f"wrote {run.bytes} bytes, expected {size * len(names)}")
        results.runs.setdefault((case, name), []).append(run)
    except Exception as exc:
        results.errors[(case, name)] = short_error(exc)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _tabulate(
    section: Section, results: _Results, single: int, parallel: int, count: int, clients: list[str]
) -> None:
    titles = {
        "single": f"1 file of {single / MIB:.0f} MiB",
        "parallel": f"{count} files of {parallel / MIB:.0f} MiB at once",
    }
    for case, title in titles.items():
        table = Table(["client", "MB/s", "SDK / this", "peak RSS MiB", "RSS before"], title=title)
        for name in clients:
            runs = results.runs.get((case, name), [])
            peak = median([r.peak_rss_mib for r in runs if r.peak_rss_mib is not None])
            start = median([r.start_rss_mib for r in runs if r.start_rss_mib is not None])
            table.rows.append(
                [
                    name,
                    fmt(median([r.mb_per_s for r in runs]), ".0f"),
                    fmt(results.ratio(case, "SDK", name), ".2f", "x"),
                    fmt(peak, ".1f"),
                    fmt(start, ".1f"),
                ]
            )
        section.tables.append(table)
    for (case, name), error in results.errors.items():
        section.notes.append(f"{titles[case]}, {name}: not available ({error})")

    base = "curl" if "curl" in clients else "raw aiohttp"
    section.targets.append(
        at_least(
            f"SDK download >= 0.8x {base} MB/s", results.ratio("single", "SDK", base), 0.8, base
        )
    )
    runs = results.runs.get(("single", "SDK"), [])
    peak = max((r.peak_rss_mib for r in runs if r.peak_rss_mib is not None), default=None)
    section.targets.append(at_most("SDK download peak RSS <= 64 MiB", peak, 64.0, " MiB"))
    section.notes.append(
        "Peak RSS is the SDK child process's VmHWM (interpreter, imports and client included; "
        "'RSS before' is its resident size just before the transfer). The SDK fsyncs the file "
        "before its atomic rename; curl and the aiohttp baseline do not, so the SDK pays for "
        "durability they skip."
    )
