"""topview-async: the async, typed Python SDK for the Topview AI video API.

from topview_async import AsyncTopview, Topview

async with AsyncTopview() as client:          # TOPVIEW_API_KEY, TOPVIEW_UID
    voices = await client.voices.list(language="en")

with Topview() as client:                     # the same surface, blocking
    voices = client.voices.list(language="en")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import _lazy
from ._version import __version__

if TYPE_CHECKING:  # the real imports, for type checkers and IDEs
    from ._client import AsyncTopview
    from ._config import (
        DEFAULT_BASE_URL,
        DEFAULT_MAX_CONNECTIONS,
        DEFAULT_RETRY,
        DEFAULT_TIMEOUT,
        NOT_GIVEN,
        NotGiven,
        RetryPolicy,
    )
    from ._exceptions import (
        APIConnectionError,
        APIError,
        APITimeoutError,
        AuthenticationError,
        BatchLockedError,
        ClientClosedError,
        ClientStateError,
        ConfigurationError,
        ContentSecurityError,
        DownloadError,
        DownloadInProgressError,
        DownloadManyError,
        DuplicateNameError,
        HTTPStatusError,
        InsufficientCreditError,
        IntegrityError,
        InvalidArgumentTypeError,
        InvalidFileError,
        InvalidInputError,
        InvalidModelError,
        InvalidMusicRequestError,
        InvalidReferenceAudioError,
        InvalidRequestError,
        JobsFileError,
        JournalUnusableError,
        MaskSizeMismatchError,
        NotFoundError,
        NoticeUrlRejectedError,
        RequestRefusedError,
        ResponseValidationError,
        ServerBusyError,
        ServerError,
        SubmitOutcomeUnknownError,
        SubmittedRequest,
        TaskFailedError,
        TaskTimeoutError,
        TopviewError,
        TransferError,
        UnfinishedTaskError,
        UnknownTaskKindError,
        UnsupportedFormatError,
        UploadError,
        UploadManyError,
        WrongEventLoopError,
    )
    from ._generated.task_kinds import TaskKind
    from ._operation import Operation, OperationKind
    from ._options import RequestOptions
    from ._response import RawResponse
    from ._retry_loop import RetryEvent
    from ._sync_client import Topview
    from ._transport import AiohttpTransport
    from ._types import FileInput
    from .lib._files import TransferProgress
    from .lib._media import ResultFile
    from .lib._sync import SyncTask
    from .lib.polling import DEFAULT_POLL_POLICY, PollPolicy
    from .lib.tasks import (
        ProgressCallback,
        Task,
        TaskProgress,
        TaskState,
        TaskUpdate,
        as_completed,
        wait_all,
    )

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_POLL_POLICY",
    "DEFAULT_RETRY",
    "DEFAULT_TIMEOUT",
    "NOT_GIVEN",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AiohttpTransport",
    "AsyncTopview",
    "AuthenticationError",
    "BatchLockedError",
    "ClientClosedError",
    "ClientStateError",
    "ConfigurationError",
    "ContentSecurityError",
    "DownloadError",
    "DownloadInProgressError",
    "DownloadManyError",
    "DownloadTimeoutError",
    "DuplicateNameError",
    "FileInput",
    "HTTPStatusError",
    "InsufficientCreditError",
    "IntegrityError",
    "InvalidArgumentTypeError",
    "InvalidFileError",
    "InvalidInputError",
    "InvalidModelError",
    "InvalidMusicRequestError",
    "InvalidReferenceAudioError",
    "InvalidRequestError",
    "JobsFileError",
    "JournalUnusableError",
    "MaskSizeMismatchError",
    "NotFoundError",
    "NotGiven",
    "NoticeUrlRejectedError",
    "Operation",
    "OperationKind",
    "PollPolicy",
    "ProgressCallback",
    "RawResponse",
    "RequestOptions",
    "RequestRefusedError",
    "ResponseValidationError",
    "ResultFile",
    "RetryEvent",
    "RetryPolicy",
    "ServerBusyError",
    "ServerError",
    "SubmitOutcomeUnknownError",
    "SubmittedRequest",
    "SyncTask",
    "Task",
    "TaskFailedError",
    "TaskKind",
    "TaskProgress",
    "TaskState",
    "TaskTimeoutError",
    "TaskUpdate",
    "Topview",
    "TopviewError",
    "TransferError",
    "TransferProgress",
    "UnfinishedTaskError",
    "UnknownTaskKindError",
    "UnsupportedFormatError",
    "UploadError",
    "UploadManyError",
    "WrongEventLoopError",
    "__version__",
    "as_completed",
    "wait_all",
]

# Where each public name lives. ``import topview_async`` imports none of them: httpx,
# aiohttp and pydantic cost hundreds of milliseconds, paid on first use of a name instead.
_LAZY: dict[str, str] = {
    "APIConnectionError": "._exceptions",
    "APIError": "._exceptions",
    "APITimeoutError": "._exceptions",
    "AiohttpTransport": "._transport",
    "AsyncTopview": "._client",
    "AuthenticationError": "._exceptions",
    "BatchLockedError": "._exceptions",
    "ClientClosedError": "._exceptions",
    "ClientStateError": "._exceptions",
    "ConfigurationError": "._exceptions",
    "ContentSecurityError": "._exceptions",
    "DEFAULT_BASE_URL": "._config",
    "DEFAULT_MAX_CONNECTIONS": "._config",
    "DEFAULT_POLL_POLICY": ".lib.polling",
    "DEFAULT_RETRY": "._config",
    "DEFAULT_TIMEOUT": "._config",
    "DownloadError": "._exceptions",
    "DownloadManyError": "._exceptions",
    "DownloadInProgressError": "._exceptions",
    "DownloadTimeoutError": "._exceptions",
    "DuplicateNameError": "._exceptions",
    "FileInput": "._types",
    "HTTPStatusError": "._exceptions",
    "InsufficientCreditError": "._exceptions",
    "IntegrityError": "._exceptions",
    "InvalidArgumentTypeError": "._exceptions",
    "InvalidFileError": "._exceptions",
    "InvalidInputError": "._exceptions",
    "InvalidModelError": "._exceptions",
    "InvalidMusicRequestError": "._exceptions",
    "InvalidReferenceAudioError": "._exceptions",
    "InvalidRequestError": "._exceptions",
    "JournalUnusableError": "._exceptions",
    "JobsFileError": "._exceptions",
    "MaskSizeMismatchError": "._exceptions",
    "NOT_GIVEN": "._config",
    "NotFoundError": "._exceptions",
    "NoticeUrlRejectedError": "._exceptions",
    "NotGiven": "._config",
    "Operation": "._operation",
    "OperationKind": "._operation",
    "PollPolicy": ".lib.polling",
    "ProgressCallback": ".lib.tasks",
    "RawResponse": "._response",
    "RequestOptions": "._options",
    "RequestRefusedError": "._exceptions",
    "ResponseValidationError": "._exceptions",
    "ResultFile": ".lib._media",
    "RetryEvent": "._retry_loop",
    "RetryPolicy": "._config",
    "ServerBusyError": "._exceptions",
    "ServerError": "._exceptions",
    "SubmitOutcomeUnknownError": "._exceptions",
    "SubmittedRequest": "._exceptions",
    "SyncTask": ".lib._sync",
    "Task": ".lib.tasks",
    "TaskFailedError": "._exceptions",
    "TaskKind": "._generated.task_kinds",
    "TaskProgress": ".lib.tasks",
    "TaskState": ".lib.tasks",
    "TaskTimeoutError": "._exceptions",
    "TaskUpdate": ".lib.tasks",
    "Topview": "._sync_client",
    "TopviewError": "._exceptions",
    "TransferError": "._exceptions",
    "TransferProgress": ".lib._files",
    "UnfinishedTaskError": "._exceptions",
    "UnknownTaskKindError": "._exceptions",
    "UnsupportedFormatError": "._exceptions",
    "UploadError": "._exceptions",
    "UploadManyError": "._exceptions",
    "WrongEventLoopError": "._exceptions",
    "as_completed": ".lib.tasks",
    "wait_all": ".lib.tasks",
}


def __getattr__(name: str) -> Any:
    return _lazy.attribute(__name__, _LAZY, name, globals())


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
