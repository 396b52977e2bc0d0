"""Result media the simulator serves: deterministic bytes with Range and ETag support.

The bytes of a file depend only on (seed, name, version, size), so they need not be
stored: any range is generated on demand, in fixed chunks, which keeps large downloads
cheap. A file starts at version 0; a ``change_content`` fault moves it to the next version
(new bytes), with a new ETag, the old one (a lying server) or none. The media faults
``ignore_range`` and ``ignore_if_range`` are applied here too.
"""

from __future__ import annotations

import hashlib
import random
import re
import threading
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
        self.versions: dict[str, int] = {}
        """The current version of each file that changed (absent: version 0)."""
        self._pinned_etags: dict[str, str] = {}
        self._without_etag: set[str] = set()
        self._lock = threading.Lock()

    def extension(self, name: str) -> str:
        return name.rsplit(".", 1)[-1].lower() if "." in name else ""

    def version(self, name: str) -> int:
        return self.versions.get(name, 0)

    def etag(self, name: str, size: int, version: int | None = None) -> str:
        version = self.version(name) if version is None else version
        key = f"{self.seed}:{name}:{size}" + (f":v{version}" if version else "")
        return f'"{hashlib.sha256(key.encode()).hexdigest()[:32]}"'

    def served_etag(self, name: str, size: int) -> str | None:
        """The ETag the server sends now: the real one, a reused one, or none."""
        if name in self._without_etag:
            return None
        return self._pinned_etags.get(name) or self.etag(name, size)

    def change(self, name: str, how: str, size: int) -> None:
        """Make ``name`` a new version; ``how`` is a ``Fault.change_content`` value."""
        with self._lock:
            if how == "same_etag":
                self._pinned_etags.setdefault(name, self.etag(name, size))
            else:
                self._pinned_etags.pop(name, None)
            self.versions[name] = self.version(name) + 1

    def sha256(self, name: str, version: int | None = None) -> str:
        """The sha256 of the whole file (of ``version``, default the current one)."""
        version = self.version(name) if version is None else version
        digest = hashlib.sha256()
        for part in self._iter(name, 0, self.size - 1, version):
            digest.update(part)
        return digest.hexdigest()

    def chunk(self, name: str, index: int, version: int = 0) -> bytes:
        key = f"{self.seed}:{name}:{index}" + (f":v{version}" if version else "")
        data = random.Random(key).randbytes(CHUNK)
        if index == 0:
            magic = _MAGIC.get(self.extension(name).replace("jpeg", "jpg"), b"")
            data = magic + data[len(magic) :]
        return data

    def read(self, name: str, start: int, end: int, version: int | None = None) -> bytes:
        """Bytes ``start`` to ``end`` inclusive (the whole file is ``self.size`` bytes)."""
        version = self.version(name) if version is None else version
        return b"".join(self._iter(name, start, end, version))

    def _iter(self, name: str, start: int, end: int, version: int = 0) -> list[bytes]:
        parts: list[bytes] = []
        index = start // CHUNK
        while index * CHUNK <= end:
            data = self.chunk(name, index, version)
            base = index * CHUNK
            parts.append(data[max(start - base, 0) : end - base + 1])
            index += 1
        return parts

    async def _stream(self, name: str, start: int, end: int, version: int) -> AsyncIterator[bytes]:
        position = start
        while position <= end:
            stop = min(end, (position // CHUNK + 1) * CHUNK - 1)
            yield self.read(name, position, stop, version)
            position = stop + 1

    async def serve(self, request: Request) -> Response:
        """GET/HEAD of one media file, honouring a single ``Range: bytes=...``."""
        name = request.path_params["name"]
        size = self.size
        fault = getattr(request.state, "fault", None)
        change = getattr(fault, "change_content", None)
        if change == "no_etag":
            self._without_etag.add(name)  # from this answer on, as the fault says
        version = self.version(name)  # this answer keeps the bytes it started with
        etag = self.served_etag(name, size)
        headers = {
            "accept-ranges": "bytes",
            "content-type": CONTENT_TYPES.get(self.extension(name), "application/octet-stream"),
        }
        if etag is not None:
            headers["etag"] = etag
        if change is not None:
            self.change(name, change, size)
        start, end, status = 0, size - 1, 200
        wanted = request.headers.get("range")
        if getattr(fault, "ignore_range", False):
            wanted = None
        if_range = request.headers.get("if-range")
        if_range_holds = if_range is None or (etag is not None and if_range == etag)
        if wanted and (if_range_holds or getattr(fault, "ignore_if_range", False)):
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
            self._stream(name, start, end, version), status_code=status, headers=headers
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
