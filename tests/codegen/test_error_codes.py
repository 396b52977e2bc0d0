"""Codegen refuses an error-code entry whose class or retry rule is missing or contradictory."""

from __future__ import annotations

from typing import Any

import pytest

from codegen._spec import SpecError, _error_code

GOOD: dict[str, Any] = {
    "code": "5003",
    "name": "server_busy",
    "message": "busy",
    "retryable": True,
    "retry": "always",
    "exception": "ServerBusyError",
    "description": "why",
}


def test_a_complete_entry_is_read_as_written() -> None:
    entry = _error_code(GOOD)
    assert (entry.code, entry.retryable, entry.retry, entry.exception) == (
        "5003",
        True,
        "always",
        "ServerBusyError",
    )


@pytest.mark.parametrize(
    "change",
    [
        {"retry": None},
        {"retry": "sometimes"},
        {"retryable": None},
        {"retryable": False},  # not retryable, yet retried
        {"exception": None},
        {"exception": "not a class"},
    ],
)
def test_incomplete_or_contradictory_entries_are_refused(change: dict[str, Any]) -> None:
    entry = {key: value for key, value in {**GOOD, **change}.items() if value is not None}
    with pytest.raises(SpecError):
        _error_code(entry)
