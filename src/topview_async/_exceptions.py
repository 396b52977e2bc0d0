"""Every exception the SDK raises, under one root.

Catch :class:`TopviewError` to handle anything this package raises::

    TopviewError
    ├── ConfigurationError            missing or invalid client settings (also a ValueError)
    ├── ClientStateError              the client cannot be used now (also a RuntimeError)
    │   ├── ClientClosedError         used after aclose()
    │   └── WrongEventLoopError       used from another event loop than the one it was opened in
    ├── InvalidInputError             arguments failed local validation; nothing sent (ValueError)
    ├── APIConnectionError            no usable HTTP response (connection failed or was lost)
    │   └── APITimeoutError           ... because a connect, read, write or pool timeout expired
    ├── HTTPStatusError               Topview (or a proxy in front of it) answered a non-2xx status
    ├── ResponseValidationError       the body is no Topview envelope, or `result` breaks the spec
    ├── SubmitOutcomeUnknownError     a paid submit may or may not have been accepted; reconcile
    └── APIError                      Topview answered with a business `code` other than "200"
        ├── AuthenticationError           401
        ├── InvalidRequestError           4000-4003
        ├── NotFoundError                 4004
        ├── DuplicateNameError            4005
        ├── RequestRefusedError           4006
        ├── UnfinishedTaskError           4007
        ├── InsufficientCreditError       4100
        ├── ContentSecurityError          6001
        └── ServerError                   5000-5005
            └── ServerBusyError           5003

Every error carries ``message``, ``code`` (the business code as a string, when there is one),
``operation`` (the :class:`~topview_async._operation.Operation` being called, when there is one),
``task_id`` and ``file_id``. No exception built here ever holds request headers, so neither the
API key nor the uid can leak through ``str(exc)``, ``repr(exc)`` or a traceback.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._operation import Operation

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "ClientClosedError",
    "ClientStateError",
    "ConfigurationError",
    "ContentSecurityError",
    "DuplicateNameError",
    "HTTPStatusError",
    "InsufficientCreditError",
    "InvalidInputError",
    "InvalidRequestError",
    "NotFoundError",
    "RequestRefusedError",
    "ResponseValidationError",
    "ServerBusyError",
    "ServerError",
    "SubmitOutcomeUnknownError",
    "SubmittedRequest",
    "TopviewError",
    "UnfinishedTaskError",
    "WrongEventLoopError",
    "exception_class_for_code",
]

_RAW_BODY_LIMIT = 2000
"""How much of a raw body goes into an exception message (the full body stays on ``.body``)."""


class TopviewError(Exception):
    """Root of every exception raised by ``topview_async``."""

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
        return parts[0] if len(parts) == 1 else f"{parts[0]} ({', '.join(parts[1:])})"


class ConfigurationError(TopviewError, ValueError):
    """The client was configured incompletely or inconsistently (for example no API key)."""


class ClientStateError(TopviewError, RuntimeError):
    """The client cannot serve calls in its current state."""


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

    ``status_code`` is the HTTP status, ``body`` the raw response text. When the body
    happens to be a Topview envelope, ``code`` and ``message`` come from it.
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

    ``body`` holds the raw response text so nothing is lost. Pass
    ``strict_responses=False`` to :class:`AsyncTopview` to get the raw data back instead.
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
    ``__cause__`` holds the underlying failure (a timeout, a dropped connection, a 502...).
    """

    def __init__(
        self,
        message: str,
        *,
        request: SubmittedRequest,
        operation: Operation | None = None,
        code: str | None = None,
    ) -> None:
        self.request = request
        super().__init__(message, code=code, operation=operation)


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
    """4000-4003: Topview rejected a parameter (value, format, signature, or missing field)."""


class NotFoundError(APIError):
    """4004: the task, file or other resource does not exist."""


class DuplicateNameError(APIError):
    """4005: the name is already taken."""


class RequestRefusedError(APIError):
    """4006: Topview refused the request."""


class UnfinishedTaskError(APIError):
    """4007: an earlier task is still running; wait for it before submitting the next one."""


class InsufficientCreditError(APIError):
    """4100: the account has not enough credit; top up."""


class ContentSecurityError(APIError):
    """6001: the content was rejected by Topview's security check."""


class ServerError(APIError):
    """5000-5005: Topview failed internally. Reads are retried on 5000, 5001, 5003 and 5004."""


class ServerBusyError(ServerError):
    """5003: Topview is busy. Retried for every kind of call, since nothing was processed."""


_CODE_CLASSES: dict[str, type[APIError]] = {
    "401": AuthenticationError,
    "4000": InvalidRequestError,
    "4001": InvalidRequestError,
    "4002": InvalidRequestError,
    "4003": InvalidRequestError,
    "4004": NotFoundError,
    "4005": DuplicateNameError,
    "4006": RequestRefusedError,
    "4007": UnfinishedTaskError,
    "4100": InsufficientCreditError,
    "5000": ServerError,
    "5001": ServerError,
    "5002": ServerError,
    "5003": ServerBusyError,
    "5004": ServerError,
    "5005": ServerError,
    "6001": ContentSecurityError,
}


def exception_class_for_code(code: str | int) -> type[APIError]:
    """The exception class raised for a business ``code``; :class:`APIError` when unknown."""
    return _CODE_CLASSES.get(str(code).strip(), APIError)
