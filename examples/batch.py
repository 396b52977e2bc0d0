"""Batch job: hundreds of Avatar Marketing Videos with the durable job runner.

Each product link becomes a job (key, task kind, submit arguments). The runner uploads,
submits, waits and downloads with bounded concurrency, journaling every step in
``OUT/journal.sqlite3``: kill it at any moment and run it again, and it skips what is done,
resumes the rest, and never pays twice for one video. Each job's videos land in ``OUT`` named
after its key, listed with their sha256 in ``OUT/manifest.jsonl``.

The same batch from the shell: ``topview batch run jobs.jsonl --out OUT``.

Runs against the built-in Topview simulator unless TOPVIEW_API_KEY and TOPVIEW_UID are set,
in which case it calls the real API (and spends credits)::

    python examples/batch.py --count 200 --out out/batch          # simulator
    python examples/batch.py --links links.txt --out out/batch    # one link a line

Exit status 0 when every job has its files, 1 otherwise (the manifest says which and why).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import anyio

from topview_async import AsyncTopview
from topview_async.jobs import Job, JobRunner, RunSummary


def jobs_for(links: list[str]) -> list[Job]:
    """One M2V job per link, keyed by its position (keys name the output files)."""
    options = {"aspect_ratio": "9:16", "video_length_type": 2, "language": "en"}
    return [
        Job(f"video-{n:05d}", "m2v", {"product_link": link, **options})
        for n, link in enumerate(links)
    ]


async def run(client: AsyncTopview, links: list[str], out: Path, concurrency: int) -> RunSummary:
    async with JobRunner(client, out, concurrency=concurrency) as runner:
        return await runner.run(jobs_for(links))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--links", type=Path, help="a file with one product link a line")
    source.add_argument("--count", type=int, default=20, help="generate this many sample links")
    parser.add_argument("--concurrency", type=int, default=16, help="submits at once")
    parser.add_argument("--out", type=Path, default=Path("out/batch"), help="output directory")
    parser.add_argument("--speed", type=float, default=20.0, help="simulator: tasks run faster")
    return parser


async def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.links:
        lines = args.links.read_text(encoding="utf-8").splitlines()
        links = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    else:
        links = [f"https://shop.example.com/products/{n:05d}" for n in range(args.count)]
    if os.environ.get("TOPVIEW_API_KEY") and os.environ.get("TOPVIEW_UID"):
        async with AsyncTopview() as client:
            summary = await run(client, links, args.out, args.concurrency)
    else:
        from topview_async.testing import SimulatorConfig, SimulatorServer

        async with SimulatorServer(SimulatorConfig(time_scale=args.speed)) as server:
            print(f"Using the built-in Topview simulator at {server.base_url}")
            async with AsyncTopview(
                api_key=server.api_key, uid=server.uid, base_url=server.base_url
            ) as client:
                summary = await run(client, links, args.out, args.concurrency)

    for status, count in sorted(summary.counts.items()):
        print(f"  {status:16} {count:6}")
    print(f"{summary.credits:g} credits; manifest: {args.out / 'manifest.jsonl'}")
    return 0 if summary.complete else 1


if __name__ == "__main__":
    sys.exit(anyio.run(main, sys.argv[1:]))
