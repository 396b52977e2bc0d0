"""The ``topview_async`` logger and the ``TOPVIEW_LOG`` switch.

The SDK logs through the standard :mod:`logging` module under the ``topview_async`` logger
and adds no handler unless asked: set ``TOPVIEW_LOG=debug`` (every request and every retry
with its reason) or ``TOPVIEW_LOG=info`` (one line per request and per retry) to get lines on stderr
without configuring logging yourself. Nothing logged ever contains the API key or the uid:
requests are logged by method, path, status, business code, attempt and duration only.
"""

from __future__ import annotations

import logging
import os

from ._config import ENV_LOG

__all__ = ["configure_from_environment", "logger"]

logger = logging.getLogger("topview_async")

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}
_handler: logging.Handler | None = None


def configure_from_environment() -> None:
    """Apply ``TOPVIEW_LOG`` (read now, at client construction, not at import)."""
    global _handler
    level = _LEVELS.get(os.environ.get(ENV_LOG, "").strip().lower())
    if level is None:
        return
    logger.setLevel(level)
    if _handler is None:
        # One handler for the process, however many clients are created.
        _handler = logging.StreamHandler()
        _handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [%(name)s] %(message)s"))
        logger.addHandler(_handler)
