"""A loopback storage server for the transfer tests (a stand-in for S3 until the simulator).

GET  /files/{name}   serves bytes with Content-Length, an MD5 ETag, Range and If-Range; can
                     drop the connection mid-body, ignore Range, or lie about its content.
PUT  /upload/{key}   a presigned PUT: checks the signature query byte for byte, refuses
                     Authorization/Topview-Uid like S3, can expire or fail a number of times.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from aiohttp import web

SIGNATURE = "ab%2Fcd%2Bef%3D"
CREDENTIAL = "AKIAEXAMPLE%2F20250101%2Fus-east-1%2Fs3%2Faws4_request"
_RANGE = re.compile(r"^bytes=(\d+)-$")


def s3_error(status: int, code: str, message: str) -> web.Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        "<RequestId>TESTREQ</RequestId></Error>"
    )
    return web.Response(status=status, text=body, content_type="application/xml")


@dataclass
class Recorded:
    method: str
    raw_path: str
    headers: dict[str, str]
    body_size: int = 0
    sent: int = 0
    """GET: body bytes the server wrote before finishing or dropping the connection."""

    @property
    def range_start(self) -> int | None:
        match = _RANGE.match(self.headers.get("Range", ""))
        return int(match.group(1)) if match else None


@dataclass
class StorageServer:
    base: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    drops: dict[str, list[int]] = field(default_factory=dict)
    """Per file, how many body bytes to send before dropping, one entry per response."""
    served_body: dict[str, bytes] = field(default_factory=dict)
    """Per file, bytes served instead of the real ones (the ETag stays the real MD5)."""
    served_in_turn: dict[str, list[bytes]] = field(default_factory=dict)
    """Per file, bytes served by successive answers (then the usual ones)."""
    replace_after_drop: dict[str, bytes] = field(default_factory=dict)
    """Per file, a new version that replaces it once the connection has been dropped."""
    ignore_range: bool = False
    ignore_if_range: bool = False
    """Answer a Range request with 206 whatever its If-Range says (a lying server)."""
    send_etag: bool = True
    etag_on_partial: bool = True
    """Whether 206 answers carry the ETag too."""
    fixed_etags: dict[str, str] = field(default_factory=dict)
    """Per file, an ETag served whatever the content (a server reusing a strong ETag)."""
    last_modified: dict[str, str] = field(default_factory=dict)
    """Per file, a Last-Modified date to serve (and to accept as If-Range)."""
    s3_headers: bool = True
    objects: dict[str, bytes] = field(default_factory=dict)
    expire_next: int = 0
    fail_next: int = 0
    reject_body_sizes: set[int] = field(default_factory=set)
    """PUT bodies of these sizes get a final 400 BadDigest."""
    requests: list[Recorded] = field(default_factory=list)

    def url(self, name: str) -> str:
        return f"{self.base}/files/{name}?X-Amz-Signature={SIGNATURE}"

    def upload_url(self, key: str) -> str:
        return (
            f"{self.base}/upload/{key}?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            f"&X-Amz-Credential={CREDENTIAL}&X-Amz-SignedHeaders=host&X-Amz-Expires=86400"
            f"&X-Amz-Signature={SIGNATURE}"
        )

    def etag(self, name: str) -> str:
        if name in self.fixed_etags:
            return self.fixed_etags[name]
        return '"' + hashlib.md5(self.files[name]).hexdigest() + '"'

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/files/{name}", self._get)
        app.router.add_put("/upload/{key}", self._put)
        return app

    async def _get(self, request: web.Request) -> web.StreamResponse:
        record = Recorded("GET", request.raw_path, dict(request.headers))
        self.requests.append(record)
        name = request.match_info["name"]
        if name not in self.files:
            return s3_error(404, "NoSuchKey", "The specified key does not exist.")
        data = self.files[name]
        served = self.served_body.get(name, data)
        if self.served_in_turn.get(name):
            served = self.served_in_turn[name].pop(0)
        etag = self.etag(name)
        headers = {"Accept-Ranges": "bytes"}
        if self.send_etag:
            headers["ETag"] = etag
        if name in self.last_modified:
            headers["Last-Modified"] = self.last_modified[name]
        if self.s3_headers:
            headers |= {"Server": "AmazonS3", "x-amz-request-id": "TESTREQ"}
        start, status = 0, 200
        match = _RANGE.match(request.headers.get("Range", ""))
        if_range = request.headers.get("If-Range")
        valid = {etag if self.send_etag else None, self.last_modified.get(name)}
        if (
            match
            and not self.ignore_range
            and (if_range is None or if_range in valid or self.ignore_if_range)
        ):
            start = int(match.group(1))
            if start >= len(served):
                return web.Response(status=416, headers={"Content-Range": f"bytes */{len(data)}"})
            status = 206
            headers["Content-Range"] = f"bytes {start}-{len(served) - 1}/{len(served)}"
            if not self.etag_on_partial:
                headers.pop("ETag", None)
        payload = served[start:]
        response = web.StreamResponse(status=status, headers=headers)
        response.content_length = len(payload)
        await response.prepare(request)
        pending = self.drops.get(name)
        if pending:
            cut = pending.pop(0)
            await response.write(payload[:cut])
            record.sent = len(payload[:cut])
            assert request.transport is not None
            # close(), not abort(): the bytes written so far still reach the client, so
            # ``sent`` is exactly what it received before the connection ended early.
            request.transport.close()
            if name in self.replace_after_drop:
                self.files[name] = self.replace_after_drop.pop(name)
            return response
        await response.write(payload)
        record.sent = len(payload)
        await response.write_eof()
        return response

    async def _put(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append(Recorded("PUT", request.raw_path, dict(request.headers), len(body)))
        if "Authorization" in request.headers or "Topview-Uid" in request.headers:
            return s3_error(400, "InvalidArgument", "Only one auth mechanism allowed")
        query = request.raw_path.partition("?")[2]
        if f"X-Amz-Signature={SIGNATURE}" not in query or f"X-Amz-Credential={CREDENTIAL}" not in (
            query
        ):
            return s3_error(403, "SignatureDoesNotMatch", "The request signature does not match")
        if self.expire_next:
            self.expire_next -= 1
            return s3_error(403, "AccessDenied", "Request has expired")
        if len(body) in self.reject_body_sizes:
            return s3_error(400, "BadDigest", "The Content-MD5 you specified did not match")
        if self.fail_next:
            self.fail_next -= 1
            return s3_error(500, "InternalError", "We encountered an internal error")
        self.objects[request.match_info["key"]] = body
        return web.Response(status=200, headers={"ETag": '"' + hashlib.md5(body).hexdigest() + '"'})


@dataclass(frozen=True)
class Credential:
    file_id: str
    upload_url: str


@dataclass
class FakeUploadApi:
    """The credential and check endpoints, backed by the loopback storage server."""

    server: StorageServer
    check_answers: list[object] = field(default_factory=list)
    """Answers to give to the next checks before reporting the real state ("true" string)."""
    credential_calls: list[str] = field(default_factory=list)
    check_calls: list[str] = field(default_factory=list)
    issued: dict[str, str] = field(default_factory=dict)

    @property
    def calls(self) -> int:
        return len(self.credential_calls) + len(self.check_calls)

    async def get_credential(self, *, format: str) -> Credential:
        self.credential_calls.append(format)
        file_id = f"file-{len(self.credential_calls)}"
        key = f"{file_id}.{format}"
        self.issued[file_id] = key
        return Credential(file_id=file_id, upload_url=self.server.upload_url(key))

    async def check(self, *, file_id: str) -> object:
        self.check_calls.append(file_id)
        if self.check_answers:
            return self.check_answers.pop(0)
        return "true" if self.issued.get(file_id) in self.server.objects else False


def make_png(width: int, height: int) -> bytes:
    """A valid grayscale PNG of the given size (enough for header readers like imagesize)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + b"\x80" * width for _ in range(height)))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )
