"""The on-disk state of a resumable download: a locked ``.part`` file and its sidecar.

A resumable download (``download(..., resumable=True)``) writes to ``.<name>.part``
beside the destination, a name a later process can find again, and keeps beside it
``.<name>.part.json``: the validators of the first answer (ETag, or Last-Modified with the
length, and the total length) and the URL *without its query*. Presigned signatures and
credentials never reach the disk. The sidecar is replaced atomically, so a crash leaves
the old one or the new one.

Only one download at a time may write a ``.part`` file: it holds an exclusive
``fcntl.flock`` on it for as long as the download runs (released by the kernel when the
process dies, so a crash never leaves a stale lock). A second download of the same
destination, in this process or another, gets :class:`DownloadInProgressError` at once.
Windows has no ``flock``: there ``msvcrt.locking`` locks the file's first byte instead,
which also ends with the process; the rename into place then happens after the file is
closed (Windows cannot rename an open file), so a second download starting in that short
window is not excluded.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import sys
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "RENAME_WHILE_OPEN",
    "Kept",
    "discard",
    "open_locked",
    "read_kept",
    "sidecar_path",
    "write_sidecar",
]

RENAME_WHILE_OPEN = os.name == "posix"
"""POSIX renames (and unlinks) the locked file while still holding its lock."""

_FORMAT = 1
_READ_SIZE = 1 << 20


class _Locked(Exception):
    """The ``.part`` file is locked by another download."""


@dataclass
class Kept:
    """What a previous run left: ``size`` bytes from the answer these validators describe."""

    size: int
    etag: str | None
    last_modified: str | None
    total: int | None
    md5: Any  # a hashlib.md5 of the kept bytes when the ETag is an S3 MD5, else None


def sidecar_path(part: Path) -> Path:
    return part.with_name(part.name + ".json")


def open_locked(part: Path) -> int:
    """Open (or create) ``part`` and lock it exclusively; raise :class:`_Locked` if taken."""
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(5):
        fd = os.open(part, flags, 0o666)
        try:
            _lock(fd)
        except BaseException:
            os.close(fd)
            raise
        # The holder may have renamed the file into place before releasing it: the lock
        # then belongs to the destination's inode. Only a lock on the path's file counts.
        with suppress(FileNotFoundError):
            if os.path.samestat(os.fstat(fd), os.stat(part)):
                return fd
        os.close(fd)
    raise _Locked(f"{part} keeps being replaced by another download")


def _lock(fd: int) -> None:
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError as exc:
            raise _Locked(str(exc)) from None
    else:
        import fcntl

        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _Locked("locked") from None


def read_kept(fd: int, part: Path, source: str) -> Kept | None:
    """What the locked ``part`` holds and can be resumed, or ``None`` (then it is emptied).

    ``source`` is the URL without its query: a sidecar written for another URL is not used.
    """
    kept = _read(fd, part, source)
    if kept is None:
        os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_END)  # PartFile appends at the descriptor's position
    return kept


def _read(fd: int, part: Path, source: str) -> Kept | None:
    size = os.fstat(fd).st_size
    if size == 0:
        return None
    try:
        data = json.loads(sidecar_path(part).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != _FORMAT:
        return None
    if data.get("source") != source:
        return None
    etag, last_modified, total = data.get("etag"), data.get("last_modified"), data.get("total")
    if not isinstance(etag, str | None) or not isinstance(last_modified, str | None):
        return None
    if total is not None and (not isinstance(total, int) or size > total):
        return None
    if etag is None and last_modified is None:
        return None  # nothing would prove the rest belongs to the same object
    md5 = None
    if data.get("md5") is True:
        md5 = hashlib.md5(usedforsecurity=False)
        os.lseek(fd, 0, os.SEEK_SET)
        offset = 0
        while offset < size:
            block = os.read(fd, min(_READ_SIZE, size - offset))
            if not block:
                return None
            md5.update(block)
            offset += len(block)
    return Kept(size, etag, last_modified, total, md5)


def write_sidecar(
    part: Path,
    source: str,
    etag: str | None,
    last_modified: str | None,
    total: int | None,
    md5: bool,
) -> None:
    """Record the validators of the answer ``part`` is being filled from (atomically)."""
    sidecar = sidecar_path(part)
    data = {
        "format": _FORMAT,
        "source": source,
        "etag": etag,
        "last_modified": last_modified,
        "total": total,
        "md5": md5,
    }
    temporary = sidecar.with_name(f"{sidecar.name}.{secrets.token_hex(4)}.tmp")
    try:
        with temporary.open("w", encoding="utf-8") as stream:
            json.dump(data, stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, sidecar)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def discard(part: Path) -> None:
    """Remove ``part`` and its sidecar (call while holding the lock where possible)."""
    for path in (part, sidecar_path(part)):
        with suppress(FileNotFoundError):
            os.unlink(path)
