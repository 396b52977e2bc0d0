"""The Topview envelope and business error codes, as the simulator speaks them.

Topview answers HTTP 200 for business errors and carries the outcome in ``code``
(REFERENCE §1.3, §2). Handlers raise :class:`ApiError`; the router turns it into
that envelope, so every error path looks the same on the wire.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from .._generated.error_codes import ERROR_CODES

CODE_MESSAGES: dict[str, str] = {
    "200": "Success",
    **{code: info.message for code, info in ERROR_CODES.items()},
}
"""Documented message of every business code (the spec's ``x-topview-error-codes``)."""


class ApiError(Exception):
    """A business error: answered as HTTP 200 with ``{code, message, result: null}``."""

    def __init__(self, code: str, detail: str | None = None) -> None:
        self.code = code
        self.detail = detail
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """The documented message, with the simulator's explanation appended when known."""
        base = CODE_MESSAGES.get(self.code, "Unknown error occurred")
        return f"{base} ({self.detail})" if self.detail else base


def envelope(result: Any) -> JSONResponse:
    """A success envelope around ``result``."""
    return JSONResponse({"code": "200", "message": "Success", "result": result})


def error_response(code: str, message: str | None = None) -> JSONResponse:
    """An error envelope (HTTP 200, as Topview does)."""
    text = message if message is not None else CODE_MESSAGES.get(code, "Unknown error occurred")
    return JSONResponse({"code": code, "message": text, "result": None})
