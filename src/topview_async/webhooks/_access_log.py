"""Keep the notice URL's secret out of web servers' access logs.

uvicorn (also under gunicorn's ``UvicornWorker``), gunicorn and hypercorn log every request
line with its path and query string: ``POST /topview/notice?token=... HTTP/1.1``. Every
:class:`~topview_async.webhooks.NoticeReceiver` adds its secrets to one logging filter on
those servers' access loggers, which masks them (and the value of any ``token=`` query
parameter, right or wrong) before any handler formats the line.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import quote

from ._secret import TOKEN_PARAMETER

__all__ = ["ACCESS_LOGGERS", "SecretMaskingFilter", "install_access_log_filter"]

ACCESS_LOGGERS = ("uvicorn.access", "gunicorn.access", "hypercorn.access")
"""The loggers whose records get the filter (the servers' standard access logs)."""

_MASK = "***"
_TOKEN_VALUE = re.compile(rf"(?<=[?&;]{TOKEN_PARAMETER}=)[^&;\s\"']+")


class SecretMaskingFilter(logging.Filter):
    """Masks the registered secrets, and any ``token=`` query value, in log records."""

    def __init__(self) -> None:
        super().__init__()
        self._forms: set[str] = set()

    def add(self, secrets: Iterable[str]) -> None:
        """Mask ``secrets`` too (as given and URL-encoded)."""
        for secret in secrets:
            self._forms.update({secret, quote(secret, safe="")})

    def mask(self, text: str) -> str:
        text = _TOKEN_VALUE.sub(_MASK, text)
        for form in self._forms:
            if form in text:
                text = text.replace(form, _MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = self.mask(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                self.mask(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        elif isinstance(record.args, dict):
            record.args = {
                name: self.mask(value) if isinstance(value, str) else value
                for name, value in record.args.items()
            }
        return True


_FILTER = SecretMaskingFilter()


def install_access_log_filter(secrets: Iterable[str]) -> SecretMaskingFilter:
    """Mask ``secrets`` in the access loggers of :data:`ACCESS_LOGGERS` (idempotent)."""
    _FILTER.add(secrets)
    for name in ACCESS_LOGGERS:
        access = logging.getLogger(name)
        if _FILTER not in access.filters:
            access.addFilter(_FILTER)
    return _FILTER
