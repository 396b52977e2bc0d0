"""Local file checks shared by uploads and downloads, the transfer errors, and the file a
download writes (:class:`PartFile`).

Everything here runs before any network call, so bad input costs nothing: a missing or
empty file, a format Topview does not accept, or an AnyShoot mask whose pixel size
differs from its image is reported with a typed error naming the file.

The transfer errors are defined in :mod:`topview_async._exceptions` (the one exception tree)
and re-exported here for the modules that import them from this one.
"""

from __future__ import annotations

import inspect
import io
import os
import random
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import anyio.to_thread
import httpx
import imagesize

# The transfer errors live in _exceptions.py; re-exported from their old home.
from .._exceptions import ConfigurationError
from .._exceptions import DownloadError as DownloadError
from .._exceptions import DownloadInProgressError as DownloadInProgressError
from .._exceptions import DownloadManyError as DownloadManyError
from .._exceptions import DownloadTimeoutError as DownloadTimeoutError
from .._exceptions import IntegrityError as IntegrityError
from .._exceptions import InvalidFileError as InvalidFileError
from .._exceptions import MaskSizeMismatchError as MaskSizeMismatchError
from .._exceptions import TransferError as TransferError
from .._exceptions import UnsupportedFormatError as UnsupportedFormatError
from .._exceptions import UploadError as UploadError
from .._exceptions import UploadManyError as UploadManyError
from .._generated.task_kinds import CONTENT_TYPES as _CONTENT_TYPES
from .._generated.task_kinds import UPLOAD_FORMATS

ALLOWED_FORMATS: frozenset[str] = frozenset(UPLOAD_FORMATS)
"""The upload formats ``/v1/upload/credential`` accepts (its ``format`` enum in the spec)."""

CONTENT_TYPES: Mapping[str, str] = _CONTENT_TYPES
"""Content-Type sent with the storage PUT, by format (the spec's ``x-topview-content-types``;
not signed by S3, so any is accepted)."""

ImageSource: TypeAlias = str | os.PathLike[str] | bytes | bytearray | memoryview
"""A local image: a path, or its bytes."""


# --- formats ----------------------------------------------------------------------------


def normalize_format(format: str, *, path: str | os.PathLike[str] | None = None) -> str:
    """Return ``format`` lower-cased without a leading dot, or raise UnsupportedFormatError."""
    normalized = format.strip().lstrip(".").lower()
    if normalized not in ALLOWED_FORMATS:
        raise UnsupportedFormatError(path, normalized, allowed=ALLOWED_FORMATS)
    return normalized


def format_from_path(path: str | os.PathLike[str]) -> str:
    """The upload format given by a path's suffix (case-insensitive), validated."""
    return normalize_format(Path(path).suffix, path=path)


def content_type_for(format: str) -> str:
    """The Content-Type for an upload format (``image/png``, ``video/mp4``, ...)."""
    return CONTENT_TYPES[normalize_format(format)]


# --- local files ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LocalFile:
    """A local file checked for upload."""

    path: Path
    format: str
    size: int


def check_file(path: str | os.PathLike[str], *, format: str | None = None) -> LocalFile:
    """Check that ``path`` is a non-empty regular file in an allowed format.

    ``format`` overrides the suffix. Raises :class:`InvalidFileError` (or its
    :class:`UnsupportedFormatError` subclass); sends nothing.
    """
    file_path = Path(path)
    # Format first: it needs no file system access and is the likelier mistake.
    fmt = normalize_format(format, path=file_path) if format else format_from_path(file_path)
    try:
        stat = file_path.stat()
    except FileNotFoundError:
        raise InvalidFileError(file_path, "file does not exist") from None
    except OSError as exc:
        raise InvalidFileError(file_path, f"cannot read file: {exc.strerror or exc}") from exc
    if not file_path.is_file():
        raise InvalidFileError(file_path, "not a regular file")
    if stat.st_size == 0:
        raise InvalidFileError(file_path, "file is empty")
    return LocalFile(path=file_path, format=fmt, size=stat.st_size)


def image_size(image: ImageSource) -> tuple[int, int]:
    """``(width, height)`` in pixels, read from the image headers only.

    Uses the stored dimensions (EXIF rotation ignored): masks are compared pixel for
    pixel, and a decoder that ignores EXIF sees the stored size.
    """
    label: str | os.PathLike[str] | None
    if isinstance(image, bytes | bytearray | memoryview):
        label = None
        if len(image) == 0:
            raise InvalidFileError(None, "image content is empty")
        width, height = imagesize.get(io.BytesIO(bytes(image)), exif_rotation=False)
    else:
        label = image
        check_file(image)
        width, height = imagesize.get(os.fspath(image), exif_rotation=False)
    if width <= 0 or height <= 0:
        raise InvalidFileError(label, "cannot read the image size (not a supported image?)")
    return int(width), int(height)


def validate_mask_pair(image: ImageSource, mask: ImageSource) -> tuple[int, int]:
    """Check that an AnyShoot ``mask`` has exactly the pixel size of ``image``.

    Returns the shared ``(width, height)``. Raises :class:`MaskSizeMismatchError`
    (naming the mask) or :class:`InvalidFileError` before anything is uploaded::

        validate_mask_pair("product.png", "product_mask.png")
    """
    image_px = image_size(image)
    mask_px = image_size(mask)
    if image_px != mask_px:
        label = None if isinstance(mask, bytes | bytearray | memoryview) else mask
        raise MaskSizeMismatchError(label, image_size=image_px, mask_size=mask_px)
    return image_px


# --- plumbing shared by uploads and downloads ---------------------------------------------

TransferProgress: TypeAlias = Callable[[Any, int, int | None], Awaitable[None] | None]
"""``progress(item, bytes_done, total)`` of uploads and downloads, sync or async.

``item`` is the upload source or the download destination; ``bytes_done`` may go back
down when a transfer restarts from the beginning; ``total`` is ``None`` when unknown.
(Status changes of a task are :data:`~topview_async.TaskProgress`.)"""

ProgressCallback: TypeAlias = TransferProgress
"""The old name of :data:`TransferProgress` in this module."""

_CREDENTIAL_HEADERS = ("authorization", "topview-uid")


def check_storage_client(http: httpx.AsyncClient) -> None:
    """Refuse an HTTP client that would send Topview credentials to storage URLs.

    Presigned URLs carry their own signature; S3 rejects a second auth mechanism and
    the credentials must never leave for a third-party host.
    """
    present = [name for name in _CREDENTIAL_HEADERS if name in http.headers]
    if present or http.auth is not None:
        what = ", ".join(present) if present else "an auth flow"
        raise ConfigurationError(
            f"the storage HTTP client carries {what}; pass a plain httpx.AsyncClient "
            "without Topview credentials for presigned storage URLs"
        )


async def report_progress(
    progress: ProgressCallback | None, item: object, done: int, total: int | None
) -> None:
    """Call a sync or async progress callback."""
    if progress is None:
        return
    result = progress(item, done, total)
    if inspect.isawaitable(result):
        await result


def backoff_delay(failures: int, *, initial: float = 0.5, maximum: float = 8.0) -> float:
    """Exponential backoff with full jitter after ``failures`` failed attempts (>= 1)."""
    ceiling = min(maximum, initial * 2 ** (failures - 1))
    return random.uniform(ceiling / 2, ceiling)


# --- the .part file of a download -----------------------------------------------------------


class PartFile:
    """The ``.part`` file a download appends to, written from a worker thread.

    A chunk (the received buffers that make it up, not joined: no copy) goes to the thread
    in one hop and is written there with :func:`os.write`. Hops are the expensive part (the
    GIL changes hands twice per hop), which is why downloads use chunks of a few MiB.

    After each chunk the kernel is told to start writing it to disk (on Linux,
    ``POSIX_FADV_DONTNEED`` starts the writeback of the range's dirty pages; they stay
    cached), so the disk works while the download goes on and the fsync before the rename
    waits for the last chunks instead of the whole file (0.4 s per GiB on a fast disk). It
    cannot make the download slower overall: that fsync would wait for the same writes.

    The worker thread is never abandoned on cancellation, so the descriptor is not closed
    under a write in progress.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.size = 0

    @classmethod
    def create(cls, path: Path) -> PartFile:
        """Create ``path`` exclusively (``FileExistsError`` if it exists), mode 0666 & ~umask."""
        flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        return cls(os.open(path, flags | getattr(os, "O_CLOEXEC", 0), 0o666))

    async def append(self, chunks: Sequence[bytes | memoryview], md5: Any | None) -> None:
        """Write ``chunks`` in order at the end; feed them to ``md5`` too when given."""
        await anyio.to_thread.run_sync(_write_all, self.fd, chunks, self.size, md5)
        self.size += sum(len(chunk) for chunk in chunks)

    async def read_tail(self, size: int) -> bytes:
        """The last ``size`` bytes written (a resume compares them with the server's)."""
        return await anyio.to_thread.run_sync(_read_at, self.fd, size, self.size - size)

    async def truncate(self) -> None:
        """Empty the file (a download starting over)."""
        await anyio.to_thread.run_sync(_truncate, self.fd)
        self.size = 0

    async def sync(self) -> None:
        """Flush the file's bytes to stable storage (before the rename makes them visible)."""
        await anyio.to_thread.run_sync(os.fsync, self.fd)

    def close(self) -> None:
        """Close the descriptor; synchronous so that cleanup cannot be interrupted."""
        os.close(self.fd)


def _write_all(fd: int, chunks: Sequence[bytes | memoryview], offset: int, md5: Any) -> None:
    written = 0
    for chunk in chunks:
        view = memoryview(chunk)
        written += len(view)
        while view:  # os.write may write less than asked (signals, some file systems)
            view = view[os.write(fd, view) :]
        if md5 is not None:
            # hashlib releases the GIL on large buffers: hashing here keeps the loop free.
            md5.update(chunk)
    if _FADVISE_DONTNEED is not None and written:
        with suppress(OSError):  # advice only: the fsync still makes the bytes durable
            os.posix_fadvise(fd, offset, written, _FADVISE_DONTNEED)


def _read_at(fd: int, size: int, offset: int) -> bytes:
    if not hasattr(os, "pread"):  # Windows: seek there and back (no write runs meanwhile)
        os.lseek(fd, offset, os.SEEK_SET)
        try:
            return os.read(fd, size)
        finally:
            os.lseek(fd, 0, os.SEEK_END)
    parts: list[bytes] = []
    while size > 0:  # os.pread may return less than asked
        data = os.pread(fd, size, offset)
        if not data:
            break
        parts.append(data)
        size -= len(data)
        offset += len(data)
    return b"".join(parts)


def _truncate(fd: int) -> None:
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)


_FADVISE_DONTNEED: int | None = (
    os.POSIX_FADV_DONTNEED if sys.platform == "linux" and hasattr(os, "posix_fadvise") else None
)
"""Linux only: elsewhere the advice is missing, or drops pages without starting writeback."""
