"""A soak: 1,000 tasks (upload, submit, wait, download) through one client at 10% faults.

Every kind of fault the simulator can make (:func:`~topview_async.testing._faults.every_fault`)
hits about 10% of the requests it targets: dropped and reset connections before the handler,
after the headers and mid-body, cut uploads, 429/503/5003 answers, stalls and trickles,
media that changes between attempts (new ETag, reused ETag, none), Range and If-Range
ignored. The run must show:

* no duplicate submit: at most one simulator task per uploaded image, and every submit the
  SDK reported as accepted exists exactly once;
* no hash mismatch: every downloaded file is one whole version of the simulator's media;
* every task ends as done, a typed failure (a ``TopviewError``, or a ``DownloadManyError``
  of them) or a ``SubmitOutcomeUnknownError`` carrying its request.

The counts are printed (shown in the terminal summary) and repeated in assertion messages.
Time is bounded by the task count and the simulator's time scale, not by a wall clock.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from topview_async import SubmitOutcomeUnknownError, TopviewError
from topview_async.lib._media import result_files
from topview_async.testing import SimulatorConfig, SimulatorServer, set_testing
from topview_async.testing._faults import every_fault

from ..e2e.helpers import make_client, media_name, png_bytes

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

TASKS = 1000
CONCURRENCY = 64
FAULT_RATE = 0.10
TIME_SCALE = 50.0
MEDIA_SIZE = 128 * 1024
TASK_FAILURE_PROBABILITY = 0.02


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def fast_sdk_sleep() -> Iterator[None]:
    """Backoffs and poll waits of at most 10 ms (loops look at the clock, not the sleeps)."""

    async def capped(seconds: float) -> None:
        await anyio.sleep(min(seconds, 0.01))

    with set_testing(True, sleep=capped):
        yield


class Soak:
    """What happened to each task, counted."""

    def __init__(self) -> None:
        self.outcomes: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()
        self.untyped: list[BaseException] = []
        self.unknown_without_request = 0
        self.accepted: set[str] = set()
        self.downloads: list[tuple[Path, str]] = []  # (file, media name)

    def failed(self, exc: BaseException) -> None:
        if isinstance(exc, SubmitOutcomeUnknownError):
            self.outcomes["submit outcome unknown"] += 1
            if exc.request is None or not exc.request.body:
                self.unknown_without_request += 1
        elif isinstance(exc, TopviewError) or (
            # UploadManyError / DownloadManyError: groups of typed errors (one per file).
            isinstance(exc, BaseExceptionGroup)
            and all(isinstance(e, TopviewError) for e in _leaves(exc))
        ):
            self.outcomes["typed failure"] += 1
            inner = _leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc]
            self.failures.update(type(e).__name__ for e in inner)
        else:
            self.outcomes["untyped failure"] += 1
            self.untyped.append(exc)


async def test_thousand_tasks_at_ten_percent_faults(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = SimulatorConfig(
        seed=11,
        time_scale=TIME_SCALE,
        media_size=MEDIA_SIZE,
        faults=every_fault(FAULT_RATE),
        failure_probability={"image_to_video": TASK_FAILURE_PROBABILITY},
    )
    soak = Soak()
    images, out = tmp_path / "images", tmp_path / "out"
    images.mkdir()
    started = time.perf_counter()
    async with SimulatorServer(config) as server, make_client(server) as client:
        limiter = anyio.CapacityLimiter(CONCURRENCY)

        async def one(index: int) -> None:
            async with limiter:
                image = images / f"{index}.png"
                # A different pixel size per task: every upload (so every fileId) is unique.
                image.write_bytes(png_bytes(16 + index % 64, 16 + index // 64))
                try:
                    task = await client.image_to_video.submit(
                        image_file_id=image, duration=5, mode="lite", generating_count=1
                    )
                except Exception as exc:
                    soak.failed(exc)
                    return
                soak.accepted.add(task.task_id)
                try:
                    paths = await task.download(out / str(index))
                except Exception as exc:
                    soak.failed(exc)
                    return
                files = result_files(task.kind, task.task_id, task.result)
                for path, file in zip(paths, files, strict=True):
                    soak.downloads.append((path, media_name(file.url)))
                soak.outcomes["done"] += 1

        async with anyio.create_task_group() as group:
            for index in range(TASKS):
                group.start_soon(one, index)
        elapsed = time.perf_counter() - started
        sim = server.simulator
        report = _report(soak, sim, elapsed)

    print(report)  # kept in the report of a failing run
    with capsys.disabled():  # and shown on the terminal of a passing one, without -s
        print("\n" + report)

    assert sum(soak.outcomes.values()) == TASKS, report
    assert soak.untyped == [], report
    assert soak.unknown_without_request == 0, report
    assert _duplicates(sim) == 0, report
    assert soak.accepted <= set(sim.tasks), report
    assert _mismatches(soak, sim) == 0, report
    assert soak.outcomes["done"] > TASKS // 2, report  # faults at 10% leave most tasks whole


def _leaves(group: BaseExceptionGroup[Any]) -> list[BaseException]:
    leaves: list[BaseException] = []
    for exc in group.exceptions:
        leaves += _leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc]
    return leaves


def _duplicates(sim: Any) -> int:
    per_image = Counter(task.request.get("imageFileId") for task in sim.tasks.values())
    return sum(count - 1 for count in per_image.values() if count > 1)


def _mismatches(soak: Soak, sim: Any) -> int:
    media = sim.media
    mismatches = 0
    for path, name in soak.downloads:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        versions = {media.sha256(name, v) for v in range(media.version(name) + 1)}
        mismatches += digest not in versions
    return mismatches


def _report(soak: Soak, sim: Any, elapsed: float) -> str:
    faults = sum(fault.hits for fault in sim.faults)
    changed = sum(1 for version in sim.media.versions.values() if version)
    lines = [
        f"soak: {TASKS} tasks, {FAULT_RATE:.0%} faults, {elapsed:.1f} s, "
        f"{len(sim.requests)} requests, {faults} faults applied, {changed} media changed",
        "  outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(soak.outcomes.items())),
        "  typed failures: " + ", ".join(f"{k} {v}" for k, v in sorted(soak.failures.items())),
        f"  duplicate submits {_duplicates(sim)}, hash mismatches {_mismatches(soak, sim)}, "
        f"files downloaded {len(soak.downloads)}, simulator tasks {len(sim.tasks)}, "
        f"accepted submits {len(soak.accepted)}",
    ]
    if soak.untyped:
        lines.append(f"  untyped: {soak.untyped[:5]!r}")
    return "\n".join(lines)
