"""Batch job: hundreds of Avatar Marketing Videos, bounded concurrency, one summary at the end.

1. submit one task per product link, at most ``--concurrency`` submits at a time. Topview
   refusing a submit with 4007 (too many unfinished tasks) or 5003 (busy, after the client's
   own retries) means no task was created: wait and submit that link again.
   A submit whose outcome is unknown (``SubmitOutcomeUnknownError``: sent, response lost) may
   have created a paid task. It is recorded as ``submit_unknown`` for reconciliation and
   never submitted again.
2. wait for every task through the client's shared poll scheduler (``as_completed``: a few
   pollers, capped and rate limited, however many tasks there are),
3. download each video as soon as its task finishes (``--downloads`` at a time) to
   ``OUT/videos/``,
4. write ``OUT/summary.json`` and ``OUT/summary.csv``: one row per link, exactly once, with
   its task id, status, file path or error.

One failed task, submit or download never stops the batch. Exit status 0 when every video
was saved, 1 otherwise (the summary says which and why).

Runs against the built-in Topview simulator unless TOPVIEW_API_KEY and TOPVIEW_UID are set,
in which case it calls the real API (and spends credits)::

    python examples/batch.py --count 200 --concurrency 16 --out out/batch   # simulator
    python examples/batch.py --links links.txt --out out/batch             # one link a line
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import anyio

from topview_async import (
    AsyncTopview,
    ServerBusyError,
    SubmitOutcomeUnknownError,
    TopviewError,
    UnfinishedTaskError,
)
from topview_async.lib.polling import PollPolicy
from topview_async.lib.tasks import Task, TaskFailedError, TaskTimeoutError, as_completed


@dataclass
class Row:
    """The outcome of one input link; ``status`` is one of :data:`STATUSES`."""

    index: int
    product_link: str
    status: str = "pending"
    task_id: str | None = None
    path: str | None = None
    error: str | None = None
    submit_attempts: int = 0


STATUSES = {
    "saved": "the video is on disk",
    "task_failed": "Topview reported the task as failed",
    "download_failed": "the task succeeded but the video could not be saved",
    "unfinished": "not finished when waiting stopped; resume with get_task(client, 'm2v', id)",
    "submit_failed": "Topview refused the submit (no task was created)",
    "submit_unknown": "the submit may have created a task: reconcile before resubmitting",
}


@dataclass(frozen=True)
class BatchOptions:
    """Knobs of :func:`run_batch`."""

    concurrency: int = 16
    """Submits in flight at once."""
    downloads: int = 8
    """Downloads in flight at once."""
    busy_attempts: int = 8
    """Submits of one link while Topview answers 4007/5003."""
    busy_wait: float = 10.0
    """First wait after such a refusal (seconds), doubled each time up to ``busy_wait_max``."""
    busy_wait_max: float = 120.0
    poll: PollPolicy | None = None
    """Poll policy of the wait (its ``timeout`` bounds the whole wait); ``None``: the default."""


async def run_batch(
    client: AsyncTopview, links: Sequence[str], out_dir: Path, options: BatchOptions
) -> list[Row]:
    """Submit, wait, download; every link ends in exactly one row."""
    rows = [Row(index, link) for index, link in enumerate(links)]
    tasks = await _submit_all(client, rows, options)
    await _wait_and_download(client, rows, tasks, out_dir / "videos", options)
    return rows


# -- 1. submit --------------------------------------------------------------------------------


async def _submit_all(
    client: AsyncTopview, rows: list[Row], options: BatchOptions
) -> dict[str, tuple[Row, Task[Any]]]:
    limiter = anyio.CapacityLimiter(options.concurrency)
    submitted: dict[str, tuple[Row, Task[Any]]] = {}

    async def submit(row: Row) -> None:
        async with limiter:
            task = await _submit_one(client, row, options)
        if task is not None:
            submitted[task.task_id] = (row, task)

    async with anyio.create_task_group() as group:
        for row in rows:
            group.start_soon(submit, row)
    return submitted


async def _submit_one(client: AsyncTopview, row: Row, options: BatchOptions) -> Task[Any] | None:
    wait = options.busy_wait
    while True:
        row.submit_attempts += 1
        try:
            task: Task[Any] = await client.marketing_videos.submit(
                product_link=row.product_link,
                aspect_ratio="9:16",
                video_length_type=2,
                language="en",
            )
        except (UnfinishedTaskError, ServerBusyError) as exc:
            # Refused before anything was created, so submitting again cannot charge twice.
            if row.submit_attempts >= options.busy_attempts:
                _record(row, "submit_failed", f"still refused: {exc}")
                return None
            # Jitter, so a batch of refused submits does not come back in lockstep.
            await anyio.sleep(wait * random.uniform(0.5, 1.0))
            wait = min(options.busy_wait_max, wait * 2)
        except SubmitOutcomeUnknownError as exc:
            _record(row, "submit_unknown", str(exc).splitlines()[0])
            return None
        except TopviewError as exc:  # invalid link, no credit, ...: this link only
            _record(row, "submit_failed", f"{type(exc).__name__}: {exc}")
            return None
        else:
            row.task_id = task.task_id
            return task


def _record(row: Row, status: str, error: str | None = None) -> None:
    row.status = status
    row.error = error


# -- 2. wait, 3. download -----------------------------------------------------------------------


async def _wait_and_download(
    client: AsyncTopview,
    rows: list[Row],
    submitted: dict[str, tuple[Row, Task[Any]]],
    video_dir: Path,
    options: BatchOptions,
) -> None:
    await anyio.Path(video_dir).mkdir(parents=True, exist_ok=True)
    limiter = anyio.CapacityLimiter(options.downloads)

    async def download(row: Row, url: str) -> None:
        dest = video_dir / f"{row.index:05d}-{row.task_id}.mp4"
        async with limiter:
            try:
                path = await client.download(url, dest)
            except (TopviewError, OSError) as exc:
                _record(row, "download_failed", f"{type(exc).__name__}: {exc}")
                return
        row.status, row.path = "saved", str(path)

    tasks = [task for _, task in submitted.values()]
    async with anyio.create_task_group() as downloads:
        try:
            async with as_completed(tasks, poll=options.poll) as finished:
                async for task in finished:
                    row = submitted[task.task_id][0]
                    try:
                        files = await task.result_files()  # finished: returns or raises at once
                    except TaskFailedError as exc:
                        _record(row, "task_failed", exc.error_msg or str(exc))
                        continue
                    if not files:
                        _record(row, "task_failed", "finished without an exported video")
                    else:
                        downloads.start_soon(download, row, files[0].url)
        except TaskTimeoutError:
            pass  # the unfinished tasks are recorded below
        except TopviewError as exc:
            # A query kept failing after the client's retries; the tasks still run at Topview.
            print(f"waiting stopped: {exc}", file=sys.stderr)
    for row, task in submitted.values():
        if not task.done:
            _record(row, "unfinished", f"last status {task.status!r}")


# -- 4. summary -------------------------------------------------------------------------------


def write_summary(rows: Sequence[Row], out_dir: Path) -> tuple[Path, Path]:
    """``summary.json`` (counts and rows) and ``summary.csv`` (rows) in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = Counter(row.status for row in rows)
    json_path, csv_path = out_dir / "summary.json", out_dir / "summary.csv"
    summary = {
        "total": len(rows),
        "counts": dict(sorted(counts.items())),
        "statuses": STATUSES,
        "rows": [asdict(row) for row in rows],
    }
    json_path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    with csv_path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=[f.name for f in fields(Row)])
        writer.writeheader()
        writer.writerows(asdict(row) for row in rows)
    return json_path, csv_path


def read_links(path: Path) -> list[str]:
    """One product link a line; blank lines and ``#`` comments are skipped."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


# -- the command line -------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--links", type=Path, help="a file with one product link a line")
    source.add_argument("--count", type=int, default=20, help="generate this many sample links")
    parser.add_argument("--concurrency", type=int, default=16, help="submits at once")
    parser.add_argument("--downloads", type=int, default=8, help="downloads at once")
    parser.add_argument("--out", type=Path, default=Path("out/batch"), help="output directory")
    parser.add_argument(
        "--timeout", type=float, default=3600.0, help="seconds to wait for all the tasks"
    )
    parser.add_argument(
        "--busy-wait",
        type=float,
        default=10.0,
        help="seconds to wait before submitting again after 4007/5003 (doubles each time)",
    )
    parser.add_argument(
        "--speed", type=float, default=20.0, help="simulator only: run tasks this many times faster"
    )
    return parser


async def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    links = (
        read_links(args.links)
        if args.links
        else [f"https://shop.example.com/products/{n:05d}" for n in range(args.count)]
    )
    options = BatchOptions(
        concurrency=args.concurrency,
        downloads=args.downloads,
        busy_wait=args.busy_wait,
        poll=PollPolicy(timeout=args.timeout),
    )
    print(f"{len(links)} product links, {args.concurrency} submits at a time")
    if os.environ.get("TOPVIEW_API_KEY") and os.environ.get("TOPVIEW_UID"):
        print("Using the Topview API (TOPVIEW_API_KEY and TOPVIEW_UID are set).")
        async with AsyncTopview() as client:
            rows = await run_batch(client, links, args.out, options)
    else:
        from topview_async.testing import SimulatorConfig, SimulatorServer

        config = SimulatorConfig(seed=int(time.time()), time_scale=args.speed)
        async with SimulatorServer(config) as server:
            print(f"Using the built-in Topview simulator at {server.base_url}")
            print("(set TOPVIEW_API_KEY and TOPVIEW_UID to call the real API)")
            async with AsyncTopview(
                api_key=server.api_key, uid=server.uid, base_url=server.base_url
            ) as client:
                rows = await run_batch(client, links, args.out, options)

    json_path, csv_path = write_summary(rows, args.out)
    counts = Counter(row.status for row in rows)
    for status in STATUSES:
        if counts[status]:
            print(f"  {status:15} {counts[status]:6}  {STATUSES[status]}")
    print(f"Summary: {json_path} and {csv_path}")
    return 0 if counts["saved"] == len(rows) else 1


if __name__ == "__main__":
    sys.exit(anyio.run(main, sys.argv[1:]))
