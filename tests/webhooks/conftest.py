"""Fixtures for the webhook tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def no_topview_uid_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOPVIEW_UID", raising=False)
