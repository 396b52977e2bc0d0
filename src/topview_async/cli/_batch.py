"""``topview batch``: the job runner with live progress, its status table and resolve."""

from __future__ import annotations

import json
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
    """Rich progress bars fed by the runner's ``on_change``."""

    BARS = ("submitted", "running", "downloaded", "failed", "unknown")

    def __init__(self, records: list[JobRecord], total: int, enabled: bool) -> None:
        self.status: dict[str, JobRecord] = {r.key: r for r in records}
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
        self._refresh()

    def update(self, record: JobRecord) -> None:
        self.status[record.key] = record
        self._refresh()

    def _refresh(self) -> None:
        from ..jobs import JobStatus

        counts = dict.fromkeys(self.BARS, 0)
        for record in self.status.values():
            if record.task_id is not None:
                counts["submitted"] += 1
            if record.status is JobStatus.RUNNING:
                counts["running"] += 1
            elif record.status is JobStatus.DOWNLOADED:
                counts["downloaded"] += 1
            elif record.status is JobStatus.FAILED:
                counts["failed"] += 1
            elif record.status is JobStatus.OUTCOME_UNKNOWN:
                counts["unknown"] += 1
        for name, count in counts.items():
            self.progress.update(self.bars[name], completed=count)


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
    from ..jobs import JobRunner, read_jobs
    from ..lib.polling import PollPolicy

    jobs = read_jobs(jobs_file)
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


def _report(summary: RunSummary, out: Path) -> None:
    from ..jobs import MANIFEST_NAME, JobStatus

    counts = ", ".join(f"{n} {status}" for status, n in sorted(summary.counts.items()))
    _out.print(f"{len(summary.records)} jobs: {counts}; {summary.credits:g} credits")
    if summary.stopped:
        _out.print(f"submitting stopped: {summary.stopped}")
    for record in summary.records:
        if record.status is JobStatus.OUTCOME_UNKNOWN:
            request = json.dumps(record.request, ensure_ascii=False) if record.request else "-"
            _out.print(
                f"outcome_unknown {record.key}: {record.error or ''}\n  request: {request}\n"
                f"  decide: topview batch resolve {out} {record.key} --task-id ID | --resubmit"
            )
        elif record.status is JobStatus.FAILED or record.error:
            _out.print(f"{record.status.value} {record.key}: {record.error}")
        if record.earlier_tasks and record.task_id is not None:
            earlier = ", ".join(str(t.get("task_id")) for t in record.earlier_tasks)
            _out.print(
                f"retried {record.key}: task {record.task_id} is a new paid task "
                f"(earlier, failed: {earlier})"
            )
    _out.print(f"manifest: {out / MANIFEST_NAME}")


def _require_journal(out: Path) -> None:
    from ..jobs import DEFAULT_JOURNAL_NAME
    from ..jobs._sqlite import journal_problem

    path = out / DEFAULT_JOURNAL_NAME
    if not path.exists() and journal_problem(out) is None:
        raise FileNotFoundError(f"no journal in {out} (expected {path})")


async def show_status(out: Path) -> int:
    from ..jobs import JobStatus, SqliteJournal

    _require_journal(out)
    journal = SqliteJournal.for_batch(out, lock=False)  # a run may hold the lock: only read
    try:
        records = await journal.load()
    finally:
        await journal.aclose()
    table = Table("key", "kind", "status", "task id", "files", "credits", "error")
    for r in records:
        credits = "" if r.credits is None else f"{r.credits:g}"
        error = (r.error or "")[:80]
        table.add_row(
            r.key, r.kind, r.status.value, r.task_id or "", str(len(r.files)), credits, error
        )
    _out.print(table)
    return 0 if all(r.status is JobStatus.DOWNLOADED for r in records) else 1


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
