"""Errors about Topview callbacks: receiving one, and checking a notice URL.

::

    TopviewError
    ├── WebhookError                      a callback could not be accepted
    │   ├── InvalidWebhookPayloadError    the body is not a valid callback (also a ValueError)
    │   ├── WebhookTooLargeError          the body is larger than the configured limit
    │   ├── WebhookSignatureError         the URL token or the Topview-Uid does not match
    │   └── WebhookVerificationError      the task could not be confirmed through the API
    └── APIError
        └── NoticeUrlRejectedError        client.notices.check(url): Topview refused the URL

None of them ever holds the secret or the raw body in its message; the receiver maps each
``WebhookError`` to an HTTP status (400, 413, 401/403, 503) instead of letting it escape as
a 500.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._exceptions import APIError, TopviewError

if TYPE_CHECKING:
    from .._operation import Operation

__all__ = [
    "InvalidWebhookPayloadError",
    "NoticeUrlRejectedError",
    "WebhookError",
    "WebhookSignatureError",
    "WebhookTooLargeError",
    "WebhookVerificationError",
]


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


class NoticeUrlRejectedError(APIError):
    """Topview refused a URL given to ``client.notices.check(url)``.

    Usually its test notice got no valid acknowledgement: the URL is not reachable from the
    internet, the secret in it is not one the receiver accepts, or the receiver answered
    something else than the acknowledgement. ``code`` and ``topview_message`` are Topview's
    (``topview_message`` with the URL's secret masked); ``error_class`` is the
    :class:`~topview_async.APIError` subclass the code maps to (``InvalidRequestError`` for
    4000). The URL's ``token`` is never part of the message.
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
