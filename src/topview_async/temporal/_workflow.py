"""The workflow of one job: upload, submit, wait, download; a paid submit is never repeated
unless Topview provably did not get it.

A job moves through the batch runner's states (:class:`~topview_async.jobs.JobStatus`):

* ``pending``: upload the local files (once), then submit. A submit that never reached
  Topview (the SDK says so) is sent again after a backoff; 4007/5003 (too many unfinished
  tasks, busy) wait long. The submit activity itself is never retried by Temporal: Temporal
  would also retry an attempt whose worker died mid-request, which may have created the task.
* ``outcome_unknown``: the submit may have created a task. It is reconciled like the batch
  runner does: a callback naming this job and attempt (its notice URL carries both), or for
  M2V the task list; a submit the complete list does not show after ``reconcile_grace`` is
  sent again. Otherwise the workflow waits for your decision: signal ``attach_task`` or
  ``resubmit`` (``needs_decision`` in the ``state`` query says why).
* ``running``: when the submit carried a notice URL, wait for the ``task_notice`` signal while
  checking the task on a slow timer (``poll_interval``) as a safety net; otherwise (or when
  that is not known) a heartbeating ``wait`` activity polls. Then download.
* ``downloaded`` / ``failed``: the result.

The workflow id is derived from the job key (``workflow_id``) and jobs are started with
``REJECT_DUPLICATE`` / ``USE_EXISTING`` (:func:`~topview_async.temporal.start_job`): starting
a job again attaches to its workflow, running or finished, and never submits again.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from ..jobs import (
        Action,
        JobRecord,
        JobStatus,
        SubmitReason,
        SubmitVerdict,
        reconcilable,
        transition,
    )
    from ..jobs._decide import (
        Event,
        FilesSaved,
        SubmitAccepted,
        SubmitFailed,
        SubmitIntent,
        TaskEnded,
        TaskFound,
    )
    from ..lib._file_inputs import is_local_file
    from ._activities import TopviewActivities
    from ._errors import decision_of
    from ._model import (
        DownloadInput,
        JobInput,
        JobState,
        ReconcileInput,
        ReconcileResult,
        SubmitInput,
        TaskCheck,
        TaskNoticeSignal,
        TaskRef,
        UploadInput,
    )
    from ._names import SUBMIT_QUEUE_SUFFIX

__all__ = ["JobWorkflow"]

_READ_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=60)
)
"""Reads (upload, query, list, download) are safe to repeat: until they work, or fail for
good (``non_retryable``)."""
_SUBMIT_ONCE = RetryPolicy(maximum_attempts=1)


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=value)


def _names_local_file(value: object) -> bool:
    items = value if isinstance(value, list) else [value]
    return any(is_local_file(item) for item in items)


def _line(failure: BaseException) -> str:
    if isinstance(failure, ApplicationError) and failure.type:
        return f"{failure.type}: {failure.message}"
    return f"{type(failure).__name__}: {failure}"


@workflow.defn(name="TopviewJob")
class JobWorkflow:
    """One Topview job to its files. Input :class:`JobInput`, result :class:`JobState`."""

    @workflow.init
    def __init__(self, job: JobInput) -> None:
        self._job = job
        self._record = JobRecord(job.key, job.kind, dict(job.params))
        self._record.earlier_tasks = [dict(task) for task in job.earlier_tasks]
        self._needs_decision: str | None = None
        self._decision: tuple[str, str | None] | None = None
        self._notices: list[TaskNoticeSignal] = []
        self._callbacks: bool | None = None
        """Whether this attempt's submit carried a notice URL (``None``: not known)."""
        self._consumed = 0
        """Notices before this index were followed by a check already."""
        self._repeats: dict[SubmitReason, int] = {}
        self._settings = job.options.settings()
        self._published: dict[str, Any] = {}

    # -- the interface -------------------------------------------------------------------

    @workflow.run
    async def run(self, job: JobInput) -> JobState:
        record = self._record
        params = await self._upload()
        while not record.status.finished:
            if record.status is JobStatus.PENDING:
                await self._submit(params)
            elif record.status is JobStatus.OUTCOME_UNKNOWN:
                await self._reconcile()
            elif record.status is JobStatus.RUNNING:
                await self._finish()
            else:  # pragma: no cover - SUBMITTING never outlives _submit
                raise ApplicationError(f"unexpected state {record.status}", non_retryable=True)
        if self._job.version < 2:
            self._publish()  # since 2 not: the result carries the final state
        return self.state()

    @workflow.query
    def state(self) -> JobState:
        """The job as it stands, and what it waits for."""
        return JobState(self._record.copy(), self._needs_decision)

    @workflow.signal
    def task_notice(self, notice: TaskNoticeSignal) -> None:
        """A callback for a task of this job arrived (from :class:`TemporalNoticeApp`)."""
        self._notices.append(notice)

    @workflow.signal
    def attach_task(self, task_id: str) -> None:
        """Your decision for an unknown outcome: this is the job's task."""
        self._decide("attach", task_id)

    @workflow.signal
    def resubmit(self) -> None:
        """Your decision for an unknown outcome (or a submit held for credit): submit again."""
        self._decide("resubmit", None)

    def _decide(self, action: str, task_id: str | None) -> None:
        # Only while a decision is possible: a stale one must not resubmit a later unknown.
        if self._record.status is JobStatus.OUTCOME_UNKNOWN or self._needs_decision:
            self._decision = (action, task_id)
        else:
            workflow.logger.warning(
                "ignored %s for job %s: nothing to decide", action, self._job.key
            )

    # -- steps ---------------------------------------------------------------------------

    async def _upload(self) -> dict[str, Any]:
        record, options = self._record, self._job.options
        if not any(_names_local_file(value) for value in record.params.values()):
            return dict(record.params)
        try:
            return await workflow.execute_activity_method(
                TopviewActivities.upload,
                UploadInput(record.kind, dict(record.params)),
                start_to_close_timeout=_seconds(options.transfer_timeout),
                heartbeat_timeout=_seconds(options.heartbeat_timeout),
                retry_policy=_READ_RETRY,
            )
        except ActivityError as exc:
            record.status, record.error = JobStatus.FAILED, f"upload: {_line(exc.cause or exc)}"
            return {}

    async def _submit(self, params: dict[str, Any]) -> None:
        record, options = self._record, self._job.options
        if self._needs_decision is not None:
            await self._await_decision()
            return
        record.attempt += 1
        self._move(SubmitIntent())
        record.intent_at = workflow.now().timestamp()
        record.error = record.request = None
        self._callbacks = None
        if self._job.version < 2:
            self._publish()  # since 2 not: it lasts one activity; followers see its outcome
        try:
            result = await workflow.execute_activity_method(
                TopviewActivities.submit,
                SubmitInput(record.key, record.kind, params, record.attempt),
                task_queue=workflow.info().task_queue + SUBMIT_QUEUE_SUFFIX,
                start_to_close_timeout=_seconds(options.submit_timeout),
                heartbeat_timeout=_seconds(options.heartbeat_timeout),
                retry_policy=_SUBMIT_ONCE,
            )
        except ActivityError as exc:
            await self._submit_failed(exc.cause)
            return
        self._repeats.clear()
        self._move(SubmitAccepted(result.task_id))
        self._callbacks = result.callbacks
        record.error = None
        self._publish()

    async def _submit_failed(self, failure: BaseException | None) -> None:
        """Move the job as the shared decision and transition say (the local runner's)."""
        record = self._record
        decision, callbacks = decision_of(failure)
        repeat = self._repeats[decision.reason] = self._repeats.get(decision.reason, 0) + 1
        step = self._move(SubmitFailed(decision, repeat, jitter=workflow.random().random()))
        if decision.verdict is SubmitVerdict.OUTCOME_UNKNOWN:
            self._callbacks = callbacks
            request = dict(decision.request or {})
            request.pop("callbacks", None)
            record.request = request or None
        self._publish()
        if step.action is Action.SUBMIT:
            await workflow.sleep(step.delay)
        elif step.action is Action.HOLD:
            self._repeats.clear()
            self._needs_decision = (
                "insufficient credit: top up, then signal resubmit"
                if decision.reason is SubmitReason.NO_CREDIT
                else f"{step.error}: signal resubmit when it can be sent"
            )
            self._publish()

    def _move(self, event: Event) -> Any:
        """Move the record as :func:`~topview_async.jobs.transition` says; returns the step."""
        record = self._record
        step = transition(record.status, event, self._settings)
        record.status, record.error = step.status, step.error
        if step.task_id is not None:
            record.task_id = step.task_id
        return step

    async def _reconcile(self) -> None:
        record, options = self._record, self._job.options
        grace = options.reconcile_grace
        deadline = None if grace is None else (record.intent_at or 0.0) + grace
        m2v = reconcilable(record.kind)
        listed_after_grace = False
        if record.task_id is not None:
            # The reply named a task although it did not validate: does Topview know it?
            named = record.task_id
            try:
                found = await workflow.execute_activity_method(
                    TopviewActivities.reconcile,
                    ReconcileInput(
                        record.key, {}, record.intent_at or 0.0, grace, record.kind, named
                    ),
                    start_to_close_timeout=_seconds(options.submit_timeout),
                    retry_policy=RetryPolicy(maximum_attempts=3),
                )
            except ActivityError as exc:
                found = ReconcileResult(note=f"task {named}: {_line(exc.cause or exc)}")
            if found.task_id is not None:
                self._attach(found.task_id)
                return
            record.error = found.note or record.error

        def resolved() -> bool:
            return self._decision is not None or self._notice(record.attempt) is not None

        while record.status is JobStatus.OUTCOME_UNKNOWN:
            if self._apply_decision():
                return
            notice = self._notice(record.attempt)
            if notice is not None:
                self._callbacks = True  # its callback came: the next ones will too
                self._attach(notice.task_id)
                return
            now = workflow.now().timestamp()
            if m2v and self._needs_decision is None:
                try:
                    result = await workflow.execute_activity_method(
                        TopviewActivities.reconcile,
                        ReconcileInput(
                            record.key,
                            dict(record.params),
                            record.intent_at or 0.0,
                            grace,
                            record.kind,
                        ),
                        start_to_close_timeout=_seconds(options.submit_timeout),
                        heartbeat_timeout=_seconds(options.heartbeat_timeout),
                        retry_policy=RetryPolicy(maximum_attempts=3),
                    )
                except ActivityError as exc:  # the list was not reachable: look again later
                    result = ReconcileResult(note=f"task list: {_line(exc.cause or exc)}")
                    looked = False
                else:
                    looked = True
                if result.task_id is not None:
                    self._attach(result.task_id)
                    return
                if result.resubmit:
                    record.status, record.request = JobStatus.PENDING, None
                    record.error = result.note
                    self._publish()
                    return
                record.error = result.note or record.error
                if looked:
                    listed_after_grace = deadline is not None and now >= deadline
            # Can anything still settle it without you? A callback within the grace period
            # (when the submit may have carried a notice URL), or the M2V list after it.
            hope = deadline is not None and (
                (now < deadline and (m2v or self._callbacks is not False))
                or (m2v and not listed_after_grace)
            )
            if not hope:
                if self._needs_decision is None:
                    self._needs_decision = (
                        "submit outcome unknown: signal attach_task(task_id) with the task "
                        "this request created, or resubmit()"
                    )
                    self._publish()
                await workflow.wait_condition(resolved)
                continue
            self._publish()
            wait = options.reconcile_interval
            if deadline is not None and now < deadline:
                wait = min(wait, deadline - now)
            await self._wait_for(resolved, max(wait, 0.001))

    async def _finish(self) -> None:
        record, options = self._record, self._job.options
        assert record.task_id is not None
        if self._callbacks is not True and self._job.version >= 2:
            await self._wait_and_download(record.task_id)
            return
        try:
            check = await self._wait_task(record.task_id)
        except ActivityError as exc:
            record.status, record.error = JobStatus.FAILED, _line(exc.cause or exc)
            return
        record.credits = check.credits
        if check.state == "failed":
            reason = check.error_msg or f"task failed (status {check.status!r})"
            record.status, record.error = JobStatus.FAILED, reason
            return
        record.error = None
        self._publish()
        try:
            record.files = await workflow.execute_activity_method(
                TopviewActivities.download,
                DownloadInput(record.key, record.kind, record.task_id, self._job.out_dir),
                start_to_close_timeout=_seconds(options.transfer_timeout),
                heartbeat_timeout=_seconds(options.heartbeat_timeout),
                retry_policy=_READ_RETRY,
            )
        except ActivityError as exc:
            record.status, record.error = JobStatus.FAILED, f"download: {_line(exc.cause or exc)}"
            return
        record.status = JobStatus.DOWNLOADED

    async def _wait_and_download(self, task_id: str) -> None:
        """Poll the task and save its files in one activity: one step less for the server
        than ``wait`` then ``download`` (both repeat safely: a retry resumes the files)."""
        record, options = self._record, self._job.options
        try:
            finished = await workflow.execute_activity_method(
                TopviewActivities.finish,
                DownloadInput(record.key, record.kind, task_id, self._job.out_dir),
                start_to_close_timeout=timedelta(days=7),
                heartbeat_timeout=_seconds(options.heartbeat_timeout),
                retry_policy=_READ_RETRY,
            )
        except ActivityError as exc:
            record.status, record.error = JobStatus.FAILED, _line(exc.cause or exc)
            return
        check = finished.check
        record.credits = check.credits
        if check.state != "succeeded":
            reason = check.error_msg or f"task failed (status {check.status!r})"
            self._move(TaskEnded(False, reason))
            return
        self._move(TaskEnded(True))
        record.files = finished.files
        self._move(FilesSaved())

    async def _wait_task(self, task_id: str) -> TaskCheck:
        options = self._job.options
        ref = TaskRef(self._record.kind, task_id)
        if self._callbacks is not True:
            # No notice URL, or not known (the submit never reported back): poll.
            return await workflow.execute_activity_method(
                TopviewActivities.wait,
                ref,
                start_to_close_timeout=timedelta(days=7),
                heartbeat_timeout=_seconds(options.heartbeat_timeout),
                retry_policy=_READ_RETRY,
            )
        # By callback: a notice for this task wakes us; a slow timer is the safety net.
        while True:
            await self._wait_for(
                lambda: any(n.task_id == task_id for n in self._notices[self._consumed :]),
                options.poll_interval,
            )
            self._consumed = len(self._notices)
            check = await workflow.execute_activity_method(
                TopviewActivities.check,
                ref,
                start_to_close_timeout=_seconds(options.submit_timeout),
                retry_policy=_READ_RETRY,
            )
            if check.finished:
                return check

    # -- helpers -------------------------------------------------------------------------

    async def _wait_for(self, condition: Any, seconds: float) -> bool:
        """Wait until ``condition()`` or ``seconds`` pass; whether the condition held."""
        try:
            await workflow.wait_condition(condition, timeout=_seconds(seconds))
        except TimeoutError:
            return False
        return True

    async def _await_decision(self) -> None:
        await workflow.wait_condition(lambda: self._decision is not None)
        self._apply_decision()

    def _apply_decision(self) -> bool:
        decision, self._decision = self._decision, None
        if decision is None:
            return False
        action, task_id = decision
        if action == "attach" and task_id:
            self._attach(task_id)
        else:
            record = self._record
            record.status, record.task_id, record.request = JobStatus.PENDING, None, None
            record.error = "resubmitted by decision"
            self._needs_decision = None
            self._publish()
        return True

    def _attach(self, task_id: str) -> None:
        record = self._record
        self._move(TaskFound(task_id))
        record.request = record.error = None
        self._needs_decision = None
        self._publish()

    def _notice(self, attempt: int) -> TaskNoticeSignal | None:
        return next((n for n in self._notices if n.attempt == attempt), None)

    def _publish(self) -> None:
        """Mirror the state in the memo, where ``describe()`` shows it without a worker."""
        record = self._record
        memo: dict[str, Any] = {
            "kind": record.kind,
            "status": record.status.value,
            "task_id": record.task_id,
            "error": record.error,
            "needs_decision": self._needs_decision,
        }
        if record.earlier_tasks:  # only then: histories without any replay unchanged
            memo["earlier"] = ",".join(
                str(t["task_id"]) for t in record.earlier_tasks if t.get("task_id")
            )
        changed = {k: v for k, v in memo.items() if self._published.get(k) != v}
        if changed:
            self._published.update(changed)
            # A value of None would remove the key; keep every key present.
            workflow.upsert_memo({k: "" if v is None else v for k, v in changed.items()})
