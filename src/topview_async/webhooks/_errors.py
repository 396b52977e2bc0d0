"""Errors about Topview callbacks: receiving one, and checking a notice URL.

They are defined in :mod:`topview_async._exceptions` (the one exception tree, drawn there) and
re-exported here, their old home.
"""

from __future__ import annotations

from .._exceptions import (
    InvalidWebhookPayloadError,
    NoticeUrlRejectedError,
    WebhookError,
    WebhookSignatureError,
    WebhookTooLargeError,
    WebhookVerificationError,
)

__all__ = [
    "InvalidWebhookPayloadError",
    "NoticeUrlRejectedError",
    "WebhookError",
    "WebhookSignatureError",
    "WebhookTooLargeError",
    "WebhookVerificationError",
]
