"""Errors raised while receiving a Topview callback.

::

    TopviewError
    └── WebhookError                      a callback could not be accepted
        ├── InvalidWebhookPayloadError    the body is not a valid callback (also a ValueError)
        ├── WebhookTooLargeError          the body is larger than the configured limit
        ├── WebhookSignatureError         the URL token or the Topview-Uid does not match
        └── WebhookVerificationError      the task could not be confirmed through the API

None of them ever holds the secret or the raw body in its message; the receiver maps each
to an HTTP status (400, 413, 401/403, 503) instead of letting it escape as a 500.
"""

from __future__ import annotations

from .._exceptions import TopviewError

__all__ = [
    "InvalidWebhookPayloadError",
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
