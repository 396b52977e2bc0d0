"""A tiny raw HTTP/1.1 server on 127.0.0.1 whose misbehaviour each test chooses.

Raw asyncio streams rather than a framework, because the tests need to do what frameworks
prevent: read a request and then drop the connection without answering.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Literal

Behaviour = Literal["envelope", "drop", "stall", "gzip", "big", "slow"]
BIG_BODY_SIZE = 1024 * 1024
SLOW_REPLY = 1.5
"""Seconds the ``slow`` server takes to answer (the server's behaviour; no test waits for it)."""


@dataclass
class Received:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    raw: bytes = b""  # the request as it arrived, head and body


@dataclass
class LoopbackServer:
    behaviour: Behaviour = "envelope"
    requests: list[Received] = field(default_factory=list)
    connections: int = 0
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                request_line, *header_lines = head.decode("latin-1").split("\r\n")
                method, target, _ = request_line.split(" ", 2)
                headers = {
                    name.strip().lower(): value.strip()
                    for name, _, value in (line.partition(":") for line in header_lines if line)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests.append(Received(method, target, headers, body, head + body))
                if self.behaviour == "drop":
                    return  # the request was read in full; the answer is never sent
                if self.behaviour == "slow":
                    await asyncio.sleep(SLOW_REPLY)
                if self.behaviour == "stall":
                    await reader.read()  # until the client gives up and closes
                    return
                writer.write(self._answer())
                await writer.drain()
        finally:
            writer.close()

    def _answer(self) -> bytes:
        extra = b""
        if self.behaviour == "big":
            body = b"x" * BIG_BODY_SIZE
        else:
            body = json.dumps({"code": "200", "message": "Success", "result": {"ok": 1}}).encode()
            if self.behaviour == "gzip":
                body = gzip.compress(body)
                extra = b"Content-Encoding: gzip\r\n"
        return (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + extra
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )


@asynccontextmanager
async def serve(behaviour: Behaviour = "envelope") -> AsyncIterator[LoopbackServer]:
    state = LoopbackServer(behaviour)
    server = await asyncio.start_server(state.handle, "127.0.0.1", 0)
    state.port = server.sockets[0].getsockname()[1]
    async with server:
        yield state
        server.close()


def refused_url() -> str:
    """A loopback URL where nothing listens: connecting fails at once with ECONNREFUSED."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
