"""Helpers shared by the end-to-end tests: client setup, test files, media checksums."""

from __future__ import annotations

import hashlib
import struct
import zlib
from pathlib import Path
from urllib.parse import urlsplit

from topview_async import AsyncTopview
from topview_async.lib.polling import PollPolicy, PollScheduler
from topview_async.testing import RecordedRequest, SimulatorServer

TIME_SCALE = 50.0
"""Simulated tasks run this much faster than Topview's (M2V: 6 s -> 0.12 s)."""
QUERY_CAP = 8
"""In-flight task queries allowed per client (the poll scheduler's cap)."""
FAST_POLL = PollPolicy(
    wait_initial=0.01, wait_min=0.01, wait_max=0.05, wait_jitter=0.1, timeout=30.0
)
MAX_SDK_SLEEP = 0.01


def make_client(sim: SimulatorServer, **options: object) -> AsyncTopview:
    """A client on ``sim`` with the fast poll settings (options go to ``AsyncTopview``)."""
    client = AsyncTopview(
        api_key=sim.api_key,
        uid=sim.uid,
        base_url=sim.base_url,
        **options,  # type: ignore[arg-type]
    )
    client.poll_policy = FAST_POLL  # type: ignore[attr-defined]
    client.poll_scheduler = PollScheduler(max_in_flight=QUERY_CAP, rate=None)
    return client


def png_bytes(width: int, height: int, seed: int = 0) -> bytes:
    """A valid PNG of ``width`` x ``height`` grey pixels (real header, decodable data)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = b"".join(b"\x00" + bytes([(seed + y) % 256]) * width for y in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def write_png(path: Path, width: int = 64, height: int = 48, seed: int = 0) -> Path:
    path.write_bytes(png_bytes(width, height, seed))
    return path


def media_name(url: str) -> str:
    """The simulator's media file name in a result URL (last path segment)."""
    return urlsplit(url).path.rsplit("/", 1)[-1]


def served_sha256(sim: SimulatorServer, url: str) -> str:
    """The sha256 of the bytes the simulator serves at ``url``, computed server side."""
    media = sim.simulator.media
    return hashlib.sha256(media.read(media_name(url), 0, media.size - 1)).hexdigest()


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def requests_to(
    sim: SimulatorServer, prefix: str, method: str | None = None
) -> list[RecordedRequest]:
    """Requests the simulator received on paths starting with ``prefix``."""
    return [
        r
        for r in sim.simulator.requests
        if r.path.startswith(prefix) and (method is None or r.method == method)
    ]
