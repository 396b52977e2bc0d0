"""The activities of a Topview job: upload, submit, check, wait, download, reconcile.

They are methods of :class:`TopviewActivities`, bound to one
:class:`~topview_async.AsyncTopview` per worker process, so every activity of the process
shares its connections, its retry policy and its poll scheduler. Each one is the SDK call
the batch runner makes for the same step (:mod:`topview_async.jobs`), wrapped for Temporal:
SDK errors become :class:`~temporalio.exceptions.ApplicationError` (see :mod:`._errors`) and
a long call heartbeats, so a worker that dies is noticed within the heartbeat timeout and
the activity runs again elsewhere.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
from temporalio import activity

from .._exceptions import (
    SubmitOutcomeUnknownError,
    TaskFailedError,
    TopviewError,
    UploadManyError,
)
from ..jobs._journal import MemoryJournal
from ..jobs._model import JobRecord, JobStatus
from ..jobs._reconcile import reconcile_m2v, submitted_request
from ..jobs._runner import JobRunner, _cost
from ..jobs._submit import job_notice_url, submit_method
from ..lib._file_inputs import is_local_file
from ..lib._status import read_field
from ..lib.tasks import Task, get_task
from ._errors import read_failure, submit_failure
from ._model import (
    DownloadInput,
    ReconcileInput,
    ReconcileResult,
    SubmitInput,
    SubmitResult,
    TaskCheck,
    TaskRef,
    UploadInput,
)

if TYPE_CHECKING:
    from .._client import AsyncTopview

__all__ = ["TopviewActivities", "file_parameters"]

T = TypeVar("T")


def file_parameters(client: AsyncTopview, kind: str) -> frozenset[str]:
    """The keyword arguments of ``kind``'s submit method that take a file (id or local path).

    From the spec's ``x-topview-file`` marks, as generated into the submit operation's
    ``file_fields`` (the top-level ones: the activity uploads those; a path nested in an
    object argument is uploaded by the submit itself), so no second table of file fields
    exists.
    """
    from .._generated.task_kinds import TASK_KINDS

    submit_method(client, kind)  # UnknownTaskKindError for a kind the SDK does not know
    operation = TASK_KINDS[kind].submit_operation
    return frozenset(path[0].names[0][1] for path in operation.file_fields if len(path) == 1)


async def _heartbeating(work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` while heartbeating every third of the activity's heartbeat timeout.

    ``work``'s own exception comes out as it is (not wrapped in an exception group), so the
    SDK's error classes reach :mod:`._errors`.
    """
    timeout = activity.info().heartbeat_timeout
    if not timeout:
        return await work()
    every = max(timeout.total_seconds() / 3, 0.05)
    result: list[T] = []
    failure: list[Exception] = []

    async def beat() -> None:
        while True:
            activity.heartbeat()
            # A real wait: the SDK's testing switch must not turn heartbeats into a spin.
            await anyio.sleep(every)

    async with anyio.create_task_group() as group:
        group.start_soon(beat)
        try:
            result.append(await work())
        except Exception as exc:
            failure.append(exc)
        finally:
            group.cancel_scope.cancel()
    if failure:
        raise failure[0]
    return result[0]


def _check(task: Task[Any]) -> TaskCheck:
    result = task.result
    error = read_field(result, "error_msg", "errorMsg")
    return TaskCheck(
        state=task.state.value,
        status=task.status,
        error_msg=None if error is None else str(error),
        credits=_cost(result),
    )


class TopviewActivities:
    """The activities of :class:`~topview_async.temporal.JobWorkflow`, on one client.

    ::

        async with AsyncTopview() as topview:
            activities = TopviewActivities(topview, notice_url=NOTICE_URL)
            worker = Worker(temporal, task_queue="topview", activities=activities.all(), ...)

    ``notice_url``: a callback URL (from :func:`~topview_async.webhooks.build_notice_url`),
    served by a :class:`~topview_async.temporal.TemporalNoticeApp`. Each submit then carries
    it with ``?job=<key>&attempt=<n>``, so the callback finds the job's workflow wherever
    it lands; without it, tasks are waited on by polling. It stays in the worker: the token
    never enters a workflow history.
    """

    def __init__(self, client: AsyncTopview, *, notice_url: str | None = None) -> None:
        self.client = client
        self.notice_url = notice_url

    def all(self) -> list[Callable[..., Any]]:
        """Every activity except :meth:`submit`, which runs on the submit task queue."""
        return [self.upload, self.check, self.wait, self.download, self.reconcile]

    @activity.defn(name="topview.upload")
    async def upload(self, job: UploadInput) -> dict[str, Any]:
        """Upload the local files among the job's file arguments; return the params with
        their file ids (what the submit sends)."""
        params = dict(job.params)
        try:
            fields = file_parameters(self.client, job.kind)
            strings = self.client.local_files
            local: list[Any] = []
            for name in sorted(fields & params.keys()):
                value = params[name]
                items = value if isinstance(value, list) else [value]
                local.extend(item for item in items if is_local_file(item, strings=strings))
            if not local:
                return params
            file_ids = await _heartbeating(lambda: self.client.uploads.upload_many(local))
        except UploadManyError as exc:
            raise read_failure(exc) from exc
        except (TopviewError, TypeError, OSError) as exc:
            raise read_failure(exc) from exc
        uploaded = dict(zip(local, file_ids, strict=True))
        for name in fields & params.keys():
            value = params[name]
            if isinstance(value, list):
                params[name] = [uploaded.get(item, item) for item in value]
            elif isinstance(value, str):
                params[name] = uploaded.get(value, value)
        return params

    @activity.defn(name="topview.submit")
    async def submit(self, request: SubmitInput) -> SubmitResult:
        """Send the paid submit once. Never retried by Temporal itself: the workflow decides
        from the failure whether Topview can have received it."""
        params = dict(request.params)
        callbacks = self.notice_url is not None
        if self.notice_url is not None:
            params["notice_url"] = job_notice_url(self.notice_url, request.key, request.attempt)
        try:
            method = submit_method(self.client, request.kind)
            task = await _heartbeating(lambda: method(**params))
        except SubmitOutcomeUnknownError as exc:
            details = submitted_request(exc)
            details["callbacks"] = callbacks
            raise submit_failure(exc, details) from exc
        except Exception as exc:
            raise submit_failure(exc, {"callbacks": callbacks}) from exc
        return SubmitResult(task_id=str(task.task_id), callbacks=callbacks)

    @activity.defn(name="topview.check")
    async def check(self, ref: TaskRef) -> TaskCheck:
        """Query the task once (the safety-net poll, and the look after a callback)."""
        task = get_task(self.client, ref.kind, ref.task_id)
        try:
            await task.refresh()
        except TopviewError as exc:
            raise read_failure(exc) from exc
        return _check(task)

    @activity.defn(name="topview.wait")
    async def wait(self, ref: TaskRef) -> TaskCheck:
        """Poll the task until it finishes (the client's poll policy and scheduler),
        heartbeating; a worker that dies is noticed and the wait resumes elsewhere."""
        task = get_task(self.client, ref.kind, ref.task_id)
        try:
            await _heartbeating(lambda: task.wait(callback=False))
        except TaskFailedError:
            pass  # a finished task: the check says how it ended
        except TopviewError as exc:  # TaskTimeoutError included: wait again
            raise read_failure(exc) from exc
        return _check(task)

    @activity.defn(name="topview.download")
    async def download(self, request: DownloadInput) -> list[dict[str, Any]]:
        """Save the task's result files as ``<out_dir>/<key>.<ext>`` (the batch runner's
        staging and naming); returns ``{"path", "sha256", "size"}`` of each."""
        runner = JobRunner(self.client, request.out_dir, journal=MemoryJournal())
        record = JobRecord(request.key, request.kind, {}, status=JobStatus.RUNNING)
        record.task_id = request.task_id
        task = get_task(self.client, request.kind, request.task_id)
        try:
            return await _heartbeating(lambda: runner._download(record, task))
        except (TopviewError, OSError) as exc:
            raise read_failure(exc) from exc

    @activity.defn(name="topview.reconcile")
    async def reconcile(self, request: ReconcileInput) -> ReconcileResult:
        """Look for an M2V submit of unknown outcome in the M2V task list (the batch
        runner's reconciliation)."""
        record = JobRecord(
            request.key,
            "m2v",
            dict(request.params),
            status=JobStatus.OUTCOME_UNKNOWN,
            intent_at=request.intent_at,
        )
        await reconcile_m2v(
            self.client, [record], claimed=set(), grace=request.grace, now=time.time()
        )
        if record.status is JobStatus.RUNNING and record.task_id:
            return ReconcileResult(task_id=record.task_id)
        if record.status is JobStatus.PENDING:
            return ReconcileResult(resubmit=True, note=record.error)
        return ReconcileResult(note=record.error)
