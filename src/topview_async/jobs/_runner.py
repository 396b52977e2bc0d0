"""The job runner: upload, submit, wait and download many jobs, journaled step by step.

Every step is written to the journal before it is acted on. The intent to submit is saved
(``submitting``) before the request leaves; the task id is saved as soon as the response
names it; a job only becomes ``downloaded`` once its files are in place with their sha256.
So after a crash, running the same jobs again skips what is done, resumes waiting and
downloading (half-downloaded files resume from their ``.part``), and never sends a second
submit for a job whose first one may have reached Topview: that job is reconciled
(:mod:`._reconcile`) or left ``outcome_unknown`` for the user to decide.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import random
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread

from .. import _sleep
from .._exceptions import (
    ConfigurationError,
    NotFoundError,
    TopviewError,
    UnknownTaskKindError,
)
from ..lib._status import read_field
from ..lib.polling import PollPolicy
from ._admission import admit
from ._budget import budget_allows, job_bounds, max_job_cost
from ._credits import credits_from_log
from ._decide import (
    DEFAULT_ENGINE_SETTINGS,
    Action,
    EngineSettings,
    Event,
    Interrupted,
    SubmitAccepted,
    SubmitFailed,
    SubmitIntent,
    SubmitReason,
    TaskEnded,
    TaskFound,
    decide_submit_failure,
    transition,
)
from ._journal import JOURNAL_NAME, Journal
from ._model import Job, JobRecord, JobStatus
from ._output import (
    MANIFEST_NAME,
    remove_empty_staging,
    write_manifest,
)
from ._steps import JobSteps, reconcilable, task_cost

if TYPE_CHECKING:
    from .._client import AsyncTopview

__all__ = ["DEFAULT_JOURNAL_NAME", "JobRunner", "RunSummary"]

DEFAULT_JOURNAL_NAME = JOURNAL_NAME

ChangeCallback = Callable[[JobRecord], object]


@dataclass
class RunSummary:
    """The outcome of :meth:`JobRunner.run`: every record, and what they add up to."""

    records: list[JobRecord]
    stopped: str | None = None
    """Why submitting stopped early (the credit budget), if it did."""
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for record in self.records:
            self.counts[record.status.value] = self.counts.get(record.status.value, 0) + 1

    @property
    def complete(self) -> bool:
        """Every job has its files."""
        return all(r.status is JobStatus.DOWNLOADED for r in self.records)

    @property
    def credits(self) -> float:
        """Credits Topview reported for the tasks of these jobs."""
        return sum(r.credits or 0.0 for r in self.records)


class _Backpressure:
    """Holds submits after a 4007 (too many unfinished tasks) until one of ours finishes."""

    def __init__(self) -> None:
        self.busy_wait = 0.0
        self.held = False
        self._released = anyio.Event()

    def hold(self, delay: float) -> None:
        self.busy_wait = max(self.busy_wait, delay) if self.held else delay
        self.held = True

    def release(self) -> None:
        if self.held:
            self.held = False
            self._released.set()
            self._released = anyio.Event()

    async def wait(self) -> None:
        if not self.held:
            return
        released = self._released
        async with anyio.create_task_group() as group:

            async def expire() -> None:
                # The unfinished tasks may not be ours: after busy_wait, try again anyway.
                await _sleep.sleep(self.busy_wait)
                group.cancel_scope.cancel()

            group.start_soon(expire)
            await released.wait()
            group.cancel_scope.cancel()
        self.held = False


class JobRunner:
    """Runs :class:`Job` values to their files, journaling every step.

    ::

        async with AsyncTopview() as client, JobRunner(client, "out/batch") as runner:
            summary = await runner.run(read_jobs("jobs.jsonl"))

    * ``journal``: where the records live; default: ``SqliteJournal.for_batch(out_dir)``
      (``out_dir/journal.sqlite3``; it holds ``out_dir``'s lock while open and refuses a
      lost journal: :class:`~topview_async.BatchLockedError`, ``JournalUnusableError``).
    * ``concurrency``: submits (with their uploads) in flight at once; ``downloads``:
      downloads at once. Waiting is shared by every task through the client's poll scheduler.
    * ``max_credits``: a submit is sent only when the credit spent since the run began (read
      from ``client.account.credit()``), plus the most every job in flight can still cost,
      plus the most this job can cost, fits (:mod:`._budget`: documented prices, else the
      largest cost seen for the kind, else ``max_cost_per_job``). A job that does not fit
      waits for one in flight to finish; with none in flight, submitting stops. Without a
      bound for some job's kind the run refuses to start (:class:`ConfigurationError`).
      Where Topview charges at submit, a job in flight counts twice until it finishes: the
      budget errs on the side of not spending.
    * ``max_cost_per_job``: the bound of a job whose kind has no documented price and no
      cost seen yet.
    * ``notice_url``: a callback URL (built with
      :func:`~topview_async.webhooks.build_notice_url`); each submit gets it with
      ``?job=<key>&attempt=<n>`` added, so a callback names its job even if the submit's
      response was lost (your receiver calls :meth:`record_notice`).
    * ``reconcile_grace``: seconds after which an M2V submit of unknown outcome that the task
      list does not show is taken as never received and submitted again; ``None``: never.
    * ``settings``: the waits after a busy or unsent submit, shared with the Temporal engine
      (:class:`~topview_async.jobs.EngineSettings`); ``busy_wait`` overrides its first wait.
    * ``on_change``: called with a copy of a record after each saved change (progress).
    """

    def __init__(
        self,
        client: AsyncTopview | None,
        out_dir: str | os.PathLike[str],
        *,
        journal: Journal | None = None,
        concurrency: int = 8,
        downloads: int = 4,
        max_credits: float | None = None,
        max_cost_per_job: float | None = None,
        notice_url: str | None = None,
        reconcile_grace: float | None = 300.0,
        busy_wait: float | None = None,
        poll: PollPolicy | None = None,
        on_change: ChangeCallback | None = None,
        settings: EngineSettings | None = None,
    ) -> None:
        if concurrency < 1 or downloads < 1:
            raise ConfigurationError("concurrency and downloads must be at least 1")
        if max_credits is not None and max_credits < 0:
            raise ConfigurationError("max_credits must not be negative")
        if max_cost_per_job is not None and max_cost_per_job < 0:
            raise ConfigurationError("max_cost_per_job must not be negative")
        self.client = client
        self._steps = None if client is None else JobSteps(client, notice_url=notice_url)
        self.out_dir = Path(out_dir)
        self._owns_journal = journal is None
        if journal is None:
            from ._sqlite import SqliteJournal

            journal = SqliteJournal.for_batch(self.out_dir)  # locks and guards out_dir
        self.journal: Journal = journal
        self.concurrency = concurrency
        self.downloads = downloads
        self.max_credits = max_credits
        self.max_cost_per_job = max_cost_per_job
        self.notice_url = notice_url
        self.reconcile_grace = reconcile_grace
        self.poll = poll
        self.on_change = on_change
        settings = settings or DEFAULT_ENGINE_SETTINGS
        if busy_wait is not None:
            settings = dataclasses.replace(settings, busy_wait=busy_wait)
        self.settings = dataclasses.replace(settings, reconcile_grace=reconcile_grace)
        self._records: dict[str, JobRecord] = {}
        self._stopped: str | None = None
        self._start_balance: float | None = None
        self._seen: dict[str, float] = {}
        """The largest cost seen per kind (the journal's and this run's finished tasks)."""
        self._sent: set[str] = set()
        """Jobs submitted in this run: while in flight, their bound counts in the budget."""
        self._driving: set[str] = set()
        self._finished = anyio.Event()

    async def __aenter__(self) -> JobRunner:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the journal if the runner opened it."""
        if self._owns_journal:
            await self.journal.aclose()

    @property
    def steps(self) -> JobSteps:
        """The job steps on the runner's client (a runner made without one only reads)."""
        if self._steps is None:
            raise ConfigurationError("this JobRunner has no client: it cannot run jobs")
        return self._steps

    # -- public operations ---------------------------------------------------------------

    async def records(self) -> list[JobRecord]:
        """Every job the journal knows, as stored."""
        return await self.journal.load()

    async def run(self, jobs: Iterable[Job]) -> RunSummary:
        """Run ``jobs`` until each has its files, failed, or needs the user's decision.

        Running the same jobs again resumes: finished jobs are skipped. A job whose key is in
        the journal with another kind or other params raises :class:`InvalidInputError`.
        """
        job_list = list(jobs)
        await self._admit(job_list)
        keys = [job.key for job in job_list]
        if self.max_credits is not None:
            for stored in self._records.values():
                if stored.credits:
                    kind_most = self._seen.get(stored.kind, 0.0)
                    self._seen[stored.kind] = max(kind_most, stored.credits)
            # Every job to submit needs a bound before anything is sent.
            job_bounds(
                [j for j in job_list if self._records[j.key].status is JobStatus.PENDING],
                seen=self._seen,
                max_cost_per_job=self.max_cost_per_job,
            )
            self._start_balance = await self._balance()
        for _round in range(3):
            await self._reconcile([self._records[k] for k in keys])
            await self._drive_all([self._records[k] for k in keys])
            if not await self._wait_for_grace([self._records[k] for k in keys]):
                break
        # Kinds whose result carries no costCredit: their cost is in the credit log.
        priced = await credits_from_log(
            self.steps.client, [self._records[k] for k in keys], now=time.time()
        )
        if priced:
            await self.journal.save(priced)
        records = [self._records[k].copy() for k in keys]
        await self.write_manifest(records)
        await anyio.to_thread.run_sync(remove_empty_staging, self.out_dir)
        return RunSummary(records, stopped=self._stopped)

    async def resolve(
        self, key: str, *, task_id: str | None = None, resubmit: bool = False, force: bool = False
    ) -> JobRecord:
        """Settle a job by hand: attach the task id you found, or allow one more submit.

        Checked first, refused with the reason (see :mod:`._resolve`); ``force`` allows a
        new submit while the job's task is running or done.
        """
        from ._resolve import resolve_job

        record = await resolve_job(
            self.steps.client, self.journal, key, task_id=task_id, resubmit=resubmit, force=force
        )
        self._records[key] = record.copy()
        return record

    async def record_notice(self, key: str, attempt: int, task_id: str) -> bool:
        """Record the task id a callback named for submit ``attempt`` of job ``key``.

        The hook of a callback receiver: call it with the ``job`` and ``attempt`` query
        parameters of the notice URL (see ``notice_url``). Returns whether it changed the job
        (only a job still waiting for that submit's outcome is changed).
        """
        record = self._records.get(key)
        if record is None:
            stored = {r.key: r for r in await self.journal.load()}
            record = stored.get(key)
            if record is None:
                return False
            self._records[key] = record
        waiting = (JobStatus.SUBMITTING, JobStatus.OUTCOME_UNKNOWN)
        if record.status not in waiting or record.attempt != attempt:
            return False
        record.task_id, record.status, record.request, record.error = (
            task_id,
            JobStatus.RUNNING,
            None,
            None,
        )
        await self._save(record)
        return True

    async def write_manifest(self, records: Sequence[JobRecord] | None = None) -> Path:
        """Write ``out_dir/manifest.jsonl`` (atomically): one line per job."""
        if records is None:
            records = await self.journal.load()
        path = self.out_dir / MANIFEST_NAME
        await anyio.to_thread.run_sync(write_manifest, path, list(records))
        return path

    # -- admission and reconciliation ----------------------------------------------------

    async def _admit(self, jobs: Sequence[Job]) -> None:
        from .._generated.task_kinds import TASK_KINDS

        for job in jobs:
            if job.kind not in TASK_KINDS:  # unknown kinds fail before anything is sent
                raise UnknownTaskKindError(job.kind, TASK_KINDS)
        stored = {r.key: r for r in await self.journal.load()}
        new: list[JobRecord] = []
        for job in jobs:
            # Changed params and failures before any task existed: see ._admission.
            record, changed = admit(job.key, job.kind, _plain(job.params), stored.get(job.key))
            if changed:
                new.append(record)
            self._records[job.key] = record
        if new:
            await self.journal.save(new)

    async def _reconcile(self, records: Sequence[JobRecord]) -> None:
        # A submit in flight when the last run died: its outcome is unknown.
        crashed = [r for r in records if r.status is JobStatus.SUBMITTING]
        for record in crashed:
            self._apply(record, Interrupted())
        if crashed:
            await self.journal.save(crashed)
            for record in crashed:
                self._notify(record)
        unknown = [r for r in records if r.status is JobStatus.OUTCOME_UNKNOWN]
        # A task id read from a reply that did not validate: the task exists if Topview knows it.
        for record in [r for r in unknown if r.task_id]:
            assert record.task_id is not None
            try:
                exists = await self.steps.exists(record.kind, record.task_id)
            except TopviewError:
                continue  # not reachable now: the next run looks again
            if exists:
                self._apply(record, TaskFound(record.task_id))
                await self._save(record)
        unknown = [r for r in unknown if r.status is JobStatus.OUTCOME_UNKNOWN]
        if not unknown:
            return
        claimed = {r.task_id for r in self._records.values() if r.task_id}
        changed = await self.steps.reconcile(
            unknown, claimed=claimed, grace=self.reconcile_grace, now=time.time()
        )
        if changed:
            await self.journal.save(changed)
            for record in changed:
                self._notify(record)

    async def _wait_for_grace(self, records: Sequence[JobRecord]) -> bool:
        """Sleep until the grace period of unresolved M2V submits has passed, if it is short
        enough to wait for here; ``True`` if another reconciliation round is due."""
        if self.reconcile_grace is None or self.reconcile_grace > 60:
            return False
        waiting = [
            r.intent_at
            for r in records
            if r.status is JobStatus.OUTCOME_UNKNOWN and reconcilable(r.kind) and r.intent_at
        ]
        if not waiting:
            return False
        delay = max(waiting) + self.reconcile_grace - time.time()
        if delay > 0:
            await _sleep.sleep(delay)
        return True

    # -- driving jobs ----------------------------------------------------------------------

    async def _drive_all(self, records: Sequence[JobRecord]) -> None:
        self._submits = anyio.CapacityLimiter(self.concurrency)
        self._download_slots = anyio.CapacityLimiter(self.downloads)
        self._budget_lock = anyio.Lock()
        self._backpressure = _Backpressure()
        async with anyio.create_task_group() as group:
            for record in records:
                if record.status in (JobStatus.PENDING, JobStatus.RUNNING):
                    group.start_soon(self._drive, record)

    async def _drive(self, record: JobRecord) -> None:
        self._driving.add(record.key)
        try:
            if record.status is JobStatus.PENDING:
                await self._submit(record)
            if record.status is JobStatus.RUNNING:
                await self._finish(record)
        finally:
            self._driving.discard(record.key)
            # A submit held by the budget looks again when any job stops moving.
            self._finished.set()
            self._finished = anyio.Event()

    async def _submit(self, record: JobRecord) -> None:
        repeats: dict[SubmitReason, int] = {}
        async with self._submits:
            while True:
                await self._backpressure.wait()
                # With a budget, check and send one at a time, so each check sees the last
                # charge. A failed balance read raises here: nothing was sent.
                async with self._budget_lock if self.max_credits is not None else _no_lock():
                    if not await self._budget_allows(record):
                        return  # the budget, or a 4100, stopped submitting
                    await self._journal_intent(record)  # durable before the request leaves
                    try:
                        task_id = await self.steps.submit(
                            record.key, record.kind, record.params, record.attempt
                        )
                    except Exception as exc:
                        failure: Exception | None = exc
                    else:
                        failure = None
                if failure is None:
                    self._apply(record, SubmitAccepted(task_id))
                    record.error = None
                    await self._save(record)
                    return
                # Whether it may be sent again is decided in one place, for both engines.
                decision = decide_submit_failure(failure)
                repeat = repeats[decision.reason] = repeats.get(decision.reason, 0) + 1
                step = self._apply(record, SubmitFailed(decision, repeat, jitter=random.random()))
                record.request = decision.request
                await self._save(record)
                if step.action is Action.SUBMIT:
                    if decision.reason is SubmitReason.BUSY:
                        # Until a running task of ours finishes, or the wait passes.
                        self._backpressure.hold(step.delay)
                    else:
                        await _sleep.sleep(step.delay)
                    continue
                if decision.reason is SubmitReason.NO_CREDIT:
                    self._stopped = f"Topview reports insufficient credit ({decision.message})"
                return

    async def _journal_intent(self, record: JobRecord) -> None:
        """Record the intent to submit (attempt, time), durably."""
        self._sent.add(record.key)
        record.attempt += 1
        self._apply(record, SubmitIntent())
        record.intent_at = time.time()
        record.error = record.request = None
        await self._save(record)

    def _apply(self, record: JobRecord, event: Event) -> Any:
        """Move ``record`` as :func:`transition` says; returns the step."""
        step = transition(record.status, event, self.settings)
        record.status, record.error = step.status, step.error
        if step.task_id is not None:
            record.task_id = step.task_id
        return step

    async def _budget_allows(self, record: JobRecord) -> bool:
        """Whether this submit fits ``max_credits`` (call under the budget lock); waits for
        a job in flight to finish while one is, and it does not fit yet."""
        while self._stopped is None and self._start_balance is not None:
            assert self.max_credits is not None
            this_job = self._bound(record)
            balance = await self._balance()
            spent = self._start_balance - balance
            moving = (JobStatus.SUBMITTING, JobStatus.RUNNING, JobStatus.OUTCOME_UNKNOWN)
            flying = [self._records[k] for k in self._sent if self._records[k].status in moving]
            if len(flying) < len(self._sent):
                # A job that stopped moving never moves again in this run (a retry journals a
                # new intent, which adds it back): forget it, so each check costs the jobs in
                # flight, not every job sent so far (#20: flat cost per event).
                self._sent = {r.key for r in flying}
            in_flight = sum(self._bound(r) for r in flying)
            if budget_allows(
                budget=self.max_credits, spent=spent, in_flight=in_flight, this_job=this_job
            ):
                return True
            if any(r.key in self._driving for r in flying):
                await self._finished.wait()  # one in flight may cost less than its bound
                continue
            self._stopped = (
                f"credit budget of {self.max_credits:g}: {spent:g} spent, "
                f"{in_flight:g} more may be charged for jobs in flight, and the next job "
                f"may cost {this_job:g}"
            )
        if self._stopped is not None:
            record.error = f"not submitted: {self._stopped}"
            self._notify(record)
            return False
        return True

    def _bound(self, record: JobRecord) -> float:
        bound = max_job_cost(
            record.kind, record.params, seen=self._seen, max_cost_per_job=self.max_cost_per_job
        )
        return 0.0 if bound is None else bound  # checked at start: every job has one

    async def _balance(self) -> float:
        detail = await self.steps.client.account.credit()
        value = read_field(detail, "remain_credit", "remainCredit")
        if value is None:
            value = read_field(detail, "credit", "credit")
        if value is None:
            raise ConfigurationError("the credit detail carries no balance (remainCredit)")
        return float(str(value))

    async def _finish(self, record: JobRecord) -> None:
        from ..lib.tasks import TaskTimeoutError

        assert record.task_id is not None
        try:
            check = await self.steps.wait(record.kind, record.task_id, poll=self.poll)
        except NotFoundError as exc:
            self._apply(record, TaskEnded(False, _line(exc)))
            await self._save(record)
            return
        except (TaskTimeoutError, TopviewError) as exc:
            # Still running, or the queries kept failing: a later run resumes the wait.
            await self._set(record, JobStatus.RUNNING, error=_line(exc))
            return
        self._backpressure.release()
        record.credits = check.credits
        if check.state != "succeeded":
            reason = check.error_msg or f"task failed (status {check.status!r})"
            self._apply(record, TaskEnded(False, reason))
            await self._save(record)
            return
        if record.credits:
            self._seen[record.kind] = max(self._seen.get(record.kind, 0.0), record.credits)
        self._apply(record, TaskEnded(True))
        async with self._download_slots:
            try:
                record.files = await self.steps.download(
                    record.key, record.kind, record.task_id, self.out_dir
                )
            except (TopviewError, OSError) as exc:
                await self._set(record, JobStatus.RUNNING, error=f"download: {_line(exc)}")
                return
        await self._set(record, JobStatus.DOWNLOADED)

    # -- saving ------------------------------------------------------------------------------

    async def _set(self, record: JobRecord, status: JobStatus, *, error: str | None = None) -> None:
        record.status, record.error = status, error
        await self._save(record)

    async def _save(self, record: JobRecord) -> None:
        await self.journal.save([record])
        self._notify(record)

    def _notify(self, record: JobRecord) -> None:
        if self.on_change is not None:
            self.on_change(record.copy())


_cost = task_cost


@contextlib.asynccontextmanager
async def _no_lock() -> AsyncIterator[None]:
    yield


def _line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _plain(params: Any) -> dict[str, Any]:
    """``params`` as plain JSON data (what the journal stores and compares)."""
    result: dict[str, Any] = json.loads(json.dumps(dict(params), default=str))
    return result
