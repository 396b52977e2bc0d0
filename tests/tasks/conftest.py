"""Fixtures for the task layer tests (the scripted server lives in ``_task_fakes``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from _task_fakes import TASK_KINDS, FakeClock, make_client

from topview_async import AsyncTopview
from topview_async._operation import TaskKindSpec
from topview_async.lib import tasks as tasks_module
from topview_async.lib.polling import PollScheduler
from topview_async.testing import set_testing


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def task_kinds(monkeypatch: pytest.MonkeyPatch) -> dict[str, TaskKindSpec]:
    monkeypatch.setattr(tasks_module, "_task_kinds", lambda: TASK_KINDS)
    return TASK_KINDS


@pytest.fixture
def clock() -> Iterator[FakeClock]:
    fake = FakeClock()
    with set_testing(True, sleep=fake.sleep):  # every SDK wait advances the fake clock
        yield fake


@pytest.fixture
def client(clock: FakeClock) -> AsyncTopview:
    return make_client(scheduler=PollScheduler(clock=clock, rate=None))
