"""topview-async: the async, typed Python SDK for the Topview AI video API.

from topview_async import AsyncTopview

async with AsyncTopview() as client:          # TOPVIEW_API_KEY, TOPVIEW_UID
    voices = await client.voices.list(language="en")
"""

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
    ClientClosedError,
    ClientStateError,
    ConfigurationError,
    ContentSecurityError,
    DuplicateNameError,
    HTTPStatusError,
    InsufficientCreditError,
    InvalidInputError,
    InvalidRequestError,
    NotFoundError,
    RequestRefusedError,
    ResponseValidationError,
    ServerBusyError,
    ServerError,
    SubmitOutcomeUnknownError,
    SubmittedRequest,
    TopviewError,
    UnfinishedTaskError,
    WrongEventLoopError,
)
from ._transport import AiohttpTransport
from ._types import FileInput
from ._version import __version__
from .lib._files import (
    DownloadError,
    DownloadManyError,
    IntegrityError,
    InvalidFileError,
    MaskSizeMismatchError,
    TransferError,
    UnsupportedFormatError,
    UploadError,
    UploadManyError,
)
from .lib.polling import DEFAULT_POLL_POLICY, PollPolicy
from .lib.tasks import (
    ProgressCallback,
    Task,
    TaskFailedError,
    TaskState,
    TaskTimeoutError,
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
    "ClientClosedError",
    "ClientStateError",
    "ConfigurationError",
    "ContentSecurityError",
    "DownloadError",
    "DownloadManyError",
    "DuplicateNameError",
    "FileInput",
    "HTTPStatusError",
    "InsufficientCreditError",
    "IntegrityError",
    "InvalidFileError",
    "InvalidInputError",
    "InvalidRequestError",
    "MaskSizeMismatchError",
    "NotFoundError",
    "NotGiven",
    "PollPolicy",
    "ProgressCallback",
    "RequestRefusedError",
    "ResponseValidationError",
    "RetryPolicy",
    "ServerBusyError",
    "ServerError",
    "SubmitOutcomeUnknownError",
    "SubmittedRequest",
    "Task",
    "TaskFailedError",
    "TaskState",
    "TaskTimeoutError",
    "TaskUpdate",
    "TopviewError",
    "TransferError",
    "UnfinishedTaskError",
    "UnsupportedFormatError",
    "UploadError",
    "UploadManyError",
    "WrongEventLoopError",
    "__version__",
    "as_completed",
    "wait_all",
]
