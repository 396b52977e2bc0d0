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

from .._exceptions import TaskTimeoutError, TopviewError
from ..jobs import JobRecord, JobStatus, JobSteps, TaskCheck
from ._errors import read_failure, submit_failure
from ._model import (
    DownloadInput,
    FinishResult,
    ReconcileInput,
    ReconcileResult,
    SubmitInput,
    SubmitResult,
    TaskRef,
    UploadInput,
)

if TYPE_CHECKING:
    from .._client import AsyncTopview

__all__ = ["TopviewActivities", "file_parameters"]

T = TypeVar("T")


def file_parameters(client: AsyncTopview, kind: str) -> frozenset[str]:
    """The keyword arguments of ``kind``'s submit method that take a file (id or local path):
    the spec's ``x-topview-file`` fields, from the generated task table."""
    from .._exceptions import UnknownTaskKindError
    from .._generated.task_kinds import TASK_KINDS

    spec = TASK_KINDS.get(kind)
    if spec is None:
        raise UnknownTaskKindError(kind, TASK_KINDS)
    return frozenset(spec.file_parameters)


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
            # A real wait: the SDK's testing switch must not turn heartbeats into a spin.
            # First wait, then beat: a step shorter than a beat costs the server no heartbeat.
            await anyio.sleep(every)
            activity.heartbeat()

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
        self.steps = JobSteps(client, notice_url=notice_url)
        """The job steps the local runner takes too; each activity runs one of them."""

    def all(self) -> list[Callable[..., Any]]:
        """Every activity except :meth:`submit`, which runs on the submit task queue."""
        return [self.upload, self.check, self.wait, self.download, self.finish, self.reconcile]

    @activity.defn(name="topview.upload")
    async def upload(self, job: UploadInput) -> dict[str, Any]:
        """Upload the local files among the job's file arguments after every check the
        submit makes (a bad argument costs no upload); return the params with their file
        ids (what the submit sends)."""
        try:
            return await _heartbeating(lambda: self.steps.prepare(job.kind, job.params))
        except (TopviewError, TypeError, OSError) as exc:
            raise read_failure(exc) from exc

    @activity.defn(name="topview.submit")
    async def submit(self, request: SubmitInput) -> SubmitResult:
        """Send the paid submit once. Never retried by Temporal itself: the workflow decides
        from the failure (the decision it carries) whether it may be sent again."""
        callbacks = self.steps.callbacks
        try:
            task_id = await _heartbeating(
                lambda: self.steps.submit(
                    request.key, request.kind, request.params, request.attempt
                )
            )
        except Exception as exc:
            raise submit_failure(exc, callbacks=callbacks) from exc
        return SubmitResult(task_id=task_id, callbacks=callbacks)

    @activity.defn(name="topview.check")
    async def check(self, ref: TaskRef) -> TaskCheck:
        """Query the task once (the safety-net poll, and the look after a callback)."""
        try:
            return await self.steps.check(ref.kind, ref.task_id)
        except TopviewError as exc:
            raise read_failure(exc) from exc

    @activity.defn(name="topview.wait")
    async def wait(self, ref: TaskRef) -> TaskCheck:
        """Poll the task until it finishes (the client's poll policy and scheduler),
        heartbeating; a worker that dies is noticed and the wait resumes elsewhere."""
        try:
            return await _heartbeating(
                lambda: self.steps.wait(ref.kind, ref.task_id, callback=False)
            )
        except (TaskTimeoutError, TopviewError) as exc:  # a timeout: wait again
            raise read_failure(exc) from exc

    @activity.defn(name="topview.download")
    async def download(self, request: DownloadInput) -> list[dict[str, Any]]:
        """Save the task's result files as ``<out_dir>/<key>.<ext>`` (the batch runner's
        staging and naming); returns ``{"path", "sha256", "size"}`` of each."""
        try:
            return await _heartbeating(
                lambda: self.steps.download(
                    request.key, request.kind, request.task_id, request.out_dir
                )
            )
        except (TopviewError, OSError) as exc:
            raise read_failure(exc) from exc

    @activity.defn(name="topview.finish")
    async def finish(self, request: DownloadInput) -> FinishResult:
        """Poll the task until it finishes, then save its files (a failed task: none); the
        ``wait`` and ``download`` steps in one activity, heartbeating."""

        async def work() -> FinishResult:
            check = await self.steps.wait(request.kind, request.task_id, callback=False)
            if check.state != "succeeded":
                return FinishResult(check)
            files = await self.steps.download(
                request.key, request.kind, request.task_id, request.out_dir
            )
            return FinishResult(check, files)

        try:
            return await _heartbeating(work)
        except (TaskTimeoutError, TopviewError, OSError) as exc:
            raise read_failure(exc) from exc

    @activity.defn(name="topview.reconcile")
    async def reconcile(self, request: ReconcileInput) -> ReconcileResult:
        """Look for a submit of unknown outcome in its kind's task list (the batch runner's
        reconciliation), or confirm the task id its reply named."""
        if request.task_id is not None:
            try:
                exists = await self.steps.exists(request.kind, request.task_id)
            except TopviewError as exc:
                raise read_failure(exc) from exc
            if exists:
                return ReconcileResult(task_id=request.task_id)
            return ReconcileResult(note=f"task {request.task_id} is not known to Topview")
        record = JobRecord(
            request.key,
            request.kind,
            dict(request.params),
            status=JobStatus.OUTCOME_UNKNOWN,
            intent_at=request.intent_at,
        )
        await self.steps.reconcile([record], claimed=set(), grace=request.grace, now=time.time())
        if record.status is JobStatus.RUNNING and record.task_id:
            return ReconcileResult(task_id=record.task_id)
        if record.status is JobStatus.PENDING:
            return ReconcileResult(resubmit=True, note=record.error)
        return ReconcileResult(note=record.error)
