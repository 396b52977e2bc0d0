"""The shared secret in the notice URL: how it is embedded and how it is checked.

Topview documents no signature on callbacks, only the ``Topview-Uid`` header, which is no
secret. So the SDK puts a random secret into the ``noticeUrl`` it hands to Topview; a request
that presents it proves its sender knows that URL, and nothing more.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Sequence
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from .._exceptions import ConfigurationError
from ._errors import WebhookSignatureError

__all__ = [
    "TOKEN_PARAMETER",
    "SecretChecker",
    "build_notice_url",
    "generate_secret",
    "mask_notice_url",
    "mask_token_in",
]

TOKEN_PARAMETER = "token"  # noqa: S105 - a parameter name, not a password
"""Name of the query parameter (or ``{token}`` path parameter) that carries the secret."""

_MIN_SECRET_LENGTH = 16


def generate_secret() -> str:
    """A new random secret for a notice URL (32 URL-safe characters, 192 bits)."""
    return secrets.token_urlsafe(24)


def build_notice_url(base_url: str, secret: str, *, in_path: bool = False) -> str:
    """The ``noticeUrl`` to give Topview: ``base_url`` with ``secret`` embedded.

    >>> build_notice_url("https://api.example.com/topview/notice", "s3cr3t-0123456789")
    'https://api.example.com/topview/notice?token=s3cr3t-0123456789'
    >>> build_notice_url("https://example.com/notice", "s3cr3t-0123456789", in_path=True)
    'https://example.com/notice/s3cr3t-0123456789'

    With ``in_path=True`` mount the router on a path ending in ``/{token}`` (for example
    ``path="/topview/notice/{token}"``); use it if a proxy strips query strings.
    """
    _check_secret(secret)
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(f"notice base URL must be an absolute http(s) URL: {base_url!r}")
    if in_path:
        path = parts.path.rstrip("/") + "/" + quote(secret, safe="")
        return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(k == TOKEN_PARAMETER for k, _ in query):
        raise ConfigurationError(f"base URL already has a {TOKEN_PARAMETER!r} query parameter")
    query.append((TOKEN_PARAMETER, secret))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


_MASK = "***"


def _tokens(url: str) -> list[str]:
    try:
        query = urlsplit(url).query
    except ValueError:
        return []
    return [v for k, v in parse_qsl(query, keep_blank_values=True) if k == TOKEN_PARAMETER and v]


def mask_notice_url(url: str) -> str:
    """``url`` with the value of its ``token`` query parameter replaced by ``***``.

    >>> mask_notice_url("https://api.example.com/topview/notice?token=s3cr3t-0123456789")
    'https://api.example.com/topview/notice?token=***'

    A secret placed in the path (``in_path=True``) cannot be told from the rest of the path
    and is left as is.
    """
    return mask_token_in(url, url)


def mask_token_in(text: str, url: str) -> str:
    """``text`` with every occurrence of ``url``'s secret (as sent or URL-encoded) masked."""
    for token in _tokens(url):
        for form in {quote(token, safe=""), token}:
            text = text.replace(form, _MASK)
    return text


class SecretChecker:
    """Constant-time check of a presented token against one or more accepted secrets.

    Several secrets allow rotation: accept the old and the new one until every task
    submitted with the old URL has called back.
    """

    def __init__(self, secret: str | Sequence[str]) -> None:
        accepted = [secret] if isinstance(secret, str) else list(secret)
        if not accepted:
            raise ConfigurationError("at least one webhook secret is required")
        for value in accepted:
            _check_secret(value)
        self._accepted = [value.encode() for value in accepted]

    @property
    def secrets(self) -> tuple[str, ...]:
        """The accepted secrets (for masking them in logs)."""
        return tuple(value.decode() for value in self._accepted)

    def check(self, presented: str | None) -> None:
        """Raise :class:`WebhookSignatureError` unless ``presented`` is an accepted secret."""
        if not presented:
            raise WebhookSignatureError("callback token missing", status_code=401)
        candidate = presented.encode()
        # Compare against every secret, without stopping early, so timing reveals nothing.
        matches = [hmac.compare_digest(candidate, accepted) for accepted in self._accepted]
        if not any(matches):
            raise WebhookSignatureError("callback token does not match", status_code=403)


def _check_secret(secret: str) -> None:
    if not isinstance(secret, str) or len(secret) < _MIN_SECRET_LENGTH:
        raise ConfigurationError(
            f"webhook secret must be a string of at least {_MIN_SECRET_LENGTH} characters "
            "(use topview_async.webhooks.generate_secret())"
        )
