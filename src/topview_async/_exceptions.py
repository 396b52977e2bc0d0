"""Every exception the SDK raises, under one root, defined here and nowhere else.

Catch :class:`TopviewError` to handle anything this package raises::

    TopviewError
    ├── ConfigurationError            missing or invalid client settings (also a ValueError)
    ├── ClientStateError              the client cannot be used now (also a RuntimeError)
    │   ├── ClientClosedError         used after aclose()
    │   ├── WrongEventLoopError       used from another event loop than the one it was opened in
    │   ├── JournalUnusableError      a batch's OUT has files but no usable journal; nothing sent
    │   └── BatchLockedError          another process runs a batch in the same OUT
    ├── InvalidInputError             arguments failed local validation; nothing sent (ValueError)
    │   ├── UnknownTaskKindError      client.tasks.get("nope", ...): not a task kind
    │   ├── InvalidArgumentTypeError  an argument of the wrong type (also a TypeError)
    │   ├── JobsFileError             a jobs file has bad lines (every one listed); nothing sent
    │   └── InvalidFileError          local file rejected before any request (also TransferError)
    │       ├── UnsupportedFormatError    not a format Topview accepts for upload
    │       └── MaskSizeMismatchError     AnyShoot mask pixel size differs from its image
    ├── APIConnectionError            no usable HTTP response (connection failed or was lost)
    │   └── APITimeoutError           ... because a connect, read, write or pool timeout expired
    ├── HTTPStatusError               Topview (or a proxy in front of it) answered a non-2xx status
    ├── ResponseValidationError       the body is no Topview envelope, or `result` breaks the spec
    ├── SubmitOutcomeUnknownError     a paid submit may or may not have been accepted; reconcile
    ├── APIError                      Topview answered with a business `code` other than "200"
    │   ├── AuthenticationError           401
    │   ├── InvalidRequestError           4000, 4001, 4002, 4003
    │   │   ├── InvalidModelError         4012
    │   │   ├── InvalidMusicRequestError  4013, 4014, 4015, 4016, 4022
    │   │   └── InvalidReferenceAudioError  4017, 4018, 4019, 4020, 4021
    │   ├── NotFoundError                 4004
    │   ├── DuplicateNameError            4005
    │   ├── RequestRefusedError           4006
    │   ├── UnfinishedTaskError           4007
    │   ├── InsufficientCreditError       4100
    │   ├── ContentSecurityError          6001
    │   ├── ServerError                   5000, 5001, 5004, 5005
    │   │   └── ServerBusyError           5003
    │   └── NoticeUrlRejectedError        client.notices.check(url): Topview refused the URL
    ├── TaskFailedError               Topview reported the task as failed
    ├── TaskTimeoutError              the poll policy's timeout passed before the task finished
    ├── TransferError                 uploads, downloads and local files
    │   ├── InvalidFileError          (see InvalidInputError)
    │   ├── UploadError               PUT or upload check failed
    │   ├── DownloadError             download failed after its attempts
    │   │   ├── DownloadTimeoutError  the download's overall deadline passed (also TimeoutError)
    │   │   ├── IntegrityError        downloaded bytes do not match length, ETag or MD5
    │   │   └── DownloadInProgressError  another process holds the resumable .part file
    │   ├── UploadManyError           some uploads of a batch failed (also an ExceptionGroup)
    │   └── DownloadManyError         some downloads of a batch failed (also an ExceptionGroup)
    └── WebhookError                  a callback could not be accepted
        ├── InvalidWebhookPayloadError    the body is not a valid callback (also a ValueError)
        ├── WebhookTooLargeError          the body is larger than the configured limit
        ├── WebhookSignatureError         the URL token or the Topview-Uid does not match
        └── WebhookVerificationError      the task could not be confirmed through the API

Which business code raises which class, and which codes are retried, comes from the spec's
``x-topview-error-codes`` (generated into :mod:`._generated.error_codes`, which imports the
classes from here; :func:`._retrying.exception_class_for_code` reads it); a test keeps the
codes drawn above equal to it. A code the spec does not list raises :class:`APIError` itself.

Every error carries ``message``, ``code`` (the business code as a string, when there is one),
``operation`` (the :class:`~topview_async._operation.Operation` being called, when there is one),
``task_id`` and ``file_id``. No exception here holds request headers or credentials, and none
is chained to one that does (see :mod:`._retrying`), so neither the API key nor the uid can be
reached through ``str(exc)``, ``repr(exc)``, attributes, ``__cause__`` or ``__context__``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._operation import Operation
    from .lib.tasks import Task

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BatchLockedError",
    "ClientClosedError",
    "ClientStateError",
    "ConfigurationError",
    "ContentSecurityError",
    "DownloadError",
    "DownloadManyError",
    "DownloadTimeoutError",
    "DuplicateNameError",
    "HTTPStatusError",
    "InsufficientCreditError",
    "IntegrityError",
    "InvalidArgumentTypeError",
    "InvalidFileError",
    "InvalidInputError",
    "InvalidRequestError",
    "InvalidWebhookPayloadError",
    "JobsFileError",
    "JournalUnusableError",
    "MaskSizeMismatchError",
    "NotFoundError",
    "NoticeUrlRejectedError",
    "RequestRefusedError",
    "ResponseValidationError",
    "ServerBusyError",
    "ServerError",
    "SubmitOutcomeUnknownError",
    "SubmittedRequest",
    "TaskFailedError",
    "TaskTimeoutError",
    "TopviewError",
    "TransferError",
    "UnfinishedTaskError",
    "UnknownTaskKindError",
    "UnsupportedFormatError",
    "UploadError",
    "UploadManyError",
    "WebhookError",
    "WebhookSignatureError",
    "WebhookTooLargeError",
    "WebhookVerificationError",
    "WrongEventLoopError",
]

_RAW_BODY_LIMIT = 2000
"""How much of a raw body goes into an exception message (the full body stays on ``.body``)."""


class TopviewError(Exception):
    """Root of every exception raised by ``topview_async``.

    ``message`` is what went wrong in the words of whoever said it (Topview's own message for
    a business code); the SDK's advice on what to do about it is ``hint``, shown by
    ``str(exc)`` after the message. ``retry_after`` is set when the server asked to wait
    longer before a retry than the :class:`~topview_async.RetryPolicy`'s ``retry_after_max``:
    the call ended there, and the seconds the server asked for are kept for the caller.
    """

    hint: str | None = None
    """The SDK's advice on what to do (part of ``str(exc)``, never of ``message``)."""
    retry_after: float | None = None
    """Seconds the server asked to wait before retrying, beyond what the policy allows."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        operation: Operation | None = None,
        task_id: str | None = None,
        file_id: str | None = None,
    ) -> None:
        self.message = message
        self.code = code
        self.operation = operation
        self.task_id = task_id
        self.file_id = file_id
        super().__init__(message)

    def __str__(self) -> str:
        parts = [self.message]
        if self.code is not None:
            parts.append(f"code={self.code}")
        if self.operation is not None:
            parts.append(f"operation={self.operation.operation_id}")
        if self.task_id is not None:
            parts.append(f"task_id={self.task_id}")
        if self.file_id is not None:
            parts.append(f"file_id={self.file_id}")
        if self.retry_after is not None:
            parts.append(f"retry_after={self.retry_after:g}s, beyond RetryPolicy.retry_after_max")
        text = parts[0] if len(parts) == 1 else f"{parts[0]} ({', '.join(parts[1:])})"
        return text if self.hint is None else f"{text}; {self.hint}"


class ConfigurationError(TopviewError, ValueError):
    """The client was configured incompletely or inconsistently (for example no API key)."""


class ClientStateError(TopviewError, RuntimeError):
    """The client cannot serve calls in its current state."""


class JournalUnusableError(ClientStateError):
    """A batch's output directory holds a manifest or job files but its journal is missing,
    empty, or of another schema: running would submit every job again, so nothing is sent.
    The message says how to continue (``topview batch rebuild OUT``)."""

    def __init__(self, message: str, *, path: Path) -> None:
        super().__init__(message)
        self.path = path


class BatchLockedError(ClientStateError):
    """Another process holds the lock of a batch's output directory (one run per OUT).

    ``pid`` is the holder's process id, when it could be read.
    """

    def __init__(self, message: str, *, pid: int | None = None) -> None:
        super().__init__(message)
        self.pid = pid


class ClientClosedError(ClientStateError):
    """The client was used after :meth:`AsyncTopview.aclose`."""


class WrongEventLoopError(ClientStateError):
    """The client was used from a different event loop than the one it was first used in.

    Connections belong to the loop that opened them; create one client per event loop.
    """


class InvalidInputError(TopviewError, ValueError):
    """The arguments failed local validation against the spec; no request was sent."""


class APIConnectionError(TopviewError):
    """No usable HTTP response: the connection failed, was dropped, or the protocol broke."""


class APITimeoutError(APIConnectionError):
    """A connect, read, write or pool timeout expired."""


class HTTPStatusError(TopviewError):
    """A non-2xx HTTP status. Topview itself answers 200; this usually comes from a gateway.

    The message names the host that answered and a short excerpt of the body; ``status_code``
    is the HTTP status, ``body`` the whole response text, both with the API key, uid and any
    bearer token masked (a misconfigured proxy may echo the request). When the body happens to
    be a Topview envelope, ``code`` comes from it.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: str,
        code: str | None = None,
        operation: Operation | None = None,
        task_id: str | None = None,
        file_id: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.body = body
        super().__init__(message, code=code, operation=operation, task_id=task_id, file_id=file_id)


class ResponseValidationError(TopviewError):
    """The response is not a Topview envelope, or its ``result`` does not match the spec.

    ``body`` holds the raw response text so nothing is lost. With
    ``strict_responses=False`` :class:`AsyncTopview` returns the declared type built without
    validation instead, and raises this only when not even the result's outer shape fits.
    """

    def __init__(
        self,
        message: str,
        *,
        body: str,
        code: str | None = None,
        operation: Operation | None = None,
        task_id: str | None = None,
        file_id: str | None = None,
    ) -> None:
        self.body = body
        super().__init__(message, code=code, operation=operation, task_id=task_id, file_id=file_id)

    def __str__(self) -> str:
        body = self.body
        if len(body) > _RAW_BODY_LIMIT:
            body = body[:_RAW_BODY_LIMIT] + "..."
        return f"{super().__str__()}\nraw body: {body}"


class SubmittedRequest:
    """What was sent for a submit whose outcome is unknown. Never includes headers."""

    __slots__ = ("body", "method", "url")

    def __init__(self, method: str, url: str, body: Mapping[str, object] | None) -> None:
        self.method = method
        self.url = url
        self.body = body

    def __repr__(self) -> str:
        return f"SubmittedRequest(method={self.method!r}, url={self.url!r}, body={self.body!r})"


class SubmitOutcomeUnknownError(TopviewError):
    """A paid submit was sent, but its response was lost; Topview may have created the task.

    The SDK never resubmits in this situation, because a second submit could charge twice.
    ``request`` holds the method, URL and JSON body that were sent (no credentials) so you can
    look for the task (for example in the Topview console) before deciding to submit again.
    ``__cause__`` holds the underlying failure (a timeout, a dropped connection, a 502, a
    code-200 reply whose result does not validate or names no ``taskId``...). ``task_id`` is
    the task id the reply names, when one could be read.
    """

    def __init__(
        self,
        message: str,
        *,
        request: SubmittedRequest,
        operation: Operation | None = None,
        code: str | None = None,
        task_id: str | None = None,
    ) -> None:
        self.request = request
        super().__init__(message, code=code, operation=operation, task_id=task_id)


class APIError(TopviewError):
    """Topview answered with a business ``code`` other than ``"200"``.

    Unknown codes raise this class itself, with ``code`` kept.
    """

    code: str

    def __init__(
        self,
        message: str,
        *,
        code: str,
        operation: Operation | None = None,
        task_id: str | None = None,
        file_id: str | None = None,
    ) -> None:
        super().__init__(message, code=code, operation=operation, task_id=task_id, file_id=file_id)


class AuthenticationError(APIError):
    """401: the API key or uid is wrong, missing or expired."""


class InvalidRequestError(APIError):
    """4000-4003: Topview rejected a parameter (value, format, signature, missing field)."""


class InvalidModelError(InvalidRequestError):
    """4012: the model is not one the endpoint offers (documented for AI music)."""


class InvalidMusicRequestError(InvalidRequestError):
    """4013-4016, 4022: an AI music request breaks a rule on ``lyrics``/``styles``."""


class InvalidReferenceAudioError(InvalidRequestError):
    """4017-4021: an AI music ``referenceAudio`` is invalid (parameter, format, duration, size
    or clip range)."""


class NotFoundError(APIError):
    """4004: the task, file or other resource does not exist."""


class DuplicateNameError(APIError):
    """4005: the name is already taken."""


class RequestRefusedError(APIError):
    """4006: Topview refused the request."""


class UnfinishedTaskError(APIError):
    """4007: an earlier task is still running; wait for it before submitting the next one.

    No task was created, so submitting again later cannot charge twice. The SDK does not
    repeat it on its own: the wait is as long as a running task, not a retry backoff.
    """


class InsufficientCreditError(APIError):
    """4100: the account has not enough credit; top up."""


class ContentSecurityError(APIError):
    """6001: the content was rejected by Topview's security check."""


class ServerError(APIError):
    """5000, 5001, 5004, 5005: Topview failed internally. Reads are retried; submits are not,
    since the task may have been stored before the failure."""


class ServerBusyError(ServerError):
    """5003: Topview is busy. Retried for every kind of call, since nothing was processed."""


class NoticeUrlRejectedError(APIError):
    """Topview refused a URL given to ``client.notices.check(url)``.

    Usually its test notice got no valid acknowledgement: the URL is not reachable from the
    internet, the secret in it is not one the receiver accepts, or the receiver answered
    something else than the acknowledgement. ``code`` and ``topview_message`` are Topview's
    (``topview_message`` with the URL's secret masked); ``error_class`` is the
    :class:`APIError` subclass the code maps to (``InvalidRequestError`` for 4000). The URL's
    ``token`` is never part of the message.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str,
        topview_message: str,
        error_class: type[APIError],
        operation: Operation | None = None,
    ) -> None:
        self.topview_message = topview_message
        self.error_class = error_class
        super().__init__(message, code=code, operation=operation)


# --- tasks --------------------------------------------------------------------------------


class InvalidArgumentTypeError(InvalidInputError, TypeError):
    """An argument has the wrong type (for example one path where a sequence is expected)."""


class UnknownTaskKindError(InvalidInputError):
    """A task kind that Topview has no poller for, for example ``client.tasks.get("nope", id)``.

    ``kind`` is what was given, ``known`` the task kinds there are.
    """

    def __init__(self, kind: str, known: Iterable[str]) -> None:
        self.kind = kind
        self.known = tuple(sorted(known))
        super().__init__(f"unknown task kind {kind!r}; known kinds: {', '.join(self.known)}")


class JobsFileError(InvalidInputError):
    """A jobs file (:func:`topview_async.jobs.read_jobs`) has bad lines; nothing was submitted.

    ``source`` is the file, ``problems`` one ``"FILE:LINE: what is wrong"`` per bad line, in
    file order; the message lists them all under a one-line summary.
    """

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = list(problems)
        count = len(self.problems)
        summary = f"{source}: {count} bad line{'' if count == 1 else 's'}; nothing was submitted"
        super().__init__("\n".join([summary, *(f"  {problem}" for problem in self.problems)]))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.source, self.problems))


class TaskFailedError(TopviewError):
    """Topview reported the task as failed.

    ``task_id`` and ``kind`` identify the task, ``error_msg`` is Topview's ``errorMsg``
    (``None`` when it gave none), ``status`` the raw failure status and ``result`` the
    last query result, with everything Topview sent.
    """

    def __init__(
        self, *, task_id: str, kind: str, error_msg: str | None, status: str | None, result: object
    ) -> None:
        self.kind = kind
        self.error_msg = error_msg
        self.status = status
        self.result = result
        detail = f": {error_msg}" if error_msg else ""
        super().__init__(f"{kind} task failed (status {status!r}){detail}", task_id=task_id)


class TaskTimeoutError(TopviewError):
    """The poll policy's ``timeout`` passed before the task finished.

    The task itself may still finish: ``task`` is the handle, and ``await task.wait()``
    resumes waiting. ``last_status`` is the raw status seen last (``None`` if never polled).
    From :func:`wait_all` and :func:`as_completed`, ``unfinished`` lists every handle that
    had not finished; ``task`` is the first of them.
    """

    def __init__(
        self,
        *,
        task: Task[Any],
        timeout: float | None,
        unfinished: Sequence[Task[Any]] = (),
    ) -> None:
        self.task = task
        self.kind = task.kind
        self.last_status = task.status
        self.timeout = timeout
        self.unfinished: tuple[Task[Any], ...] = tuple(unfinished) or (task,)
        count = len(self.unfinished)
        what = f"{task.kind} task" if count == 1 else f"{count} tasks (first: {task.kind})"
        super().__init__(
            f"{what} not finished after {timeout} s (last status {task.status!r})",
            task_id=task.task_id,
        )


# --- uploads, downloads, local files ---------------------------------------------------------


class TransferError(TopviewError):
    """Base of the upload, download and local file errors."""


class InvalidFileError(TransferError, InvalidInputError):
    """A local file (or in-memory content) cannot be uploaded; nothing was sent.

    ``path`` is the offending path, or ``None`` for bytes and streams.
    """

    def __init__(self, path: str | os.PathLike[str] | None, reason: str) -> None:
        self.path = Path(path) if path is not None else None
        self.reason = reason
        where = str(self.path) if self.path is not None else "<in-memory content>"
        super().__init__(f"{where}: {reason}")


class UnsupportedFormatError(InvalidFileError):
    """The file format is not one Topview accepts for upload (``allowed`` lists those)."""

    def __init__(
        self, path: str | os.PathLike[str] | None, format: str, *, allowed: Iterable[str] = ()
    ) -> None:
        self.format = format
        self.allowed = tuple(sorted(allowed))
        shown = repr(format) if format else "no file extension"
        accepts = f"; Topview accepts {', '.join(self.allowed)}" if self.allowed else ""
        super().__init__(path, f"unsupported format {shown}{accepts}")


class MaskSizeMismatchError(InvalidFileError):
    """An AnyShoot mask does not have exactly the pixel size of its image."""

    def __init__(
        self,
        mask: str | os.PathLike[str] | None,
        *,
        image_size: tuple[int, int],
        mask_size: tuple[int, int],
    ) -> None:
        self.image_size = image_size
        self.mask_size = mask_size
        super().__init__(
            mask,
            f"mask is {mask_size[0]}x{mask_size[1]} px but its image is "
            f"{image_size[0]}x{image_size[1]} px; they must be the same size",
        )


class UploadError(TransferError):
    """Uploading to the presigned storage URL, or confirming the upload, failed."""

    def __init__(
        self,
        message: str,
        *,
        source: object = None,
        file_id: str | None = None,
        status_code: int | None = None,
        storage_code: str | None = None,
    ) -> None:
        super().__init__(message, file_id=file_id)
        self.source = source
        self.status_code = status_code
        self.storage_code = storage_code
        """The S3 ``<Code>`` of the storage error response, when there was one."""


class DownloadError(TransferError):
    """A download failed; nothing was written at the destination."""

    def __init__(self, message: str, *, url: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status_code = status_code


class DownloadTimeoutError(DownloadError, TimeoutError):
    """A download did not finish within its ``timeout`` (attempts and waits included)."""


class IntegrityError(DownloadError):
    """The downloaded bytes do not match the expected length, ETag or MD5."""


class DownloadInProgressError(DownloadError):
    """A resumable download's ``.part`` file is locked by another download (of this or
    another process); nothing was sent and that download's file was left alone.

    ``part`` is the locked file.
    """

    def __init__(self, message: str, *, url: str, part: Path) -> None:
        super().__init__(message, url=url)
        self.part = part


class _BatchError(TransferError, ExceptionGroup[Exception]):
    """A TopviewError that is also an ExceptionGroup of the batch's failures.

    ``ExceptionGroup`` owns ``message`` (read-only) and builds itself in ``__new__``, so the
    TopviewError attributes are set here instead of through ``TopviewError.__init__``. Parts
    split off by ``except*`` / ``split()`` are plain ``ExceptionGroup`` objects: only the
    whole error carries the batch's per-item results.
    """

    failures: dict[int, Exception]

    def __init__(self, message: str, *args: Any) -> None:
        self.code = None
        self.operation = None
        self.task_id = None
        self.file_id = None
        ExceptionGroup.__init__(self, message, list(self.failures.values()))


class UploadManyError(_BatchError):
    """Some uploads of :func:`~topview_async.lib.uploads.upload_many` failed.

    ``file_ids`` is in input order, with ``None`` where that input failed, so the
    successful uploads are not lost; ``failures`` maps input index to its exception.
    Being an :class:`ExceptionGroup`, it also works with ``except*`` (the split parts
    are plain groups: only the whole error carries ``file_ids``).
    """

    file_ids: list[str | None]

    def __new__(
        cls, message: str, file_ids: Sequence[str | None], failures: Mapping[int, Exception]
    ) -> UploadManyError:
        self = super().__new__(cls, message, list(failures.values()))
        self.file_ids = list(file_ids)
        self.failures = dict(failures)
        return self

    def __reduce__(self) -> tuple[Any, ...]:  # pickle through __new__'s own arguments
        return (type(self), (self.message, self.file_ids, self.failures))


class DownloadManyError(_BatchError):
    """Some downloads of :func:`~topview_async.lib.downloads.download_many` failed.

    ``paths`` is in input order, with ``None`` where that item failed; ``failures`` maps
    input index to its exception.
    """

    paths: list[Path | None]

    def __new__(
        cls, message: str, paths: Sequence[Path | None], failures: Mapping[int, Exception]
    ) -> DownloadManyError:
        self = super().__new__(cls, message, list(failures.values()))
        self.paths = list(paths)
        self.failures = dict(failures)
        return self

    def __reduce__(self) -> tuple[Any, ...]:  # pickle through __new__'s own arguments
        return (type(self), (self.message, self.paths, self.failures))


# --- callbacks (webhooks) ---------------------------------------------------------------------
# None of them ever holds the secret or the raw body in its message; the receiver maps each
# WebhookError to an HTTP status (400, 413, 401/403, 503) instead of letting it escape as a 500.


class WebhookError(TopviewError):
    """A callback could not be accepted. ``status_code`` is the HTTP status to answer with."""

    status_code = 400


class InvalidWebhookPayloadError(WebhookError, ValueError):
    """The body is not JSON, not an object, or breaks the ``CallbackNotice`` schema."""


class WebhookTooLargeError(WebhookError):
    """The body is larger than the receiver's ``max_body_size``."""

    status_code = 413

    def __init__(self, message: str, *, limit: int) -> None:
        self.limit = limit
        super().__init__(message)


class WebhookSignatureError(WebhookError):
    """The request does not prove it comes from Topview through *our* notice URL.

    Raised for a missing token (401), a wrong token (403) and a ``Topview-Uid`` header that
    names another account (403).
    """

    def __init__(self, message: str, *, status_code: int = 403) -> None:
        self.status_code = status_code
        super().__init__(message)


class WebhookVerificationError(WebhookError):
    """Re-fetching the task from the API failed, or the API does not (yet) agree it finished.

    The callback is not acknowledged, so Topview can deliver it again later.
    """

    status_code = 503
