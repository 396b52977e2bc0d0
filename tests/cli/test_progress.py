"""``topview batch run``'s progress: counts kept incrementally, one change costs the same
at 10 jobs as at 10,000 (issue 20: the tracker used to recount every record per change)."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

from topview_async.cli import _batch
from topview_async.jobs import JobRecord, JobStatus


class _Watched(JobRecord):
    """A record that counts how often its fields are read (the cost of a recount)."""

    reads = 0

    def __getattribute__(self, name: str) -> Any:
        if name in ("status", "task_id"):
            type(self).reads += 1
        return super().__getattribute__(name)


def _record(n: int, status: JobStatus, task_id: str | None = None) -> JobRecord:
    return JobRecord(key=f"j{n}", kind="m2v", params={}, status=status, task_id=task_id)


def _recount(records: list[JobRecord]) -> dict[str, int]:
    """What the bars must show: counted from scratch."""
    counts = dict.fromkeys(_batch._Tracker.BARS, 0)
    bar = {
        JobStatus.RUNNING: "running",
        JobStatus.DOWNLOADED: "downloaded",
        JobStatus.FAILED: "failed",
        JobStatus.OUTCOME_UNKNOWN: "unknown",
    }
    for record in records:
        counts["submitted"] += record.task_id is not None
        if record.status in bar:
            counts[bar[record.status]] += 1
    return counts


def _shown(tracker: _batch._Tracker) -> dict[str, int]:
    return {
        name: int(tracker.progress.tasks[tracker.bars[name]].completed) for name in tracker.BARS
    }


def test_a_change_does_not_read_the_other_jobs() -> None:
    others = [
        _Watched(key=f"j{n}", kind="m2v", params={}, status=JobStatus.RUNNING, task_id=f"t{n}")
        for n in range(2_000)
    ]
    tracker = _batch._Tracker(list(others), 2_001, enabled=False)
    _Watched.reads = 0
    for status in (JobStatus.SUBMITTING, JobStatus.RUNNING, JobStatus.DOWNLOADED):
        tracker.update(_record(2_000, status, None if status is JobStatus.SUBMITTING else "t"))
    assert _Watched.reads == 0  # the old tracker read all 2,000 records on every change
    assert _shown(tracker)["running"] == 2_000
    assert _shown(tracker)["downloaded"] == 1


def test_the_bars_match_a_recount_through_any_sequence_of_changes() -> None:
    rng = random.Random(20)
    statuses = list(JobStatus)
    current = {n: _record(n, rng.choice(statuses)) for n in range(50)}
    tracker = _batch._Tracker(list(current.values())[:30], 50, enabled=False)
    for record in list(current.values())[:30]:
        assert record.key in tracker.status
    latest = dict(list(current.items())[:30])
    for _ in range(500):
        n = rng.randrange(50)
        status = rng.choice(statuses)
        task_id = f"t{n}" if rng.random() < 0.6 else None
        record = dataclasses.replace(_record(n, status), task_id=task_id)
        latest[n] = record
        tracker.update(record)
        assert _shown(tracker) == _recount(list(latest.values()))
