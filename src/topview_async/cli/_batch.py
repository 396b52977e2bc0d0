"""``topview batch``: the job runner with live progress, its status table and resolve."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

if TYPE_CHECKING:
    from ..jobs import JobRecord, RunSummary

_console = Console(stderr=True)
_out = Console()


class _Tracker:
    """Rich progress bars fed by the runner's ``on_change``.

    The counts are kept incrementally: a change takes away what the job's previous record
    counted and adds what its new one counts, so the cost of a change does not grow with
    the number of jobs (the runner calls this on the event loop for every saved step).
    """

    BARS = ("submitted", "running", "downloaded", "failed", "unknown")

    def __init__(self, records: list[JobRecord], total: int, enabled: bool) -> None:
        self.status: dict[str, JobRecord] = {}
        self.counts = dict.fromkeys(self.BARS, 0)
        self.total = total
        self.progress = Progress(
            TextColumn("{task.description:>11}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=_console,
            disable=not enabled,
        )
        self.bars = {name: self.progress.add_task(name, total=total) for name in self.BARS}
        for record in records:
            self._count(record, 1)
            self.status[record.key] = record
        self._refresh(self.BARS)

    def update(self, record: JobRecord) -> None:
        before = self.status.get(record.key)
        changed = set(self._bars_of(record))
        if before is not None:
            changed.symmetric_difference_update(self._bars_of(before))
            self._count(before, -1)
        self._count(record, 1)
        self.status[record.key] = record
        self._refresh(changed)

    def _count(self, record: JobRecord, sign: int) -> None:
        for name in self._bars_of(record):
            self.counts[name] += sign

    @staticmethod
    def _bars_of(record: JobRecord) -> tuple[str, ...]:
        """The bars ``record`` counts in."""
        bar = _STATUS_BAR.get(record.status.value)
        submitted = ("submitted",) if record.task_id is not None else ()
        return (*submitted, bar) if bar is not None else submitted

    def _refresh(self, names: Iterable[str]) -> None:
        for name in names:
            self.progress.update(self.bars[name], completed=self.counts[name])


_STATUS_BAR = {
    "running": "running",
    "downloaded": "downloaded",
    "failed": "failed",
    "outcome_unknown": "unknown",
}
"""The bar of each job status that has one (a job with a task id also counts as submitted)."""


async def run_batch(
    jobs_file: Path,
    out: Path,
    *,
    concurrency: int,
    downloads: int,
    max_credits: float | None,
    notice_url: str | None,
    max_cost_per_job: float | None = None,
    reconcile_grace: float,
    poll_interval: float | None,
    progress: bool,
) -> int:
    from .. import AsyncTopview
    from ..jobs import JobRunner, load_jobs
    from ..lib.polling import PollPolicy

    options: dict[str, Any] = {}
    if poll_interval is not None:
        options["poll"] = PollPolicy(
            wait_initial=poll_interval,
            wait_min=poll_interval,
            wait_max=poll_interval,
            learn=False,
        )
        options["poll_rate"] = None
    async with AsyncTopview(**options) as client:
        # The whole file, every job's params included, before the journal or any request.
        jobs = await load_jobs(jobs_file, client, submitted=await _submitted(out))
        if not jobs:
            _out.print(f"no jobs in {jobs_file}: nothing to do", soft_wrap=True)
            return 0
        runner = JobRunner(
            client,
            out,
            concurrency=concurrency,
            downloads=downloads,
            max_credits=max_credits,
            max_cost_per_job=max_cost_per_job,
            notice_url=notice_url,
            reconcile_grace=reconcile_grace,
        )
        async with runner:
            keys = {job.key for job in jobs}
            known = [r for r in await runner.records() if r.key in keys]
            tracker = _Tracker(known, len(jobs), progress and _console.is_terminal)
            runner.on_change = tracker.update
            with tracker.progress:
                summary = await runner.run(jobs)
    _report(summary, out)
    return 0 if summary.complete else 1


async def _submitted(out: Path) -> set[str]:
    """Keys of the jobs a previous run of this batch submitted (a task id, or finished)."""
    from ..jobs import DEFAULT_JOURNAL_NAME, SqliteJournal
    from ..jobs._sqlite import journal_problem

    path = out / DEFAULT_JOURNAL_NAME
    if not path.is_file() and journal_problem(out) is None:
        return set()  # a new batch: nothing is created until the file is checked
    # Guarded like the run's own journal: a lost or foreign one raises JournalUnusableError
    # here, before anything is checked or sent (and an empty file is not made a journal).
    journal = SqliteJournal.for_batch(out, lock=False)
    try:
        records = await journal.load()
    finally:
        await journal.aclose()
    return {r.key for r in records if r.task_id is not None or r.status.finished}


def _report(summary: RunSummary, out: Path) -> None:
    from ..jobs import MANIFEST_NAME, JobStatus

    counts = ", ".join(f"{n} {status}" for status, n in sorted(summary.counts.items()))
    _out.print(f"{len(summary.records)} jobs: {counts}; {summary.credits:g} credits")
    if summary.stopped:
        _out.print(f"submitting stopped: {summary.stopped}")
    for record in summary.records:
        if record.status is JobStatus.OUTCOME_UNKNOWN:
            _out.print(
                f"outcome_unknown {record.key}: {record.error or ''}\n"
                f"  request: {_request_text(record)}\n"
                f"  decide: topview batch resolve {out} {record.key} --task-id ID | --resubmit",
                soft_wrap=True,
            )
        elif record.status is JobStatus.FAILED or record.error:
            _out.print(f"{record.status.value} {record.key}: {record.error}", soft_wrap=True)
        if record.earlier_tasks and record.task_id is not None:
            earlier = ", ".join(str(t.get("task_id")) for t in record.earlier_tasks)
            _out.print(
                f"retried {record.key}: task {record.task_id} is a new paid task "
                f"(earlier, failed: {earlier})"
            )
    _out.print(f"manifest: {out / MANIFEST_NAME}", soft_wrap=True)


def _request_text(record: JobRecord) -> str:
    from ..jobs._output import outcome_request

    request = outcome_request(record)
    return json.dumps(request, ensure_ascii=False) if request else "-"


STATUS_FIELDS = ("key", "kind", "status", "task_id", "files", "credits", "error", "request")
"""``batch status --json``: the fields of each line, always all of them (``null`` if unknown)."""

ERROR_WIDTH = 200
"""Characters of an error shown by ``batch status`` (``--json`` has it whole)."""
ERROR_LINES = 6
"""Lines an error may wrap over in the status table; else one block per job is shown."""


def _require_journal(out: Path) -> None:
    from ..jobs import DEFAULT_JOURNAL_NAME
    from ..jobs._sqlite import journal_problem

    path = out / DEFAULT_JOURNAL_NAME
    if not path.exists() and journal_problem(out) is None:
        raise FileNotFoundError(f"no journal in {out} (expected {path})")


async def show_status(out: Path, *, as_json: bool = False) -> int:
    from ..jobs import JobStatus, SqliteJournal
    from ..jobs._output import outcome_request

    _require_journal(out)
    journal = SqliteJournal.for_batch(out, lock=False)  # a run may hold the lock: only read
    try:
        records = await journal.load()
    finally:
        await journal.aclose()
    if as_json:
        for r in records:
            line = {
                "key": r.key,
                "kind": r.kind,
                "status": r.status.value,
                "task_id": r.task_id,
                "files": r.files,
                "credits": r.credits,
                "error": r.error,
                "request": outcome_request(r),
            }
            print(json.dumps(line, ensure_ascii=False))
    else:
        _status_table(records)
    return 0 if all(r.status is JobStatus.DOWNLOADED for r in records) else 1


def _status_table(records: list[JobRecord]) -> None:
    """A table when it fits the terminal; otherwise one block per job. Keys and task ids are
    never cut or folded (people copy them), errors are shortened to :data:`ERROR_WIDTH`."""
    from rich import box
    from rich.measure import Measurement

    rows = [
        (
            r.key,
            r.kind,
            r.status.value,
            r.task_id or "",
            str(len(r.files)),
            "" if r.credits is None else f"{r.credits:g}",
            _short(r.error or ""),
        )
        for r in records
    ]
    headers = ["key", "kind", "status", "task id", "files", "credits", "error"]
    table = Table(*headers, box=box.SIMPLE_HEAD)
    for column in table.columns[:-1]:
        column.no_wrap = True
    for row in rows:
        table.add_row(*row)
    # A table only when every column but the error fits on one line with room for the
    # error to wrap in (ERROR_WIDTH characters over ERROR_LINES lines at most).
    narrow = Table(*headers[:-1], box=box.SIMPLE_HEAD)
    for row in rows:
        narrow.add_row(*row[:-1])
    unbounded = _out.options.update_width(1_000_000)  # get() clamps to the width it is given
    room = _out.width - Measurement.get(_out, unbounded, narrow).maximum - 3
    if room * ERROR_LINES >= max((len(row[-1]) for row in rows), default=0):
        _out.print(table)
        return
    for key, kind, status, task_id, files, credits, error in rows:
        print(f"{key}  {status}  {kind}")
        details = [f"task id: {task_id}" if task_id else "no task yet", f"files: {files}"]
        if credits:
            details.append(f"credits: {credits}")
        print("  " + "   ".join(details))
        if error:
            print(f"  error: {error}")


def _short(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= ERROR_WIDTH else line[: ERROR_WIDTH - 1] + "…"


async def resolve(
    out: Path, key: str, *, task_id: str | None, resubmit: bool, force: bool = False
) -> None:
    from .. import AsyncTopview
    from ..jobs import JobRunner

    _require_journal(out)
    async with AsyncTopview() as client, JobRunner(client, out) as runner:
        record = await runner.resolve(key, task_id=task_id, resubmit=resubmit, force=force)
    action = f"attached task {task_id}" if task_id else "will be submitted again (a new paid task)"
    _out.print(f"{record.key}: {action}; run `topview batch run` again to continue")


async def retry(out: Path, keys: list[str]) -> int:
    from ..jobs import SqliteJournal
    from ..jobs._admission import plan_retry

    _require_journal(out)
    journal = SqliteJournal.for_batch(out)
    try:
        changed = plan_retry(await journal.load(), keys)
        if changed:
            await journal.save(changed)
    finally:
        await journal.aclose()
    if not changed:
        _out.print("no job whose task failed at Topview: nothing to retry")
        return 0
    for record in changed:
        failed = record.earlier_tasks[-1]
        _out.print(
            f"{record.key}: the next run submits it again, a NEW PAID TASK "
            f"(task {failed['task_id']} failed: {failed['error']})"
        )
    _out.print(f"{len(changed)} jobs to retry; run `topview batch run JOBS --out {out}`")
    return 0


async def rebuild(out: Path, jobs_file: Path | None) -> int:
    from ..jobs import JobStatus, read_jobs
    from ..jobs._rebuild import rebuild_journal

    jobs = read_jobs(jobs_file) if jobs_file is not None else None
    records = await rebuild_journal(out, jobs=jobs)
    counts: dict[str, int] = {}
    for record in records:
        counts[record.status.value] = counts.get(record.status.value, 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    with_task = sum(1 for r in records if r.task_id is not None)
    _out.print(f"journal rebuilt: {len(records)} jobs ({summary}); {with_task} with a task")
    for record in records:
        if record.status is JobStatus.OUTCOME_UNKNOWN:
            _out.print(f"outcome_unknown {record.key}: {record.error}")
    _out.print(f"run `topview batch run JOBS --out {out}` to continue")
    return 0
