"""Upload local files to Topview: credential, presigned PUT, upload check (REFERENCE §3).

::

    file_id = await upload(client.uploads, storage_http, "product.png")

The PUT goes to S3 through a plain ``httpx.AsyncClient`` that never carries Topview
credentials; the credential and check calls go through ``api`` (the generated
``Uploads`` resource, so through the one request pipeline).

Sources can be a path (streamed from disk in chunks), bytes (with ``format=``), or an
async iterable of bytes (with ``format=``). An async stream is first spooled to a
temporary file, chunk by chunk: S3 needs an exact Content-Length for a presigned PUT
and a failed PUT must be resent from the first byte, which a one-shot stream cannot do.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeAlias

import aiofiles
import aiofiles.os
import anyio
import httpx

from .._config import DEFAULT_RETRY, RetryPolicy
from .._exceptions import (
    AuthenticationError,
    ConfigurationError,
    InsufficientCreditError,
    InvalidArgumentTypeError,
    InvalidInputError,
)
from .._retry_loop import RetryLoop
from ._files import (
    CONTENT_TYPES,
    InvalidFileError,
    TransferProgress,
    UploadError,
    UploadManyError,
    check_file,
    check_storage_client,
    normalize_format,
    report_progress,
)

UploadSource: TypeAlias = (
    str | os.PathLike[str] | bytes | bytearray | memoryview | AsyncIterable[bytes]
)
"""A path, in-memory bytes, or an async byte stream."""

DEFAULT_CHUNK_SIZE = 1 << 20
"""Bytes read from disk and handed to the HTTP client at a time."""


# S3 error codes that mean "this presigned URL will never work": get a fresh credential.
# 403 always means that (expired, bad signature, access denied).
_URL_REJECTED_CODES = frozenset(
    {
        "AccessDenied",
        "AuthorizationQueryParametersError",
        "ExpiredToken",
        "InvalidAccessKeyId",
        "InvalidToken",
        "SignatureDoesNotMatch",
        "TokenRefreshRequired",
    }
)
# S3 answers 400 RequestTimeout when the body arrived too slowly: resend to the same URL.
_RETRY_SAME_URL_CODES = frozenset({"RequestTimeout", "SlowDown", "InternalError"})
FATAL_ERRORS: tuple[type[Exception], ...] = (
    AuthenticationError,
    InsufficientCreditError,
    ConfigurationError,
)
"""Errors of one upload that every other upload of the batch would hit too (bad credentials,
no credit left, a misconfigured client): ``upload_many`` starts no new upload after one."""

_S3_CODE = re.compile(rb"<Code>\s*([A-Za-z0-9_.-]{1,100})\s*</Code>")
_S3_MESSAGE = re.compile(rb"<Message>([^<]{0,300})</Message>")


class CredentialLike(Protocol):
    """What :func:`upload` needs from an upload credential."""

    @property
    def file_id(self) -> str: ...

    @property
    def upload_url(self) -> str: ...


class UploadApi(Protocol):
    """The Topview upload endpoints (the generated ``Uploads`` resource fits)."""

    async def get_credential(self, *, format: str) -> CredentialLike: ...

    async def check(self, *, file_id: str) -> object: ...


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A validated source: its format, content type, exact size and a re-readable body."""

    source: object
    format: str
    content_type: str
    size: int
    open_body: Callable[[int], AsyncIterator[bytes]]
    """Start a fresh read of the body from its first byte, in chunks of at most N bytes."""


class _PutAttemptFailed(Exception):
    """One PUT failed in a way another attempt may fix."""

    def __init__(
        self, reason: str, *, status_code: int | None, storage_code: str | None, renew_url: bool
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status_code = status_code
        self.storage_code = storage_code
        self.renew_url = renew_url
        """True when the presigned URL itself was refused: only a fresh credential helps."""


async def upload(
    api: UploadApi,
    storage_http: httpx.AsyncClient,
    source: UploadSource,
    *,
    format: str | None = None,
    content_type: str | None = None,
    progress: TransferProgress | None = None,
    retry: RetryPolicy | None = DEFAULT_RETRY,
    timeout: float | None = None,  # noqa: ASYNC109 (a deadline argument, as in httpx)
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> str:
    """Upload one file and return its Topview ``fileId``.

    * ``format`` is taken from the file suffix unless given (required for bytes and
      streams); it must be one of the formats Topview accepts, checked before any request.
    * ``retry`` (the client's :class:`RetryPolicy`; ``None``: one try) bounds the PUTs: a
      failed PUT is resent from the first byte after the policy's backoff; a rejected or
      expired URL (HTTP 403, or 400 with an S3 auth error) gets a fresh credential (so a new
      file id) first. The same policy bounds the upload checks that confirm the file, and its
      ``timeout`` stops retrying once that many seconds have passed.
    * ``timeout``: an overall deadline in seconds for this upload (credential, PUTs, checks);
      when it passes, the upload is stopped and :class:`UploadError` raised.
    * ``progress(source, bytes_sent, total)`` is called after each chunk (sync or async).

    Raises :class:`InvalidFileError` (nothing sent) or :class:`UploadError`.
    """
    check_storage_client(storage_http)
    if timeout is not None and timeout <= 0:
        raise InvalidInputError("timeout must be positive (or None for no deadline)")
    async with _prepare(source, format=format, content_type=content_type) as prepared:
        with anyio.move_on_after(timeout) as scope:
            return await _upload_prepared(
                api, storage_http, prepared, progress=progress, retry=retry, chunk_size=chunk_size
            )
        assert scope.cancelled_caught
        raise UploadError(
            f"uploading {_describe(prepared.source)} did not finish within {timeout} s",
            source=prepared.source,
        )


async def upload_many(
    api: UploadApi,
    storage_http: httpx.AsyncClient,
    sources: Sequence[str | os.PathLike[str]],
    *,
    concurrency: int = 8,
    progress: TransferProgress | None = None,
    retry: RetryPolicy | None = DEFAULT_RETRY,
    timeout: float | None = None,  # noqa: ASYNC109 (a deadline argument, as in httpx)
) -> list[str]:
    """Upload several files concurrently; return their file ids in input order.

    ``sources`` are paths (bytes and streams need a format each: use :func:`upload`).
    Every path is checked first: if any is missing, empty or in a wrong format, nothing
    is sent and :class:`UploadManyError` lists every bad input.

    When some uploads fail, the others still finish and :class:`UploadManyError` is
    raised with ``file_ids`` (``None`` for the failed inputs) and ``failures`` (input
    index -> exception), so no successful upload is lost. An error that would hit every
    file (:data:`FATAL_ERRORS`: bad credentials, no credit, a misconfiguration) stops
    starting new uploads; the inputs never started are reported in ``failures`` with that
    same error. ``retry`` and ``timeout`` apply to each upload as in :func:`upload`::

        try:
            ids = await upload_many(client.uploads, storage_http, paths)
        except UploadManyError as exc:
            ids = exc.file_ids  # retry the inputs in exc.failures
    """
    if isinstance(sources, str | os.PathLike):
        raise InvalidArgumentTypeError(
            "upload_many() takes a sequence of paths; use upload() for one file"
        )
    check_storage_client(storage_http)
    invalid: dict[int, Exception] = {}
    for index, source in enumerate(sources):
        try:
            check_file(source)
        except InvalidFileError as exc:
            invalid[index] = exc
    if invalid:
        raise UploadManyError(
            f"{len(invalid)} of {len(sources)} inputs are invalid; nothing was uploaded",
            [None] * len(sources),
            invalid,
        )

    file_ids: list[str | None] = [None] * len(sources)
    failures: dict[int, Exception] = {}
    limiter = anyio.CapacityLimiter(max(1, concurrency))

    fatal: list[Exception] = []

    async def run(index: int, source: str | os.PathLike[str]) -> None:
        async with limiter:
            if fatal:
                # Every file would fail the same way: do not spend a request on this one.
                failures[index] = fatal[0]
                return
            try:
                file_ids[index] = await upload(
                    api, storage_http, source, progress=progress, retry=retry, timeout=timeout
                )
            except Exception as exc:
                # One failure must not cancel the others: record it and keep going, unless
                # it is one that every other file would hit too.
                failures[index] = exc
                if isinstance(exc, FATAL_ERRORS):
                    fatal.append(exc)

    async with anyio.create_task_group() as group:
        for index, source in enumerate(sources):
            group.start_soon(run, index, source)

    if failures:
        raise UploadManyError(
            f"{len(failures)} of {len(sources)} uploads failed",
            file_ids,
            dict(sorted(failures.items())),
        )
    return [file_id for file_id in file_ids if file_id is not None]


async def _upload_prepared(
    api: UploadApi,
    storage_http: httpx.AsyncClient,
    prepared: _Prepared,
    *,
    progress: TransferProgress | None,
    retry: RetryPolicy | None,
    chunk_size: int,
) -> str:
    credential = await api.get_credential(format=prepared.format)
    renew_url = False
    async for attempt in RetryLoop(retry, "upload"):
        if attempt.number > 1 and renew_url:
            credential = await api.get_credential(format=prepared.format)
        try:
            await _put(storage_http, credential, prepared, progress, chunk_size)
            break
        except _PutAttemptFailed as exc:
            error = UploadError(
                f"uploading {_describe(prepared.source)} failed after {attempt.number} "
                f"attempt{'s' if attempt.number > 1 else ''}: {exc.reason}",
                source=prepared.source,
                file_id=credential.file_id,
                status_code=exc.status_code,
                storage_code=exc.storage_code,
            )
            error.__cause__ = exc
            renew_url = exc.renew_url
            # No backoff for a dead URL: a fresh credential is the fix.
            attempt.failed(error, cause=exc, wait=0.0 if renew_url else None)
    await _wait_until_present(api, credential.file_id, prepared, retry)
    return credential.file_id


async def _put(
    http: httpx.AsyncClient,
    credential: CredentialLike,
    prepared: _Prepared,
    progress: TransferProgress | None,
    chunk_size: int,
) -> None:
    async def body() -> AsyncIterator[bytes]:
        sent = 0
        await report_progress(progress, prepared.source, 0, prepared.size)
        async for chunk in prepared.open_body(chunk_size):
            yield chunk
            sent += len(chunk)
            await report_progress(progress, prepared.source, sent, prepared.size)

    # The URL string goes to httpx as is: httpx keeps existing percent-escapes, so the
    # signed query (for example %2F in X-Amz-Credential) reaches S3 byte for byte.
    # Content-Length is explicit so httpx streams without chunked encoding, which a
    # presigned PUT does not accept; no other header is added, least of all credentials.
    headers = {"Content-Length": str(prepared.size), "Content-Type": prepared.content_type}
    try:
        response = await http.put(credential.upload_url, content=body(), headers=headers)
    except httpx.TransportError as exc:
        raise _PutAttemptFailed(
            f"connection failed: {exc!r}", status_code=None, storage_code=None, renew_url=False
        ) from exc
    if response.is_success:
        return
    status = response.status_code
    code, message = _s3_error(response.content)
    detail = f"storage answered HTTP {status}" + (f" {code}: {message}" if code else "")
    if status == 403 or (status == 400 and code in _URL_REJECTED_CODES):
        raise _PutAttemptFailed(detail, status_code=status, storage_code=code, renew_url=True)
    if status in (408, 429) or status >= 500 or code in _RETRY_SAME_URL_CODES:
        raise _PutAttemptFailed(detail, status_code=status, storage_code=code, renew_url=False)
    raise UploadError(
        f"uploading {_describe(prepared.source)} failed: {detail}",
        source=prepared.source,
        file_id=credential.file_id,
        status_code=status,
        storage_code=code,
    )


def _s3_error(body: bytes) -> tuple[str | None, str]:
    # A regex, not an XML parser: the body is untrusted and only two fields are wanted.
    head = body[:65536]
    code = _S3_CODE.search(head)
    message = _S3_MESSAGE.search(head)
    return (
        code.group(1).decode() if code else None,
        message.group(1).decode(errors="replace").strip() if message else "",
    )


async def _wait_until_present(
    api: UploadApi, file_id: str, prepared: _Prepared, retry: RetryPolicy | None
) -> None:
    """Ask Topview until it confirms the file, within the retry policy's attempts and timeout."""
    checks = 0
    async for attempt in RetryLoop(retry, "upload check"):
        checks = attempt.number
        result = await api.check(file_id=file_id)
        if result is True or (isinstance(result, str) and result.strip().lower() == "true"):
            return
        attempt.failed(
            UploadError(
                f"uploaded {_describe(prepared.source)} but Topview did not confirm file "
                f"{file_id} after {checks} check{'s' if checks > 1 else ''}",
                source=prepared.source,
                file_id=file_id,
            )
        )


# --- sources ----------------------------------------------------------------------------


@asynccontextmanager
async def _prepare(
    source: UploadSource, *, format: str | None, content_type: str | None
) -> AsyncIterator[_Prepared]:
    """Validate ``source`` (no network) and make its body re-readable."""
    if isinstance(source, str | os.PathLike):
        local = check_file(source, format=format)
        yield _Prepared(
            source=source,
            format=local.format,
            content_type=content_type or CONTENT_TYPES[local.format],
            size=local.size,
            open_body=lambda chunk_size: _read_file(local.path, local.size, chunk_size),
        )
        return
    if format is None:
        raise InvalidFileError(None, "format= is required when uploading bytes or a stream")
    fmt = normalize_format(format)
    ctype = content_type or CONTENT_TYPES[fmt]
    if isinstance(source, bytes | bytearray | memoryview):
        data = memoryview(source).cast("B")
        if len(data) == 0:
            raise InvalidFileError(None, "content is empty")
        yield _Prepared(source, fmt, ctype, len(data), lambda size: _read_memory(data, size))
        return
    async with _spooled(source) as (path, size):
        if size == 0:
            raise InvalidFileError(None, "stream is empty")
        yield _Prepared(
            source, fmt, ctype, size, lambda chunk_size: _read_file(path, size, chunk_size)
        )


async def _read_file(path: Path, size: int, chunk_size: int) -> AsyncIterator[bytes]:
    remaining = size
    async with aiofiles.open(path, "rb") as file:
        while remaining > 0:
            chunk = await file.read(min(chunk_size, remaining))
            if not chunk:
                # The declared Content-Length can no longer be honoured.
                raise _PutAttemptFailed(
                    f"{path} shrank while it was being uploaded",
                    status_code=None,
                    storage_code=None,
                    renew_url=False,
                )
            remaining -= len(chunk)
            yield chunk


async def _read_memory(data: memoryview, chunk_size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), chunk_size):
        yield bytes(data[start : start + chunk_size])


@asynccontextmanager
async def _spooled(stream: AsyncIterable[bytes]) -> AsyncIterator[tuple[Path, int]]:
    """Write ``stream`` to a temporary file (constant memory); delete it afterwards."""
    fd, name = tempfile.mkstemp(prefix="topview-upload-", suffix=".part")
    os.close(fd)
    path = Path(name)
    try:
        size = 0
        async with aiofiles.open(path, "wb") as file:
            async for chunk in stream:
                await file.write(chunk)
                size += len(chunk)
        yield path, size
    finally:
        with anyio.CancelScope(shield=True):
            await aiofiles.os.remove(path)


def _describe(source: object) -> str:
    if isinstance(source, str | os.PathLike):
        return os.fspath(source)
    if isinstance(source, bytes | bytearray | memoryview):
        return f"<{len(source)} bytes>"
    return "<stream>"


__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "FATAL_ERRORS",
    "CredentialLike",
    "UploadApi",
    "UploadSource",
    "upload",
    "upload_many",
]
