"""Fixtures for the client-core tests: a clean environment and a recorded sleep."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from topview_async.testing import set_testing


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TOPVIEW_API_KEY", "TOPVIEW_UID", "TOPVIEW_BASE_URL", "TOPVIEW_LOG"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def sleeps() -> Iterator[list[float]]:
    """Every wait the SDK asks for, recorded instead of slept (the public testing switch)."""
    recorded: list[float] = []

    async def record(seconds: float) -> None:
        recorded.append(seconds)

    with set_testing(True, sleep=record):
        yield recorded
