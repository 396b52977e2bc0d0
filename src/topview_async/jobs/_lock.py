"""One run per output directory: an exclusive lock on ``OUT/.topview-batch.lock``.

Two runs on one OUT would break each other's downloads and overwrite each other's journal
rows. Whoever opens the batch (the journal of the local engine, the starter of the Temporal
engine, ``batch resolve``, ``batch retry``, ``batch rebuild``) takes the lock first and holds
it until it is done; a second one gets :class:`~topview_async.BatchLockedError` at once,
naming the process that holds it.

The lock is ``fcntl.flock`` (``msvcrt.locking`` on Windows), so the kernel releases it when
the holder dies, SIGKILL included: a crash never leaves a stale lock. The file stays; its
content is the holder's PID, for the message only.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from types import TracebackType

from .._exceptions import BatchLockedError

__all__ = ["LOCK_NAME", "DirectoryLock"]

LOCK_NAME = ".topview-batch.lock"

_WINDOWS_LOCK_OFFSET = 4096
"""Windows locks are mandatory: the locked byte sits past the PID so others can read it."""


class DirectoryLock:
    """The exclusive lock of the batch in ``out_dir`` (not re-entrant; ``release`` is safe
    to call twice).

    ::

        with DirectoryLock(out):
            ...  # nobody else runs a batch in ``out`` meanwhile
    """

    def __init__(self, out_dir: str | os.PathLike[str]) -> None:
        self.path = Path(out_dir) / LOCK_NAME
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock, or raise :class:`BatchLockedError` naming its holder."""
        if self._fd is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(self.path, flags, 0o666)
        try:
            if not _try_lock(fd):
                pid = _read_pid(fd)
                holder = f"process {pid}" if pid else "another process"
                raise BatchLockedError(
                    f"{self.path.parent} is in use by {holder} (another batch run, resolve or "
                    "rebuild); wait for it to end, or stop it, then try again",
                    pid=pid,
                )
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, f"{os.getpid()}\n".encode())
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)  # no PID of a process that no longer holds it
            os.close(fd)  # closing releases the lock

    def __enter__(self) -> DirectoryLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _read_pid(fd: int) -> int | None:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 32).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
