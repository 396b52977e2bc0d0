"""Task handles: every submit returns one; wait on it, refresh it, follow it, rebuild it.

::

    task = await client.marketing_videos.submit(product_link=url)
    print(task.task_id)                        # store it; Task.from_id(...) rebuilds the handle
    video = await task.wait()                  # the typed query result once finished
    files = await task.result_files()          # its videos: list[ResultFile] (url, name)
    paths = await task.download("out/")        # or saved to disk: list[Path]

    async for update in task.watch():          # or follow the status changes
        print(update.status, update.state)

A wait polls the task's query endpoint through the client's :class:`PollScheduler`, which
caps in-flight queries and the query rate and learns how long each kind of task takes.
Failure raises :class:`TaskFailedError`; the policy's deadline raises
:class:`TaskTimeoutError`. Either way, and after a cancellation, the handle stays usable:
``await task.wait()`` again resumes where it left off.

A query that fails transiently (5xx, a dropped connection, a timeout, a code marked
retryable) after the pipeline's retries does not end a wait: it is retried with the client's
retry backoff until the wait's own deadline. Only permanent errors end it early.

A task submitted with a ``notice_url`` whose callbacks reach this process (a receiver built
with ``client=``, see :mod:`topview_async.webhooks`) is waited on by callback instead: the
wait ends when the notice lands. In case the callback is lost, a slow safety net polls: first
once the task should have ended and called back (learned per kind; see
:func:`safety_net_first_poll_age`), then every :data:`SAFETY_NET_WAIT_MIN` to
:data:`SAFETY_NET_WAIT_MAX` s. Callbacks resolve waits within one process, or within every
process on the same notice bus (``AsyncTopview(notice_bus="redis://...")``).
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import aclosing
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from .. import _sleep
from .._exceptions import (
    APIConnectionError,
    APIError,
    HTTPStatusError,
    InvalidInputError,
    ServerError,
    TopviewError,
    UnknownTaskKindError,
)
from .._operation import Operation, TaskKindSpec
from .._retry_loop import attempts_allowed
from ._file_inputs import check_local_inputs, upload_local_files
from ._many import as_completed, wait_all
from ._media import ResultFile, download_result_files, result_files
from ._safety_net import (
    SAFETY_NET_FIRST_MAX,
    SAFETY_NET_WAIT_MAX,
    SAFETY_NET_WAIT_MIN,
    safety_net_first_poll_age,
    safety_net_policy,
)
from ._status import Outcome, TaskState, evaluate, read_field
from ._submit_check import _Stopped, stop_point
from ._task_types import (
    ProgressCallback,
    TaskFailedError,
    TaskProgress,
    TaskTimeoutError,
    TaskUpdate,
    _notify,
)
from .polling import PollPolicy, PollScheduler

if TYPE_CHECKING:
    from .._client import AsyncTopview
    from .._generated.task_kinds import TaskKind
    from .._models import TopviewModel
    from .._options import RequestOptions
    from ._notice_hub import NoticeHub

__all__ = [
    "SAFETY_NET_FIRST_MAX",
    "SAFETY_NET_WAIT_MAX",
    "SAFETY_NET_WAIT_MIN",
    "ProgressCallback",
    "ResultFile",
    "Task",
    "TaskFailedError",
    "TaskProgress",
    "TaskState",
    "TaskTimeoutError",
    "TaskUpdate",
    "as_completed",
    "get_task",
    "is_transient",
    "safety_net_first_poll_age",
    "safety_net_policy",
    "submit_task",
    "wait_all",
]

ResultT = TypeVar("ResultT")


class Task(Generic[ResultT]):
    """A handle on one long-running Topview task.

    Holds only what identifies the task (kind, id, query endpoint, the export's script
    id) plus the last result, so thousands of handles are cheap. ``submit_result`` is the
    typed submit response (``task_id``, ``status``, ``error_msg``, ``notice_uuid``); it is
    ``None`` for handles rebuilt with :meth:`from_id`.
    """

    __slots__ = (
        "_age_known",
        "_client",
        "_last_poll_at",
        "_notice_requested",
        "_notices_seen",
        "_origin",
        "_outcome",
        "_polls",
        "_result",
        "_spec",
        "script_id",
        "submit_result",
        "task_id",
    )

    def __init__(
        self,
        client: AsyncTopview,
        spec: TaskKindSpec,
        task_id: str,
        *,
        submit_result: object = None,
        script_id: int | None = None,
        submitted_at: float | None = None,
        notice_requested: bool = False,
    ) -> None:
        self._client = client
        self._spec = spec
        self.task_id = task_id
        self.submit_result = submit_result
        self.script_id = script_id
        # Age drives the learned schedule; a rebuilt handle only knows when it was first seen.
        self._origin = submitted_at
        self._age_known = submitted_at is not None
        self._polls = 0
        self._last_poll_at: float | None = None
        self._outcome: Outcome | None = None
        self._result: ResultT | None = None
        # Submitted with a noticeUrl: wait() may rely on the callback (the URL itself, which
        # holds a secret, is not kept).
        self._notice_requested = notice_requested
        self._notices_seen: set[str] = set()  # uuids of the notices a wait acted on already

    @classmethod
    def from_id(
        cls, client: AsyncTopview, kind: str, task_id: str, *, script_id: int | None = None
    ) -> Task[Any]:
        """Rebuild a handle from a stored task id (``script_id``: the export's script, for
        ``m2v_export``; Topview's default ``0`` when not given)."""
        spec = _task_kinds().get(kind)
        if spec is None:
            raise UnknownTaskKindError(kind, _task_kinds())
        return Task(client, spec, task_id, script_id=script_id)

    def __repr__(self) -> str:
        return f"<Task {self.kind} {self.task_id} {self.state.value}>"

    @property
    def client(self) -> AsyncTopview:
        """The client the handle queries and downloads through."""
        return self._client

    @property
    def kind(self) -> TaskKind:
        """The task kind, for example ``m2v`` (what ``client.tasks.get`` takes)."""
        return cast("TaskKind", self._spec.kind)

    @property
    def query_operation(self) -> Operation:
        """The operation that polls this task."""
        return self._spec.query_operation

    @property
    def notice_uuid(self) -> str | None:
        """The ``noticeUuid`` of the submit (set when a ``noticeUrl`` was given)."""
        value = read_field(self.submit_result, "notice_uuid", "noticeUuid")
        return None if value is None else str(value)

    @property
    def status(self) -> str | None:
        """Topview's raw status from the last query (``None`` before the first)."""
        return None if self._outcome is None else self._outcome.status

    @property
    def state(self) -> TaskState:
        """The normalised state from the last query."""
        return TaskState.RUNNING if self._outcome is None else self._outcome.state

    @property
    def done(self) -> bool:
        """``True`` once a query showed the task succeeded or failed."""
        return self.state.is_terminal

    @property
    def result(self) -> ResultT | None:
        """The last query result (``None`` before the first query)."""
        return self._result

    @property
    def polling(self) -> TaskPolling[ResultT]:
        """The handle's poll state, as the SDK's wait engines drive it (:func:`wait_all`,
        :func:`as_completed`, callback waits); application code waits with :meth:`wait`."""
        return TaskPolling(self)

    async def download(
        self, dest_dir: str | os.PathLike[str], *, concurrency: int = 4, resumable: bool = False
    ) -> list[Path]:
        """Save every result video or image of the finished task into ``dest_dir``.

        Waits for the task first if it has not finished. The files are those of
        :meth:`result_files`, named after the task id
        (``<task id>.mp4``, or ``<task id>-1.png``, ``-2``... for several), saved with bounded
        concurrency through the credential-free storage client, each atomically (see
        :meth:`AsyncTopview.download`); nothing from a URL can place a file outside
        ``dest_dir`` and an existing file is never overwritten. Returns the paths in order.
        With ``resumable=True`` an interrupted download keeps its ``.part`` file and the next
        resumable download into the same ``dest_dir`` continues it, even in a new process
        (see :func:`~topview_async.lib.downloads.download`).

            paths = await task.download("out/videos")
        """
        files = await self.result_files()
        return await download_result_files(
            self._client.storage_http,
            files,
            dest_dir,
            concurrency=concurrency,
            retry=self._client.retry,
            resumable=resumable,
        )

    async def result_files(self) -> list[ResultFile]:
        """The files the finished task produced (its videos or images), in order.

        Waits for the task first if it has not finished, so it raises as :meth:`wait` does
        (:class:`TaskFailedError`, :class:`TaskTimeoutError`); once finished it returns at once,
        without a query. Each :class:`ResultFile` has the ``url`` to fetch (a storage or CDN URL
        that needs no credentials) and the default ``name`` :meth:`download` gives it. Where the
        files are in the result differs per kind of task (the spec's ``resultFiles``); for an
        M2V task the exported videos replace the previews, and an export handle gives the
        video of its own script. A URL that is not a string is left out, so ``url`` is always
        one. ::

            for file in await task.result_files():
                print(file.url)
        """
        result = await self.wait()  # returns at once, without a query, once finished
        return result_files(self.kind, self.task_id, result, script_id=self.script_id)

    async def refresh(self) -> ResultT:
        """Query the task once and return the result, whatever its state."""
        await self._poll_once(self._client.poll_scheduler)
        return cast(ResultT, self._result)

    async def wait(
        self,
        *,
        poll: PollPolicy | None = None,
        on_progress: TaskProgress | None = None,
        callback: bool | None = None,
        safety_net: PollPolicy | None = None,
        verify_with_api: bool = True,
    ) -> ResultT:
        """Wait until the task finishes; return the typed query result.

        ``poll`` overrides the client's poll policy; ``on_progress`` is called on every
        status change. Raises :class:`TaskFailedError` or :class:`TaskTimeoutError`.
        A finished handle returns (or raises) at once without a query. Wrap the call in
        ``anyio.fail_after``/``move_on_after`` to bound it by a scope instead; cancelling
        leaves the handle ready to be waited on again.

        A query that fails transiently (HTTP 5xx or 429, a dropped connection, a timeout, a
        code marked retryable) is retried with the client's retry backoff until the deadline;
        permanent errors (401, not found, invalid request, validation) are raised at once.

        Waiting by callback (explicit; within one process, or every process on one notice
        bus): with ``callback=True``, or by default for a task submitted with a ``notice_url``
        once a receiver built with ``client=`` or a shared notice bus feeds this client's
        ``client.notice_hub``, the wait ends as soon as the task's
        notice arrives, while polling with the ``safety_net`` policy in case the callback is
        lost; whichever sees the end first wins and the other is stopped. The default safety
        net polls first only once the task should have ended and called back (the 99th
        percentile of the durations learned for its kind plus 30 s, 120 s before anything is
        learned, at most 600 s: :func:`safety_net_first_poll_age`), then every 30 to 120 s
        (:func:`safety_net_policy` of ``poll``); so a callback that arrives costs no poll,
        and a lost one is noticed by task age 600 s or 120 s after the task ended, whichever
        is later. A handle rebuilt with :meth:`from_id` looks once at the start instead. A
        ``safety_net`` policy of your own polls on its own schedule from the start. A notice
        the receiver verified through the API is used as it is; any other one makes the wait
        re-read the task from the API first, unless ``verify_with_api=False`` (then the
        posted result is trusted, except for ``m2v_export``, whose callback does not name its
        script). ``callback=False`` always just polls.
        """
        if not self.done:
            policy = self._policy(poll)
            hub = self._callback_hub(callback)
            if hub is None:
                async with aclosing(self._updates(policy)) as updates:
                    async for update in updates:
                        if on_progress is not None:
                            await _notify(on_progress, update)
            else:
                from ._callback_wait import wait_with_callbacks

                await wait_with_callbacks(
                    self,
                    hub,
                    safety_net=safety_net or safety_net_policy(policy),
                    first_poll_late=safety_net is None,
                    on_progress=on_progress,
                    verify_with_api=verify_with_api,
                )
        return self._final()

    def _callback_hub(self, callback: bool | None) -> NoticeHub | None:
        """The hub to wait on, or ``None`` to just poll."""
        if callback is False:
            return None
        hub = self._client.notice_hub
        if callback is None:
            # Only by default when a receiver bound to this client feeds its hub: a receiver
            # that merely exists (or feeds another hub) must not delay this wait.
            return hub if self._notice_requested and hub.fed else None
        return hub

    def watch(self, *, poll: PollPolicy | None = None) -> AsyncIterator[TaskUpdate[ResultT]]:
        """Iterate over status changes until the task finishes::

            async for update in task.watch():
                print(update.state, update.status)

        The last update is terminal. A failure is reported as an update with
        ``state == TaskState.FAILED`` (not raised); the deadline raises
        :class:`TaskTimeoutError`.
        """
        return self._updates(self._policy(poll))

    # -- the poll loop ------------------------------------------------------------------

    def _policy(self, poll: PollPolicy | None) -> PollPolicy:
        return poll if poll is not None else self._client.poll_policy

    def _final(self) -> ResultT:
        outcome = self._outcome
        if outcome is not None and outcome.state is TaskState.FAILED:
            raise TaskFailedError(
                task_id=self.task_id,
                kind=self.kind,
                error_msg=outcome.error_msg,
                status=outcome.status,
                result=self._result,
            )
        assert outcome is not None, "_final() before any query"
        return cast(ResultT, self._result)

    def _snapshot(self) -> TaskUpdate[ResultT]:
        outcome = self._outcome
        assert outcome is not None, "_snapshot() before any query"
        result = cast(ResultT, self._result)
        return TaskUpdate(
            self.task_id, self.kind, outcome.status, outcome.state, result, outcome.error_msg
        )

    def _next_poll_at(self, scheduler: PollScheduler, policy: PollPolicy) -> float:
        """When this task should be polled next, on the scheduler's clock."""
        if self._origin is None:
            self._origin = scheduler.clock()
        if self._polls == 0 and not self._age_known:
            return self._origin  # rebuilt handle: it may have finished long ago, look now
        base = self._origin if self._last_poll_at is None else self._last_poll_at
        age = base - self._origin if self._age_known else None
        return base + scheduler.interval(self.kind, age=age, polls=self._polls, policy=policy)

    async def _poll_once(
        self, scheduler: PollScheduler, *, finished_by: float | None = None, learn: bool = True
    ) -> TaskUpdate[ResultT] | None:
        """Query once; return an update when the status changed."""
        if self._origin is None:
            self._origin = scheduler.clock()
        result: ResultT = await scheduler.query(
            self._client, self.query_operation, self.task_id, self._spec.result_type
        )
        return self._observe(result, scheduler, finished_by=finished_by, learn=learn)

    def _observe(
        self,
        result: ResultT,
        scheduler: PollScheduler,
        *,
        finished_by: float | None = None,
        learn: bool = True,
    ) -> TaskUpdate[ResultT] | None:
        """Take ``result`` as the task's current state; return an update if it changed.

        ``finished_by``: when a callback said the task finished (on the scheduler's clock);
        ``learn=False`` keeps the duration out of what the scheduler learns.
        """
        if self._origin is None:
            self._origin = scheduler.clock()
        now = scheduler.clock()
        outcome = evaluate(self.kind, result, script_id=self.script_id)
        previous, previous_poll = self._outcome, self._last_poll_at or self._origin
        self._polls += 1
        self._last_poll_at = now
        self._result = result
        self._outcome = outcome
        was_running = previous is None or not previous.state.is_terminal
        if outcome.state.is_terminal and was_running and self._age_known and learn:
            # A callback comes right at the end; without one, the task finished somewhere
            # between the last two polls, and the midpoint is unbiased.
            ended = (previous_poll + now) / 2 if finished_by is None else finished_by
            scheduler.record_duration(self.kind, ended - self._origin)
        if previous is None or (previous.status, previous.state) != (outcome.status, outcome.state):
            return self._snapshot()
        return None

    async def _updates(
        self, policy: PollPolicy, *, look_now: bool = False
    ) -> AsyncGenerator[TaskUpdate[ResultT], None]:
        """Poll by ``policy`` until the task is done; ``look_now``: the first poll at once.

        A task that the ``look_now`` poll finds finished teaches the scheduler nothing: it is
        the safety net's late first look, so the task ended anywhere since its submit, and the
        midpoint would be a made-up duration that pushes later first looks later still.
        """
        blind = look_now
        if self.done:
            yield self._snapshot()
            return
        scheduler = self._client.poll_scheduler
        clock = scheduler.clock
        deadline = None if policy.timeout is None else clock() + policy.timeout
        failures = 0
        while True:
            due = clock() if look_now else self._next_poll_at(scheduler, policy)
            look_now = False
            if failures:
                # A failed query: back off by the client's retry policy, not the poll schedule.
                due = clock() + self._client.retry.backoff(failures)
            if deadline is not None:
                due = min(due, deadline)  # one last look at the deadline itself
            now = clock()
            if due > now:
                await _sleep.sleep(due - now)
            try:
                update = await self._poll_once(scheduler, learn=not blind)
            except TopviewError as exc:
                if not self._rides_out(exc):
                    raise
                failures += 1
                if deadline is not None and clock() >= deadline:
                    raise TaskTimeoutError(task=self, timeout=policy.timeout) from exc
                continue
            failures = 0
            blind = False
            if update is not None:
                yield update
            if self.done:
                return
            if deadline is not None and clock() >= deadline:
                raise TaskTimeoutError(task=self, timeout=policy.timeout)

    def _rides_out(self, error: TopviewError) -> bool:
        """Whether a wait keeps going after ``error`` (a transient query failure)."""
        # retry=None means no retries anywhere, waits included.
        return is_transient(error) and attempts_allowed(self._client.retry) > 1


class TaskPolling(Generic[ResultT]):
    """One task handle's poll state, seen from a wait engine outside this module.

    ``wait_all``/``as_completed`` (:mod:`._many`) and callback waits (:mod:`._callback_wait`)
    poll many handles by one schedule: this is what they may do to a handle, so no module
    but this one reads a :class:`Task`'s private attributes. A view: it holds nothing but
    the handle, so taking one costs an allocation and no state can drift.
    """

    __slots__ = ("_task",)

    def __init__(self, task: Task[ResultT]) -> None:
        self._task = task

    @property
    def notices_seen(self) -> set[str]:
        """The uuids of the notices a wait acted on already (a wait adds to it)."""
        return self._task._notices_seen

    @property
    def result_type(self) -> Any:
        """The type a query of this task returns (what a trusted notice must carry)."""
        return self._task._spec.result_type

    def policy(self, poll: PollPolicy | None) -> PollPolicy:
        """``poll``, or the client's poll policy when ``None``."""
        return self._task._policy(poll)

    def first_poll_origin(self) -> float | None:
        """When the task was submitted (scheduler clock), while no poll has been made and its
        age is known; ``None`` otherwise (a rebuilt handle, or one already polled)."""
        task = self._task
        if task._polls or not task._age_known:
            return None
        return task._origin

    def next_poll_at(self, scheduler: PollScheduler, policy: PollPolicy) -> float:
        """When the task should be polled next, on the scheduler's clock."""
        return self._task._next_poll_at(scheduler, policy)

    async def poll_once(
        self, scheduler: PollScheduler, *, finished_by: float | None = None, learn: bool = True
    ) -> TaskUpdate[ResultT] | None:
        """Query once; return an update when the status changed."""
        return await self._task._poll_once(scheduler, finished_by=finished_by, learn=learn)

    def observe(
        self,
        result: ResultT,
        scheduler: PollScheduler,
        *,
        finished_by: float | None = None,
        learn: bool = True,
    ) -> TaskUpdate[ResultT] | None:
        """Take ``result`` (from a trusted notice) as the task's state, as a poll would."""
        return self._task._observe(result, scheduler, finished_by=finished_by, learn=learn)

    def updates(
        self, policy: PollPolicy, *, look_now: bool = False
    ) -> AsyncGenerator[TaskUpdate[ResultT], None]:
        """Poll by ``policy`` until done, yielding status changes; ``look_now``: poll at once."""
        return self._task._updates(policy, look_now=look_now)

    def rides_out(self, error: TopviewError) -> bool:
        """Whether a wait keeps going after ``error`` (a transient query failure)."""
        return self._task._rides_out(error)


def _task_kinds() -> Mapping[str, TaskKindSpec]:
    """The generated table of task kinds (imported late: it pulls in every operation)."""
    from .._generated.task_kinds import TASK_KINDS

    return TASK_KINDS


def is_transient(error: BaseException) -> bool:
    """Whether ``error`` from a task query may go away by itself (so a wait rides it out).

    Transient: no usable response (connection dropped, timeout), HTTP 408, 429 or 5xx, and
    business codes the spec marks retryable (server errors). Anything else (401, not found,
    invalid request, a response that fails validation) is permanent.
    """
    if isinstance(error, APIConnectionError):
        return True
    if isinstance(error, HTTPStatusError):
        return error.status_code in (408, 429) or error.status_code >= 500
    if isinstance(error, APIError) and error.code is not None:
        from .._generated.error_codes import ERROR_CODES

        info = ERROR_CODES.get(error.code)
        return info.retryable if info is not None else isinstance(error, ServerError)
    return False


def get_task(
    client: AsyncTopview, kind: str, task_id: str, *, script_id: int | None = None
) -> Task[Any]:
    """Rebuild a task handle from a stored id; same as :meth:`Task.from_id`."""
    return Task.from_id(client, kind, task_id, script_id=script_id)


async def submit_task(
    client: AsyncTopview,
    operation: Operation,
    *,
    body: Mapping[str, object],
    body_model: type[TopviewModel],
    result_type: Any,
    options: RequestOptions | None = None,
    raw: bool = False,
) -> Any:
    """Submit a paid task and return its handle (called by the generated submit stubs).

    Local files in the operation's file fields (the spec's ``x-topview-file``, nested ones
    included) are uploaded first and replaced by their file ids (see :mod:`._file_inputs` for
    how a path is told from a file id). ``options`` are the submit call's own (the uploads keep
    the client's); ``raw=True`` returns a :class:`RawResponse` whose ``parse()`` is the task
    handle.
    """
    kind = operation.task_kind
    spec = _task_kinds().get(kind) if kind is not None else None
    assert spec is not None, f"{operation} does not declare a known task kind ({kind!r})"
    script_id: int | None = None
    if kind == "m2v_export":
        # scriptId may be an integer or a numeric string (CORRECTIONS #7); the handle needs
        # the number, so a non-numeric one is refused here, before the export is submitted.
        raw_script = body.get("scriptId", body.get("script_id"))
        text = "0" if raw_script is None else str(raw_script).strip()
        if not text.isdigit():
            raise InvalidInputError(
                f"script_id must be a non-negative integer, got {raw_script!r}",
                operation=operation,
            )
        script_id = int(text)
    stop = stop_point()
    if stop == "check":  # client.tasks.check_submit: every local check, then stop
        check_local_inputs(
            body,
            strings=client.local_files,
            operation=operation,
            body_model=body_model,
            validate=True,
        )
        raise _Stopped
    body = await upload_local_files(client, body, operation=operation, body_model=body_model)
    if stop == "prepare":  # client.tasks.prepare: checked and uploaded, not sent
        from .._wire import validate_body

        raise _Stopped(validate_body(operation, body, body_model), body_model)
    scheduler = client.poll_scheduler
    # The task's age is counted from just before sending: Topview starts it on receipt.
    submitted_at = scheduler.clock()
    reply = await client.request(
        operation,
        body=body,
        body_model=body_model,
        result_type=result_type,
        options=options,
        raw=raw,
    )
    submitted = reply.parse() if raw else reply
    task_id = read_field(submitted, "task_id", "taskId")
    if not task_id:
        # Code 200 without a task id: a task may exist all the same. Never "not sent".
        from .._exceptions import SubmitOutcomeUnknownError, SubmittedRequest

        cause = TopviewError("the submit response carries no taskId", operation=operation)
        error = SubmitOutcomeUnknownError(
            f"{operation} was accepted but its reply names no taskId; Topview may have "
            "created the task. It was not resubmitted: check for the task before retrying.",
            request=SubmittedRequest(
                operation.method, f"{str(client.base_url).rstrip('/')}{operation.path}", dict(body)
            ),
            operation=operation,
            code="200",
        )
        raise error from cause
    task: Task[Any] = Task(
        client,
        spec,
        str(task_id),
        submit_result=submitted,
        script_id=script_id,
        submitted_at=submitted_at,
        notice_requested=bool(body.get("noticeUrl")),
    )
    return reply._replace(task) if raw else task
