"""Result media the simulator serves: deterministic bytes with Range and ETag support.

The bytes of a file depend only on (seed, name, size), so they need not be stored:
any range is generated on demand, in fixed chunks, which keeps large downloads cheap.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

# One table for what the SDK sends and what the simulator serves.
from ..lib._files import CONTENT_TYPES

CHUNK = 64 * 1024


# Real leading bytes so a sniffing client sees a plausible file type.
_MAGIC: dict[str, bytes] = {
    "mp4": b"\x00\x00\x00\x18ftypmp42",
    "png": b"\x89PNG\r\n\x1a\n",
    "jpg": b"\xff\xd8\xff\xe0",
    "mp3": b"ID3\x04\x00",
    "zip": b"PK\x03\x04",
}

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class MediaStore:
    """Generates and serves media; ``size`` may be changed at runtime (per test)."""

    def __init__(self, seed: int, size: int) -> None:
        self.seed = seed
        self.size = size

    def extension(self, name: str) -> str:
        return name.rsplit(".", 1)[-1].lower() if "." in name else ""

    def etag(self, name: str, size: int) -> str:
        digest = hashlib.sha256(f"{self.seed}:{name}:{size}".encode()).hexdigest()[:32]
        return f'"{digest}"'

    def chunk(self, name: str, index: int) -> bytes:
        data = random.Random(f"{self.seed}:{name}:{index}").randbytes(CHUNK)
        if index == 0:
            magic = _MAGIC.get(self.extension(name).replace("jpeg", "jpg"), b"")
            data = magic + data[len(magic) :]
        return data

    def read(self, name: str, start: int, end: int) -> bytes:
        """Bytes ``start`` to ``end`` inclusive (the whole file is ``self.size`` bytes)."""
        return b"".join(self._iter(name, start, end))

    def _iter(self, name: str, start: int, end: int) -> list[bytes]:
        parts: list[bytes] = []
        index = start // CHUNK
        while index * CHUNK <= end:
            data = self.chunk(name, index)
            base = index * CHUNK
            parts.append(data[max(start - base, 0) : end - base + 1])
            index += 1
        return parts

    async def _stream(self, name: str, start: int, end: int) -> AsyncIterator[bytes]:
        position = start
        while position <= end:
            stop = min(end, (position // CHUNK + 1) * CHUNK - 1)
            yield self.read(name, position, stop)
            position = stop + 1

    async def serve(self, request: Request) -> Response:
        """GET/HEAD of one media file, honouring a single ``Range: bytes=...``."""
        name = request.path_params["name"]
        size = self.size
        headers = {
            "accept-ranges": "bytes",
            "etag": self.etag(name, size),
            "content-type": CONTENT_TYPES.get(self.extension(name), "application/octet-stream"),
        }
        start, end, status = 0, size - 1, 200
        wanted = request.headers.get("range")
        if_range = request.headers.get("if-range")
        if wanted and (if_range is None or if_range == headers["etag"]):
            parsed = _parse_range(wanted, size)
            if parsed is None:
                headers["content-range"] = f"bytes */{size}"
                return Response(b"", status_code=416, headers=headers)
            if parsed != (-1, -1):
                start, end = parsed
                status = 206
                headers["content-range"] = f"bytes {start}-{end}/{size}"
        headers["content-length"] = str(max(end - start + 1, 0))
        if request.method == "HEAD" or size == 0:
            return Response(b"", status_code=status, headers=headers)
        return StreamingResponse(
            self._stream(name, start, end), status_code=status, headers=headers
        )


def _parse_range(value: str, size: int) -> tuple[int, int] | None:
    """``(start, end)``; ``(-1, -1)`` to ignore the header; ``None`` if unsatisfiable."""
    match = _RANGE.match(value.strip())
    if match is None:  # multiple ranges or another unit: serve the whole file (RFC 9110)
        return (-1, -1)
    first, last = match.groups()
    if not first and not last:
        return (-1, -1)
    if not first:
        length = int(last)
        if length == 0 or size == 0:
            return None
        return (max(size - length, 0), size - 1)
    start = int(first)
    if start >= size:
        return None
    end = min(int(last), size - 1) if last else size - 1
    if end < start:
        return (-1, -1)
    return (start, end)
