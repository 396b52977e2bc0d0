"""Quick start: product images in, an Avatar Marketing Video on disk.

1. upload local product images (concurrently, straight to storage),
2. submit an Avatar Marketing Video task,
3. follow it with a live progress line,
4. download the finished video and print where it was saved.

Runs against the built-in Topview simulator unless TOPVIEW_API_KEY and TOPVIEW_UID are set,
in which case it calls the real API (and spends credits)::

    python examples/quickstart.py                      # simulator, sample images
    python examples/quickstart.py shots/*.png          # your own images (more than 10)
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
import time
import zlib
from pathlib import Path

import anyio

from topview_async import AsyncTopview


async def make_video(client: AsyncTopview, images: list[Path], out_dir: Path) -> Path:
    """The whole pipeline, as a user would write it."""

    def on_upload(source: object, sent: int, total: int | None) -> None:
        if total and sent == total:
            print(f"  uploaded {Path(str(source)).name} ({total:,} bytes)")

    print(f"Uploading {len(images)} product image(s)...")
    file_ids = await client.uploads.upload_many(images, progress=on_upload)

    print("Submitting an Avatar Marketing Video...")
    task = await client.marketing_videos.submit(
        file_ids=file_ids,
        product_name="Trail running shoe",
        product_description="Light, grippy and waterproof: made for muddy mornings.",
        aspect_ratio="9:16",
        video_length_type=2,
        language="en",
    )
    print(f"  task {task.task_id}")

    started = time.monotonic()
    async for update in task.watch():
        elapsed = time.monotonic() - started
        print(f"  [{elapsed:6.1f}s] status: {update.status or 'pending'}")

    # The task is finished, so this returns at once (a failed task raises TaskFailedError).
    # `await task.download(out_dir)` would save every exported video; the demo keeps one.
    files = await task.result_files()  # list[ResultFile], each with url and a default name
    if not files:
        raise SystemExit("the task finished without an exported video")
    video = files[0]
    print(f"Downloading {video.name} (1 of {len(files)} exported)...")
    return await client.download(video.url, out_dir / video.name)


def sample_images(directory: Path, count: int = 11) -> list[Path]:
    """Tiny PNG 'product photos' so the demo needs no files of your own."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        path = directory / f"product_{index + 1}.png"
        path.write_bytes(_png(64, 64, ((40 + 70 * index) % 256, 120, (200 - 50 * index) % 256)))
        paths.append(path)
    return paths


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="*", type=Path, help="product images (default: samples)")
    parser.add_argument("--out", type=Path, default=Path("out"), help="where to save the video")
    parser.add_argument(
        "--speed", type=float, default=1.0, help="simulator only: run tasks this many times faster"
    )
    args = parser.parse_args(argv)
    images = args.images or sample_images(args.out / "inputs")

    if os.environ.get("TOPVIEW_API_KEY") and os.environ.get("TOPVIEW_UID"):
        print("Using the real Topview API (TOPVIEW_API_KEY and TOPVIEW_UID are set).")
        async with AsyncTopview() as client:
            path = await make_video(client, images, args.out)
    else:
        from topview_async.testing import SimulatorConfig, SimulatorServer

        # A marketing video takes minutes on Topview; the simulator's takes a few seconds.
        async with SimulatorServer(
            SimulatorConfig(seed=int(time.time()), time_scale=args.speed)
        ) as server:
            print(f"Using the built-in Topview simulator at {server.base_url}")
            print("(set TOPVIEW_API_KEY and TOPVIEW_UID to call the real API)")
            async with AsyncTopview(
                api_key=server.api_key, uid=server.uid, base_url=server.base_url
            ) as client:
                path = await make_video(client, images, args.out)
    print(f"Saved the video to {path.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(anyio.run(main, sys.argv[1:]))
