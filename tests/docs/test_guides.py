"""The guides keep up with the code: every public exception has a row in the errors guide."""

from __future__ import annotations

import re
from pathlib import Path

from topview_async import _exceptions

ERRORS_GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guides" / "errors.md"


def test_every_exception_is_in_the_errors_guide() -> None:
    mentioned = set(re.findall(r"`(\w+)`", ERRORS_GUIDE.read_text(encoding="utf-8")))
    public = {
        name
        for name in _exceptions.__all__
        if isinstance(getattr(_exceptions, name), type)
        and issubclass(getattr(_exceptions, name), _exceptions.TopviewError)
    }
    assert public, "no exception classes found"
    assert sorted(public - mentioned) == []
