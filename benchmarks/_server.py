"""Loopback servers for the benchmarks, run in their own process(es).

``python -m benchmarks._server [--files DIR] [--workers N] [--max-seconds S]`` listens on
127.0.0.1 and prints one JSON line: the ports of

* ``api``: a keep-alive HTTP/1.1 server built on :class:`asyncio.Protocol` that answers every
  query with a fixed, precomputed response (the M2V query envelope, the upload credential
  and the upload check), so it costs far less CPU than the client being measured;
* ``storage``: the presigned-PUT endpoint: it reads and discards the body, answers 200;
* ``files``: a static file server for DIR with ``sendfile`` and single ``Range`` support;

and the ids of its worker processes (so the harness can read their CPU time). With
``--workers N`` the same ports are served by N processes (``SO_REUSEPORT``). The server stops
when its stdin closes (the harness went away) or after ``--max-seconds``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import select
import socket
import subprocess
import sys
from email.utils import formatdate
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ._payloads import CHECK_ENVELOPE, M2V_QUERY_ENVELOPE, credential_envelope

_NOT_FOUND = b'{"code":"4004","message":"Resource not found","result":null}'
_MAX_HEAD = 64 * 1024


def _response(status: str, body: bytes, content_type: str = "application/json") -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    )
    return head.encode("ascii") + body


_M2V_RESPONSE = _response("200 OK", M2V_QUERY_ENVELOPE)
_CHECK_RESPONSE = _response("200 OK", CHECK_ENVELOPE)
_NOT_FOUND_RESPONSE = _response("404 Not Found", _NOT_FOUND)
_PUT_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n"
_BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class _ApiProtocol(asyncio.Protocol):
    """Keep-alive HTTP/1.1 with pipelining; bodies (PUT) are counted and dropped."""

    storage_port = 0
    file_ids = itertools.count(1)

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.body_left = 0  # bytes of a Content-Length body still to drop
        self.chunked = False  # dropping a chunked body
        self.reply = b""  # sent once the body has been read

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        if self.body_left and not self.buffer:
            # The hot path of an upload: drop body bytes without copying them.
            if len(data) <= self.body_left:
                self.body_left -= len(data)
                if self.body_left == 0:
                    self._send(self.reply)
                return
            data = data[self.body_left :]
            self.body_left = 0
            self._send(self.reply)
        self.buffer += data
        self._process()

    def _process(self) -> None:
        buffer = self.buffer
        while buffer:
            if self.body_left:
                taken = min(self.body_left, len(buffer))
                del buffer[:taken]
                self.body_left -= taken
                if self.body_left:
                    return
                self._send(self.reply)
                continue
            if self.chunked:
                if not self._drop_chunk():
                    return
                continue
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > _MAX_HEAD:
                    self._send(_BAD_REQUEST)
                    assert self.transport is not None
                    self.transport.close()
                return
            head = bytes(buffer[:end])
            del buffer[: end + 4]
            self._handle(head)

    def _handle(self, head: bytes) -> None:
        line_end = head.find(b"\r\n")
        request_line = head if line_end < 0 else head[:line_end]
        parts = request_line.split(b" ")
        method, target = (parts[0], parts[1]) if len(parts) >= 2 else (b"", b"/")
        path = target.split(b"?", 1)[0]
        if method == b"GET":
            if path == b"/v1/m2v/task/query":
                self._send(_M2V_RESPONSE)
            elif path == b"/v1/upload/credential":
                self._send(self._credential(target))
            elif path == b"/v1/upload/check":
                self._send(_CHECK_RESPONSE)
            else:
                self._send(_NOT_FOUND_RESPONSE)
            return
        lower = head.lower()
        reply = _PUT_RESPONSE if method == b"PUT" else _NOT_FOUND_RESPONSE
        if b"transfer-encoding: chunked" in lower:
            self.chunked, self.reply = True, reply
            return
        length = 0
        at = lower.find(b"\r\ncontent-length:")
        if at >= 0:
            value_end = lower.find(b"\r\n", at + 2)
            length = int(lower[at + 17 : value_end if value_end >= 0 else None].strip())
        if length:
            self.body_left, self.reply = length, reply
        else:
            self._send(reply)

    def _drop_chunk(self) -> bool:
        """Drop one chunk of a chunked body; False when more bytes are needed."""
        buffer = self.buffer
        end = buffer.find(b"\r\n")
        if end < 0:
            return False
        size = int(bytes(buffer[:end]).split(b";", 1)[0], 16)
        if size == 0:
            trailer_end = buffer.find(b"\r\n\r\n")
            if trailer_end < 0:
                return False
            del buffer[: trailer_end + 4]
            self.chunked = False
            self._send(self.reply)
            return True
        if len(buffer) < end + 2 + size + 2:
            return False
        del buffer[: end + 2 + size + 2]
        return True

    def _credential(self, target: bytes) -> bytes:
        query = target.split(b"?", 1)[1].decode() if b"?" in target else ""
        params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
        file_id = f"{os.getpid():x}{next(self.file_ids):012x}"
        fmt = params.get("format", "mp4")
        url = (
            f"http://127.0.0.1:{self.storage_port}/bucket/{file_id}.{fmt}"
            "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-SignedHeaders=host"
            "&X-Amz-Expires=86400&X-Amz-Signature=0123abcd"
        )
        return _response("200 OK", credential_envelope(file_id, url, fmt))

    def _send(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)


async def _serve_file(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, root: Path
) -> None:
    """Keep-alive GET/HEAD of files under ``root``; the body goes out with sendfile."""
    loop = asyncio.get_running_loop()
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                return
            lines = head.decode("latin-1").split("\r\n")
            method, target = [*lines[0].split(" "), "", ""][:2]
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            name = unquote(urlsplit(target).path).lstrip("/")
            path = (root / name).resolve()
            if method not in ("GET", "HEAD") or path.parent != root or not path.is_file():
                writer.write(_NOT_FOUND_RESPONSE)
                await writer.drain()
                continue
            with path.open("rb") as file:
                stat = os.fstat(file.fileno())
                size = stat.st_size
                etag = f'"{size:x}-{stat.st_mtime_ns:x}"'
                start, end, status = 0, size - 1, "200 OK"
                wanted = headers.get("range", "")
                if_range = headers.get("if-range")
                if wanted.startswith("bytes=") and (if_range is None or if_range == etag):
                    first, _, last = wanted[6:].split(",")[0].partition("-")
                    if first:
                        start = int(first)
                        end = min(int(last), size - 1) if last else size - 1
                    elif last:
                        start = max(0, size - int(last))
                    if start >= size or start > end:
                        writer.write(
                            f"HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{size}"
                            "\r\nContent-Length: 0\r\n\r\n".encode()
                        )
                        await writer.drain()
                        continue
                    status = "206 Partial Content"
                length = end - start + 1
                extra = (
                    f"Content-Range: bytes {start}-{end}/{size}\r\n" if status[0:3] == "206" else ""
                )
                writer.write(
                    (
                        f"HTTP/1.1 {status}\r\nContent-Type: application/octet-stream\r\n"
                        f"Content-Length: {length}\r\nAccept-Ranges: bytes\r\nETag: {etag}\r\n"
                        f"Last-Modified: {formatdate(stat.st_mtime, usegmt=True)}\r\n{extra}"
                        "Connection: keep-alive\r\n\r\n"
                    ).encode("latin-1")
                )
                await writer.drain()
                if method == "GET" and length:
                    await loop.sendfile(writer.transport, file, start, length)
            if headers.get("connection", "").lower() == "close":
                return
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


def _listen(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if hasattr(socket, "SO_REUSEPORT"):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(4096)
    sock.setblocking(False)
    return sock


async def _run(sockets: dict[str, socket.socket], root: Path | None, max_seconds: float) -> None:
    loop = asyncio.get_running_loop()
    _ApiProtocol.storage_port = sockets["storage"].getsockname()[1]
    servers = [
        await loop.create_server(_ApiProtocol, sock=sockets["api"]),
        await loop.create_server(_ApiProtocol, sock=sockets["storage"]),
    ]
    if root is not None:
        resolved = root.resolve()
        servers.append(
            await asyncio.start_server(
                lambda r, w: _serve_file(r, w, resolved), sock=sockets["files"]
            )
        )
    stdin_closed = loop.create_future()

    def on_stdin() -> None:
        if not os.read(sys.stdin.fileno(), 4096) and not stdin_closed.done():
            stdin_closed.set_result(None)

    with contextlib.suppress(OSError, ValueError):
        loop.add_reader(sys.stdin.fileno(), on_stdin)
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stdin_closed, max_seconds)
    for server in servers:
        server.close()


class ServerProcess:
    """The harness side: start the servers in a child process, stop them on exit.

    ::

        with ServerProcess(files=directory) as server:
            server.url("api"), server.cpu_seconds()
    """

    def __init__(self, *, files: Path | None = None, workers: int = 1) -> None:
        command = [sys.executable, "-m", "benchmarks._server", "--workers", str(workers)]
        if files is not None:
            command += ["--files", str(files)]
        self._command = command
        self._process: subprocess.Popen[str] | None = None
        self.ports: dict[str, int] = {}
        self.pids: list[int] = []

    def __enter__(self) -> ServerProcess:
        from ._common import child_env

        self._process = subprocess.Popen(
            self._command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=child_env(),
        )
        assert self._process.stdout is not None
        ready, _, _ = select.select([self._process.stdout], [], [], 30.0)
        line = self._process.stdout.readline() if ready else ""
        if not line:
            self.__exit__(None, None, None)
            raise RuntimeError("benchmark server did not start")
        info = json.loads(line)
        self.pids = info.pop("pids")
        self.ports = info
        return self

    def url(self, role: str) -> str:
        return f"http://127.0.0.1:{self.ports[role]}"

    def cpu_seconds(self) -> float:
        """CPU time used so far by every server process."""
        from ._common import process_cpu_seconds

        return sum(process_cpu_seconds(pid) for pid in self.pids)

    def __exit__(self, *exc_info: object) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        assert process.stdin is not None
        process.stdin.close()  # the servers stop when their stdin closes
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=Path, help="directory served by the file server")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, default=1800.0)
    args = parser.parse_args(argv)

    roles = ["api", "storage"] + (["files"] if args.files else [])
    sockets = {role: _listen(0) for role in roles}
    ports = {role: sock.getsockname()[1] for role, sock in sockets.items()}
    pids = [os.getpid()]
    for _ in range(max(1, args.workers) - 1):
        pid = os.fork()
        if pid == 0:
            # Each worker has its own sockets on the same ports: the kernel spreads connections.
            for inherited in sockets.values():
                inherited.close()
            sockets = {role: _listen(port) for role, port in ports.items()}
            pids = []
            break
        pids.append(pid)
    if pids:
        print(json.dumps({**ports, "pids": pids}), flush=True)
    asyncio.run(_run(sockets, args.files, args.max_seconds))
    for pid in pids[1:]:
        os.waitpid(pid, 0)  # the workers saw the same stdin close: wait so none outlives us


if __name__ == "__main__":
    main()
