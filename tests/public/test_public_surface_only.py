"""Code outside the core reaches the client and task handles through their public surface.

``lib/``, ``webhooks/``, ``jobs/``, ``temporal/`` and the CLI call Topview through
``client.request(...)`` and the generated methods, and read ``client.storage_http``,
``client.uid``, ``client.retry``, ``task.client`` ...; a private attribute of a client
(``client._pipeline``, ``client._storage_http``, ``client._credentials``) or a task's client
(``task._client``) reached from there means the public surface is missing something: add it.

The same holds for a task handle inside the package: only ``lib/tasks.py``, which defines
:class:`Task`, reads its private attributes; the wait engines (``lib/_many.py``,
``lib/_callback_wait.py``) drive a handle through ``task.polling``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import topview_async

PACKAGE = Path(topview_async.__file__).parent
OUTSIDE_THE_CORE = ("lib", "webhooks", "jobs", "temporal", "cli")
# A private attribute read off a client (any name ending in "client"), or a task's client.
PRIVATE_ACCESS = re.compile(r"\b\w*client\._[a-z]\w*|\btasks?(?:\[\w+\])?\._client\b")


# Any private attribute read off a task handle (``task._x``, ``tasks[i]._x``).
TASK_PRIVATE_ACCESS = re.compile(r"\btasks?(?:\[\w+\])?\._[a-z]\w*")
TASK_MODULE = PACKAGE / "lib" / "tasks.py"


def _sources() -> list[Path]:
    return sorted(path for part in OUTSIDE_THE_CORE for path in (PACKAGE / part).rglob("*.py"))


def test_the_pattern_catches_what_it_should() -> None:
    for text in (
        "client._pipeline",
        "self._client._storage_http",
        "task._client.retry",
        "tasks[0]._client",
        "async_client._credentials",
    ):
        assert PRIVATE_ACCESS.search(text), text
    for text in ("self._client.storage_http", "client.request(", "task.client.retry"):
        assert not PRIVATE_ACCESS.search(text), text


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_private_attribute_of_a_client_or_a_task_client(path: Path) -> None:
    found = [
        f"{path.name}:{number}: {line.strip()}"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if PRIVATE_ACCESS.search(line.split("#", 1)[0])
    ]
    assert not found, "\n".join(found)


def test_the_task_pattern_catches_what_it_should() -> None:
    for text in (
        "task._poll_once(scheduler)",
        "self.tasks[index]._next_poll_at(",
        "skip=task._notices_seen",
        "task._spec.result_type",
    ):
        assert TASK_PRIVATE_ACCESS.search(text), text
    for text in ("task.polling.poll_once(", "task.task_id", "self._task._origin", "subtask.x"):
        assert not TASK_PRIVATE_ACCESS.search(text), text


def _package_sources_but_the_task_module() -> list[Path]:
    return sorted(path for path in PACKAGE.rglob("*.py") if path != TASK_MODULE)


@pytest.mark.parametrize(
    "path", _package_sources_but_the_task_module(), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_no_private_attribute_of_a_task_outside_its_module(path: Path) -> None:
    found = [
        f"{path.name}:{number}: {line.strip()}"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if TASK_PRIVATE_ACCESS.search(line.split("#", 1)[0])
    ]
    assert not found, "\n".join(found)
