"""The journals on their own: round trips, one transaction per save, concurrent saves."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import anyio
import pytest

from topview_async.jobs import JobRecord, JobStatus, Journal, MemoryJournal, SqliteJournal

pytestmark = pytest.mark.anyio


def test_every_field_reaches_the_journal() -> None:
    record = JobRecord("k", "m2v", {"product_link": "x"})
    assert set(record.to_json()) == {f.name for f in dataclasses.fields(JobRecord)}


@pytest.mark.parametrize("kind", ["sqlite", "memory"])
async def test_saved_records_come_back_as_saved(kind: str, tmp_path: Path) -> None:
    journal: Journal = (
        SqliteJournal(tmp_path / "j.sqlite3") if kind == "sqlite" else MemoryJournal()
    )
    record = JobRecord("k", "m2v", {"product_link": "x"})
    await journal.save([record])
    record.status, record.task_id, record.attempt = JobStatus.RUNNING, "t1", 1
    record.files = [{"path": "k.mp4", "sha256": "ab", "size": 3}]
    await journal.save([record])
    record.error = "changed after saving"  # the journal keeps what was saved
    (loaded,) = await journal.load()
    assert loaded.status is JobStatus.RUNNING
    assert loaded.task_id == "t1"
    assert loaded.files == [{"path": "k.mp4", "sha256": "ab", "size": 3}]
    assert loaded.error is None
    await journal.aclose()


async def test_concurrent_saves_are_all_committed_with_their_history(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    journal = SqliteJournal(path)
    records = [JobRecord(f"k{n}", "m2v", {}) for n in range(200)]

    async def advance(record: JobRecord) -> None:
        for status in (JobStatus.SUBMITTING, JobStatus.RUNNING, JobStatus.DOWNLOADED):
            record.status = status
            await journal.save([record])

    async with anyio.create_task_group() as group:
        for record in records:
            group.start_soon(advance, record)
    await journal.aclose()
    # A fresh connection (another process, after a crash) sees every committed change.
    with sqlite3.connect(path) as connection:
        statuses = {row[0] for row in connection.execute("SELECT status FROM jobs")}
        events = connection.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
    assert statuses == {"downloaded"}
    assert events == 600
    assert mode == "wal"
    reopened = SqliteJournal(path)
    assert len(await reopened.load()) == 200
    await reopened.aclose()


async def test_a_batch_journal_starts_afresh_only_where_no_batch_ran(tmp_path: Path) -> None:
    from topview_async import JournalUnusableError

    (tmp_path / "jobs.jsonl").write_text("{}\n")  # a jobs file kept in OUT is no batch
    (tmp_path / ".DS_Store").write_bytes(b"")
    journal = SqliteJournal.for_batch(tmp_path)
    await journal.save([JobRecord("k", "m2v", {})])
    await journal.aclose()
    (tmp_path / "journal.sqlite3").unlink()
    (tmp_path / "k.mp4").write_bytes(b"video")  # a job's file: a batch ran here
    with pytest.raises(JournalUnusableError, match=r"holds a batch \(k\.mp4\)"):
        await SqliteJournal.for_batch(tmp_path).load()
    from topview_async.jobs._lock import DirectoryLock

    with DirectoryLock(tmp_path):  # the refusal left the directory unlocked
        pass
