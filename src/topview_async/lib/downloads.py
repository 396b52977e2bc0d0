"""Download result files (presigned S3 or CloudFront URLs) safely and in constant memory.

::

    path = await download(storage_http, task.video_url, "out/video.mp4")

The body is streamed in chunks of ``chunk_size`` bytes (2 MiB by default) to a uniquely
named ``.<name>.<random>.part`` file beside the destination; a worker thread writes one
chunk while the next arrives, and starts its writeback to disk (see
:class:`~topview_async.lib._files.PartFile`). When the body is complete its length is
checked, and its MD5 when the server is S3 with a single-part ETag; the file is fsynced
and only then renamed onto the destination with :func:`os.replace`. A failure,
cancellation or timeout removes the ``.part`` file (a resumable download keeps it, see
below), so the destination is either untouched or complete.

A dropped connection resumes with ``Range`` only when the first answer carried a strong
validator (a strong ``ETag``, or ``Last-Modified`` with a ``Content-Length``), sent back as
``If-Range``; without one the download starts again from byte 0, because a resumed body
could belong to another version of the file. Servers lie (an ETag reused for new
content, ``If-Range`` ignored), so a resume asks for the last :data:`RESUME_OVERLAP`
bytes again and compares them with what was kept: a changed object is caught for 64 KiB
and the download restarts from 0. A 200 answer to a Range request is the whole object:
it restarts cleanly. A file whose MD5 check fails after a resume is fetched again whole.

Attempts and backoff follow a :class:`~topview_async.RetryPolicy` (the client's, for
``client.download``); ``timeout`` (or ``RetryPolicy.timeout``) bounds the whole
download, backoff included, and raises :class:`DownloadTimeoutError`.

With ``resumable=True`` the ``.part`` file has a fixed name and a sidecar of validators
(:mod:`._resume`) and survives a failure or a crash: the next resumable download of the same
file resumes it exactly as a retry within one call would (same overlap and MD5 checks).

Bytes are saved as stored (``Accept-Encoding: identity``, raw body): that keeps Range
offsets, Content-Length and the S3 MD5 all about the same bytes.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import anyio.to_thread
import httpx

from .._config import RetryPolicy
from .._exceptions import InvalidInputError
from .._retry_loop import RetryLoop
from . import _resume
from ._files import (
    DownloadError,
    DownloadInProgressError,
    DownloadManyError,
    DownloadTimeoutError,
    IntegrityError,
    PartFile,
    TransferProgress,
    check_storage_client,
    report_progress,
)

DEFAULT_CHUNK_SIZE = 2 << 20
RESUME_OVERLAP = 64 * 1024
"""Bytes a resume fetches again and compares, to catch an object that changed under it."""
DEFAULT_DOWNLOAD_RETRY = RetryPolicy(attempts=5)
"""Attempts and backoff of :func:`download` when no policy is given (``client.download``
uses the client's own :class:`RetryPolicy`)."""

_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)
_MD5_HEX = re.compile(r"^[0-9a-f]{32}$")


class _RetryableFailure(Exception):
    """This attempt failed; another request may succeed (resuming where possible)."""

    def __init__(
        self, message: str, retry_after: str | None = None, status_code: int | None = None
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.status_code = status_code


@dataclass
class _Progress:
    """What one download knows across its attempts."""

    dest: Path
    received: int = 0
    total: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    """Only kept when the server also gave the length (then it is a usable validator)."""
    md5: Any = None  # a running hashlib.md5 when the ETag is an S3 MD5 of the bytes
    spliced: bool = False
    """Whether the bytes kept come from more than one response."""
    resumable_part: Path | None = None
    """The ``.part`` file whose sidecar records the validators (resumable downloads only)."""

    def validator(self) -> str | None:
        """The ``If-Range`` value that makes a resume safe, or ``None`` (restart instead)."""
        if self.etag is not None and not self.etag.lstrip().startswith("W/"):
            return self.etag
        return self.last_modified

    def restart(self) -> None:
        self.received = 0
        self.etag = self.last_modified = None
        self.md5 = None
        self.spliced = False


async def download(
    http: httpx.AsyncClient,
    url: str,
    dest: str | os.PathLike[str],
    *,
    expected_size: int | None = None,
    expected_etag: str | None = None,
    progress: TransferProgress | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    attempts: int | None = None,
    retry: RetryPolicy | None = None,
    timeout: float | None = None,  # noqa: ASYNC109 (see the docstring)
    resumable: bool = False,
) -> Path:
    """Download ``url`` to ``dest`` atomically; return ``dest`` as a :class:`Path`.

    * ``http`` is a plain storage client: one carrying Topview credentials is refused.
    * ``expected_size``/``expected_etag``: checked against the server's answer.
    * ``progress(dest, bytes_received, total_or_None)`` after each chunk (sync or async).
    * ``chunk_size``: bytes per write and per progress call; a download holds about three.
    * ``retry``: attempts and backoff (default :data:`DEFAULT_DOWNLOAD_RETRY`);
      ``attempts`` overrides its attempt count. Failed transfers resume where safe.
    * ``timeout``: seconds for the whole download, all attempts and waits included
      (default ``retry.timeout``; ``None``: no deadline). An argument rather than the
      caller's own ``anyio.fail_after``, so that it ends in a typed
      :class:`DownloadTimeoutError` that says how far the download got.
    * ``resumable``: survive the process. The bytes go to ``.<name>.part`` with the first
      answer's validators in ``.<name>.part.json`` (never the URL's query); a failure,
      cancellation or timeout keeps them, and the next ``resumable`` download of the same
      ``url`` (query aside) to ``dest`` resumes them, safely as within one call. Only an
      :class:`IntegrityError` discards them. While it runs the ``.part`` file is locked: a
      second download of ``dest`` raises :class:`DownloadInProgressError` (see
      :mod:`topview_async.lib._resume`).

    An existing ``dest`` is replaced only by a complete, verified download. Raises
    :class:`DownloadError` (HTTP error or attempts exhausted), :class:`DownloadTimeoutError`
    or :class:`IntegrityError`.
    """
    check_storage_client(http)
    if chunk_size < 1:
        raise InvalidInputError(f"chunk_size must be at least 1 byte, got {chunk_size}")
    policy = _policy(retry, attempts)
    deadline = timeout if timeout is not None else policy.timeout
    if deadline is not None and deadline <= 0:
        raise InvalidInputError("timeout must be positive (or None for no deadline)")
    dest_path = Path(dest)
    await anyio.Path(dest_path.parent).mkdir(parents=True, exist_ok=True)
    state = _Progress(dest=dest_path, total=expected_size)
    if resumable:
        part = dest_path.with_name(f".{dest_path.name}.part")
        file = await _open_resumable(part, state, url, expected_etag)
        state.resumable_part = part
    else:
        # A random name opened exclusively ("xb"): concurrent downloads never share a .part
        # file, and unlike mkstemp the final file gets the usual umask permissions, not 0600.
        part = dest_path.with_name(f".{dest_path.name}.{secrets.token_hex(6)}.part")
        file = PartFile.create(part)  # FileExistsError: another download's file, left alone
    renamed = False
    try:
        try:
            with anyio.move_on_after(deadline) as scope:
                await _transfer(
                    http,
                    url,
                    file,
                    state,
                    expected_size,
                    expected_etag,
                    progress,
                    chunk_size,
                    policy,
                )
            if scope.cancelled_caught:
                raise DownloadTimeoutError(
                    f"downloading to {state.dest} did not finish within {deadline} s "
                    f"({state.received} bytes received)",
                    url=_redact(url),
                )
            await file.sync()
            if _resume.RENAME_WHILE_OPEN:
                # Still locked: no other download can take the file between here and the rename.
                # A rename within one directory is atomic: readers see the old file or the new one.
                os.replace(part, dest_path)
                renamed = True
        except BaseException as exc:
            if _resume.RENAME_WHILE_OPEN:
                _clean_up(part, state, exc)
            raise
        finally:
            file.close()
        if not renamed:
            os.replace(part, dest_path)
    except BaseException as exc:
        if not _resume.RENAME_WHILE_OPEN:
            _clean_up(part, state, exc)
        raise
    sidecar = _resume.sidecar_path(part) if resumable else None
    # One worker-thread hop for both: the unlink (a disk write) stays off the event loop, and
    # the directory's fsync that makes the rename durable makes the unlink durable too.
    await anyio.to_thread.run_sync(_finish_on_disk, dest_path.parent, sidecar)
    return dest_path


def _may_continue(kept: _resume.Kept, expected_size: int | None, expected_etag: str | None) -> bool:
    if expected_size is not None and kept.total is not None and kept.total != expected_size:
        return False
    return expected_etag is None or (
        kept.etag is not None and _etag_value(kept.etag) == _etag_value(expected_etag)
    )


async def _open_resumable(
    part: Path, state: _Progress, url: str, expected_etag: str | None
) -> PartFile:
    """Lock ``part`` and take over what an earlier run left in it (see :mod:`._resume`)."""

    def open_and_read() -> tuple[int, _resume.Kept | None]:
        fd = _resume.open_locked(part)
        try:
            return fd, _resume.read_kept(fd, part, _redact(url))
        except BaseException:
            os.close(fd)
            raise

    try:
        fd, kept = await anyio.to_thread.run_sync(open_and_read)
    except _resume._Locked:
        raise DownloadInProgressError(
            f"another download is writing {part}: not starting a second one",
            url=_redact(url),
            part=part,
        ) from None
    file = PartFile(fd)
    if kept is not None and not _may_continue(kept, state.total, expected_etag):
        await file.truncate()  # kept for another size or version than the caller expects
        kept = None
    if kept is not None:
        file.size = state.received = kept.size
        state.total = kept.total if kept.total is not None else state.total
        state.etag, state.last_modified, state.md5 = kept.etag, kept.last_modified, kept.md5
        state.spliced = True  # the bytes beyond come from another answer
    return file


def _clean_up(part: Path, state: _Progress, exc: BaseException) -> None:
    """Remove the ``.part`` file of a failed download, unless a later run may resume it."""
    # Synchronous on purpose: cleanup must not be interrupted by a second cancellation.
    keep = (
        state.resumable_part is not None
        and state.received > 0
        and state.validator() is not None
        and not isinstance(exc, IntegrityError)
    )
    if keep:
        return
    if state.resumable_part is not None:
        _resume.discard(part)
    else:
        with suppress(FileNotFoundError):
            os.unlink(part)


def _policy(retry: RetryPolicy | None, attempts: int | None) -> RetryPolicy:
    policy = retry if retry is not None else DEFAULT_DOWNLOAD_RETRY
    if attempts is not None:
        policy = replace(policy, attempts=max(1, attempts))
    return policy


async def download_many(
    http: httpx.AsyncClient,
    items: Sequence[tuple[str, str | os.PathLike[str]]],
    *,
    concurrency: int = 4,
    progress: TransferProgress | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    attempts: int | None = None,
    retry: RetryPolicy | None = None,
    timeout: float | None = None,  # noqa: ASYNC109 (see the docstring)
    resumable: bool = False,
) -> list[Path]:
    """Download ``(url, dest)`` pairs concurrently; return the paths in input order.

    ``retry``, ``attempts``, ``timeout`` and ``resumable`` apply to each download as in
    :func:`download`.
    When some downloads fail the others still finish, and :class:`DownloadManyError`
    carries ``paths`` (``None`` for failed items) and ``failures`` (index -> exception).
    Two items with the same destination are refused before any request.
    """
    check_storage_client(http)
    _check_distinct_destinations(items)

    paths: list[Path | None] = [None] * len(items)
    failures: dict[int, Exception] = {}
    limiter = anyio.CapacityLimiter(max(1, concurrency))

    async def run(index: int, url: str, dest: str | os.PathLike[str]) -> None:
        async with limiter:
            try:
                paths[index] = await download(
                    http,
                    url,
                    dest,
                    progress=progress,
                    chunk_size=chunk_size,
                    attempts=attempts,
                    retry=retry,
                    timeout=timeout,
                    resumable=resumable,
                )
            except Exception as exc:
                # One failure must not cancel the others: record it and keep going.
                failures[index] = exc

    async with anyio.create_task_group() as group:
        for index, (url, dest) in enumerate(items):
            group.start_soon(run, index, url, dest)

    if failures:
        failures = dict(sorted(failures.items()))
        raise DownloadManyError(_failed_message(items, failures), paths, failures)
    return [path for path in paths if path is not None]


def _failed_message(
    items: Sequence[tuple[str, str | os.PathLike[str]]], failures: Mapping[int, Exception]
) -> str:
    """``"1 of 3 downloads failed: out/a.mp4: IntegrityError: ..."``: which files, and why
    (the first three; a log line must say what to look at without the sub-exceptions)."""
    named = []
    for index, exc in list(failures.items())[:3]:
        cause = str(exc).splitlines()[0] if str(exc) else ""
        named.append(
            f"{os.fspath(items[index][1])}: {type(exc).__name__}{': ' + cause if cause else ''}"
        )
    more = f"; and {len(failures) - 3} more" if len(failures) > 3 else ""
    return f"{len(failures)} of {len(items)} downloads failed: {'; '.join(named)}{more}"


def _check_distinct_destinations(items: Sequence[tuple[str, str | os.PathLike[str]]]) -> None:
    seen: dict[str, int] = {}
    for index, (_, dest) in enumerate(items):
        key = os.path.normcase(os.path.abspath(dest))
        if key in seen:
            raise InvalidInputError(
                f"items {seen[key]} and {index} have the same destination {dest}"
            )
        seen[key] = index


# --- transfer ---------------------------------------------------------------------------


async def _transfer(
    http: httpx.AsyncClient,
    url: str,
    file: PartFile,
    state: _Progress,
    expected_size: int | None,
    expected_etag: str | None,
    progress: TransferProgress | None,
    chunk_size: int,
    policy: RetryPolicy,
) -> None:
    # The overall deadline is download()'s scope, which ends in a DownloadTimeoutError; the
    # loop keeps to the policy's attempts, backoff and Retry-After limit.
    async for attempt in RetryLoop(replace(policy, timeout=None), "download"):
        try:
            await _attempt(
                http, url, file, state, expected_size, expected_etag, progress, chunk_size
            )
            await _verify(file, state, progress, url)
            return
        except (_RetryableFailure, httpx.TransportError) as exc:
            error = DownloadError(
                f"downloading to {state.dest} failed after {attempt.number} "
                f"attempt{'s' if attempt.number > 1 else ''}: {exc}",
                url=_redact(url),
                status_code=exc.status_code if isinstance(exc, _RetryableFailure) else None,
            )
            error.__cause__ = exc
            retry_after = exc.retry_after if isinstance(exc, _RetryableFailure) else None
            attempt.failed(error, cause=exc, retry_after=retry_after)


async def _verify(
    file: PartFile, state: _Progress, progress: TransferProgress | None, url: str
) -> None:
    """Check the complete body's length and, where the ETag is an S3 MD5, its digest."""
    if state.total is not None and state.received != state.total:
        raise IntegrityError(
            f"received {state.received} bytes, expected {state.total}", url=_redact(url)
        )
    if state.md5 is None or state.etag is None:
        return
    actual = state.md5.hexdigest()
    if actual == _etag_value(state.etag):
        return
    if state.spliced:
        # Pieces of two versions (a server that reused its ETag): one whole answer may verify.
        await _start_over(file, state, progress)
        raise _RetryableFailure("the resumed file does not match its MD5: fetching it whole")
    raise IntegrityError(
        f"content MD5 {actual} does not match the S3 ETag {state.etag}", url=_redact(url)
    )


async def _attempt(
    http: httpx.AsyncClient,
    url: str,
    file: PartFile,
    state: _Progress,
    expected_size: int | None,
    expected_etag: str | None,
    progress: TransferProgress | None,
    chunk_size: int,
) -> None:
    headers = {"Accept-Encoding": "identity"}
    validator = state.validator()
    if state.received > 0 and validator is None:
        # Nothing proves that a resumed body is the same object: start from byte 0.
        await _start_over(file, state, progress)
    overlap = min(RESUME_OVERLAP, state.received)
    resuming = state.received > 0
    if resuming:
        assert validator is not None
        headers["Range"] = f"bytes={state.received - overlap}-"
        headers["If-Range"] = validator
    async with http.stream("GET", url, headers=headers) as response:
        status = response.status_code
        body = response.aiter_raw()
        first = b""
        if resuming and status == 206:
            if not _continues(response, state, state.received - overlap):
                await _start_over(file, state, progress)
                raise _RetryableFailure("the server's partial answer does not continue the file")
            beyond = await _check_overlap(body, file, overlap)
            if beyond is None:
                await _start_over(file, state, progress)
                raise _RetryableFailure("the file changed on the server: starting again")
            first = beyond
            state.spliced = True
        elif status == 200:
            if resuming:  # the server ignored Range, or If-Range saw a changed object
                await _start_over(file, state, progress)
            _begin(response, state, url, expected_size, expected_etag)
            if state.resumable_part is not None:
                await _record_validators(state.resumable_part, state, url)
        elif resuming and status == 416:
            await _start_over(file, state, progress)
            raise _RetryableFailure("the server refused the resume range")
        elif status in (408, 429) or status >= 500:
            raise _RetryableFailure(
                f"HTTP {status}", response.headers.get("Retry-After"), status_code=status
            )
        else:
            hint = " (a presigned URL may have expired: query the task again)" * (status == 403)
            raise DownloadError(
                f"downloading to {state.dest} failed: HTTP {status}{hint}",
                url=_redact(url),
                status_code=status,
            )
        await _receive(body, first, file, state, progress, chunk_size, url)
    if state.total is not None and state.received < state.total:
        # A close that h11 did not flag (no Content-Length) is still a truncated body.
        raise _RetryableFailure(f"connection closed after {state.received} of {state.total} bytes")


async def _check_overlap(body: AsyncIterator[bytes], file: PartFile, overlap: int) -> bytes | None:
    """Compare the first ``overlap`` bytes of ``body`` with the end of ``file``.

    Returns the bytes received beyond the overlap (to be written), or ``None`` when the
    overlap differs: the object changed even though the server kept its validator.
    """
    if overlap == 0:
        return b""
    received = bytearray()
    async for data in body:
        received += data
        if len(received) >= overlap:
            break
    if len(received) < overlap:
        raise _RetryableFailure("connection closed before the resume overlap arrived")
    kept = await file.read_tail(overlap)
    if received[:overlap] != kept:
        return None
    return bytes(received[overlap:])


_Chunk = tuple[list[memoryview], int]
"""Views of the received buffers (no copies) that make one chunk, and their total size."""


async def _receive(
    body: AsyncIterator[bytes],
    first: bytes,
    file: PartFile,
    state: _Progress,
    progress: TransferProgress | None,
    chunk_size: int,
    url: str,
) -> None:
    """Stream ``first`` then ``body`` into ``file``, writing one chunk while the next arrives.

    Chunked here rather than with ``aiter_raw(chunk_size)``: httpx would drop the bytes it
    holds back for a full chunk when the connection breaks, and the resume would then fetch
    them again. Here every byte received before a drop is written (``state.received``
    counts written bytes, so the resume starts right after them).

    Memory: a chunk being written, one waiting and one filling. The waiting one lets the
    receiving run on while the writer thread is busy: with none, the socket pauses at each
    hand-over and a 1 GiB download takes ~30% longer.
    """
    writer = _ChunkWriter(file, state, progress)
    send, receive = anyio.create_memory_object_stream[_Chunk](1)
    failure: Exception | None = None
    async with anyio.create_task_group() as group:
        group.start_soon(writer.run, receive)
        async with send:
            queued = state.received  # bytes handed to the writer, written or not yet
            pending: list[memoryview] = []
            pending_size = 0
            try:
                async for data in _prepend(first, body):
                    view = memoryview(data)
                    if state.total is not None and queued + pending_size + len(view) > state.total:
                        raise IntegrityError(
                            f"the server sent more than the {state.total} bytes it announced",
                            url=_redact(url),
                        )
                    while pending_size + len(view) >= chunk_size:
                        cut = chunk_size - pending_size
                        pending.append(view[:cut])
                        view = view[cut:]
                        await send.send((pending, chunk_size))
                        queued += chunk_size
                        pending, pending_size = [], 0
                    if view:
                        pending.append(view)
                        pending_size += len(view)
            except httpx.TransportError as exc:
                failure = exc  # what arrived before the drop is good: keep it, resume after it
            except anyio.BrokenResourceError:
                pending = []  # the writer stopped on an error: it is raised below
            except Exception as exc:
                failure, pending = exc, []
            if pending:
                with suppress(anyio.BrokenResourceError):
                    await send.send((pending, pending_size))
    # Raised here, outside the task group, so that callers see the exception itself.
    if writer.error is not None:
        raise writer.error
    if failure is not None:
        raise failure


async def _prepend(first: bytes, body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if first:
        yield first
    async for data in body:
        yield data


class _ChunkWriter:
    """The task that appends chunks to the ``.part`` file and reports progress after each.

    An error (disk full, a progress callback raising) is kept in ``error`` and stops the
    writer, which makes the receiving side's next send fail; :func:`_receive` raises it.
    """

    def __init__(self, file: PartFile, state: _Progress, progress: TransferProgress | None) -> None:
        self.file = file
        self.state = state
        self.progress = progress
        self.error: Exception | None = None

    async def run(self, chunks: anyio.abc.ObjectReceiveStream[_Chunk]) -> None:
        state = self.state
        async with chunks:
            async for chunk, size in chunks:
                try:
                    await self.file.append(chunk, state.md5)
                    state.received += size
                    await report_progress(self.progress, state.dest, state.received, state.total)
                except Exception as exc:
                    self.error = exc
                    return


def _begin(
    response: httpx.Response,
    state: _Progress,
    url: str,
    expected_size: int | None,
    expected_etag: str | None,
) -> None:
    """Take the validators of a full (200) answer."""
    length = response.headers.get("Content-Length")
    total = int(length) if length and length.isdigit() else None
    if expected_size is not None and total is not None and total != expected_size:
        raise IntegrityError(
            f"the server announces {total} bytes, expected {expected_size}", url=_redact(url)
        )
    state.total = total if total is not None else expected_size
    state.etag = response.headers.get("ETag")
    # A date alone is a weak validator: only with the length does it pin down the object.
    state.last_modified = response.headers.get("Last-Modified") if total is not None else None
    if expected_etag is not None and (
        state.etag is None or _etag_value(state.etag) != _etag_value(expected_etag)
    ):
        raise IntegrityError(
            f"the server's ETag {state.etag} is not the expected {expected_etag}", url=_redact(url)
        )
    # Hashing costs about as much CPU as receiving: only when there is an MD5 to check.
    state.md5 = hashlib.md5(usedforsecurity=False) if _etag_is_s3_md5(response) else None


async def _record_validators(part: Path, state: _Progress, url: str) -> None:
    """Write the sidecar of a resumable ``part`` before the first byte of a new answer."""
    await anyio.to_thread.run_sync(
        _resume.write_sidecar,
        part,
        _redact(url),
        state.etag,
        state.last_modified,
        state.total,
        state.md5 is not None,
    )


def _continues(response: httpx.Response, state: _Progress, start: int) -> bool:
    """Whether a 206 answer is the same object from ``start`` (validators permitting)."""
    match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
    if match is None or int(match.group(1)) != start:
        return False
    total = None if match.group(3) == "*" else int(match.group(3))
    if state.total is not None and total is not None and total != state.total:
        return False
    etag = response.headers.get("ETag")
    return not (state.etag is not None and etag is not None and etag != state.etag)


async def _start_over(file: PartFile, state: _Progress, progress: TransferProgress | None) -> None:
    await file.truncate()
    state.restart()
    await report_progress(progress, state.dest, 0, state.total)


def _etag_value(etag: str) -> str:
    return etag.strip().removeprefix("W/").strip('"').lower()


def _etag_is_s3_md5(response: httpx.Response) -> bool:
    """S3 single-part ETags are the MD5 of the bytes; others (multipart, KMS, SSE-C) are not.

    Only trusted when the answer comes from S3 (directly or through CloudFront): other
    servers also use 32 hex digits (Starlette hashes mtime and size, for example).
    """
    etag = response.headers.get("ETag")
    if etag is None or etag.startswith("W/") or not _MD5_HEX.match(_etag_value(etag)):
        return False
    headers = response.headers
    from_s3 = headers.get("Server", "").lower() == "amazons3" or any(
        name.lower().startswith("x-amz-") for name in headers
    )
    encryption = headers.get("x-amz-server-side-encryption", "").lower()
    return (
        from_s3
        and not encryption.startswith("aws:kms")
        and "x-amz-server-side-encryption-customer-algorithm" not in headers
    )


def _finish_on_disk(directory: Path, sidecar: Path | None) -> None:
    """Drop a finished download's resume sidecar, then make the directory durable."""
    if sidecar is not None:
        with suppress(FileNotFoundError):
            os.unlink(sidecar)
    _fsync_directory(directory)


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; not possible (nor needed) on Windows.
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _redact(url: str) -> str:
    """The URL without its query: presigned signatures do not belong in error messages."""
    return url.split("?", 1)[0]
