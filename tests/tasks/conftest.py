"""Fixtures for the task layer tests (fakes live in ``_task_fakes``)."""

from __future__ import annotations

import pytest
from _task_fakes import TASK_KINDS, FakeClient, FakeClock

from topview_async import _sleep
from topview_async._operation import TaskKindSpec
from topview_async.lib import tasks as tasks_module
from topview_async.lib.polling import PollScheduler


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def task_kinds(monkeypatch: pytest.MonkeyPatch) -> dict[str, TaskKindSpec]:
    monkeypatch.setattr(tasks_module, "_task_kinds", lambda: TASK_KINDS)
    return TASK_KINDS


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(_sleep, "sleep_function", fake.sleep)
    return fake


@pytest.fixture
def client(clock: FakeClock) -> FakeClient:
    fake = FakeClient()
    fake._poll_scheduler = PollScheduler(clock=clock, rate=None)  # type: ignore[attr-defined]
    return fake
