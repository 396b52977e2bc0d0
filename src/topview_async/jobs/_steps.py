"""The steps of a job, on one client: submit, wait, download, reconcile.

:class:`JobSteps` is what both engines run: :class:`~topview_async.jobs.JobRunner` calls
it under anyio with its journal, the Temporal activities (:mod:`topview_async.temporal`)
call it one step per activity. It uses the client's public API only, and decides nothing
about paying: a failed submit raises, and the engine asks
:func:`~topview_async.jobs.decide_submit_failure` what that means.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from .._exceptions import NotFoundError, TaskFailedError
from ..lib._status import read_field
from ._model import JobRecord
from ._output import place_files, prepare_staging, staging_dir
from ._reconcile import reconcile_listed
from ._submit import job_notice_url

if TYPE_CHECKING:
    from .._client import AsyncTopview
    from ..lib.polling import PollPolicy
    from ..lib.tasks import Task

__all__ = ["JobSteps", "TaskCheck", "reconcilable"]


def reconcilable(kind: str) -> bool:
    """Whether a submit of unknown outcome of ``kind`` can be found in a task list (the
    spec's ``x-topview-task.reconcile``)."""
    from .._generated.task_kinds import TASK_KINDS

    spec = TASK_KINDS.get(kind)
    return spec is not None and spec.reconcile is not None


@dataclass
class TaskCheck:
    """A task's state as one query (or a whole wait) saw it."""

    state: str
    """``running``, ``succeeded`` or ``failed`` (:class:`~topview_async.lib.tasks.TaskState`)."""
    status: str | None = None
    """Topview's raw status."""
    error_msg: str | None = None
    credits: float | None = None

    @property
    def finished(self) -> bool:
        return self.state in ("succeeded", "failed")


class JobSteps:
    """The steps of a job on ``client``, each one call an engine can repeat or journal.

    ::

        steps = JobSteps(client)
        task_id = await steps.submit("shoe-1", "m2v", {"product_link": link}, attempt=1)
        check = await steps.wait("m2v", task_id)
        files = await steps.download("shoe-1", "m2v", task_id, "out/shoes")

    ``notice_url``: each submit carries it with ``?job=<key>&attempt=<n>`` added, so a
    callback names its job even when the submit's reply was lost.
    """

    def __init__(self, client: AsyncTopview, *, notice_url: str | None = None) -> None:
        self.client = client
        self.notice_url = notice_url

    @property
    def callbacks(self) -> bool:
        """Whether submits carry a notice URL (a callback will come for each task)."""
        return self.notice_url is not None

    async def prepare(self, kind: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """Check the submit and upload its local files (every check first, so a bad argument
        costs no upload); return the params with file ids (``client.tasks.prepare``)."""
        return await self.client.tasks.prepare(kind, **params)

    async def submit(self, key: str, kind: str, params: Mapping[str, Any], attempt: int) -> str:
        """Send submit ``attempt`` of job ``key`` once (local files are uploaded first, with
        the SDK's checks); return the task id. Raises what the SDK raises: ask
        :func:`~topview_async.jobs.decide_submit_failure` whether it may be sent again."""
        arguments = dict(params)
        if self.notice_url is not None:
            arguments["notice_url"] = job_notice_url(self.notice_url, key, attempt)
        task = await self.client.tasks.submit(kind, **arguments)
        return str(task.task_id)

    async def wait(
        self,
        kind: str,
        task_id: str,
        *,
        poll: PollPolicy | None = None,
        callback: bool | None = None,
    ) -> TaskCheck:
        """Wait for the task to finish; how it ended. A failed task is returned, not raised;
        query errors and :class:`~topview_async.TaskTimeoutError` are raised. ``callback``
        as in :meth:`Task.wait <topview_async.lib.tasks.Task.wait>`."""
        task = self.client.tasks.get(kind, task_id)  # type: ignore[call-overload]
        with contextlib.suppress(TaskFailedError):  # finished: the check says how
            await task.wait(poll=poll, callback=callback)
        return task_check(task)

    async def check(self, kind: str, task_id: str) -> TaskCheck:
        """Query the task once."""
        task = self.client.tasks.get(kind, task_id)  # type: ignore[call-overload]
        await task.refresh()
        return task_check(task)

    async def exists(self, kind: str, task_id: str) -> bool:
        """Whether Topview knows the task (a task id read from a reply that did not validate)."""
        try:
            await self.check(kind, task_id)
        except NotFoundError:
            return False
        return True

    async def download(
        self, key: str, kind: str, task_id: str, out_dir: str | Path
    ) -> list[dict[str, Any]]:
        """Save the finished task's files as ``<out_dir>/<key>.<ext>``, resumably; return
        ``{"path", "sha256", "size"}`` of each (``path`` relative to ``out_dir``)."""
        out = Path(out_dir)
        task = self.client.tasks.get(kind, task_id)  # type: ignore[call-overload]
        staging = staging_dir(out, key)
        await anyio.to_thread.run_sync(prepare_staging, staging)
        # Resumable: a run after a crash continues the .part files this one leaves.
        paths = await task.download(staging, resumable=True)
        files: list[dict[str, Any]] = await anyio.to_thread.run_sync(
            place_files, paths, task_id, key, out, staging
        )
        return files

    async def reconcile(
        self,
        records: Sequence[JobRecord],
        *,
        claimed: set[str],
        grace: float | None,
        now: float,
    ) -> list[JobRecord]:
        """Settle ``outcome_unknown`` records through their kind's task list, where it has
        one; returns the records changed (see :mod:`._reconcile`)."""
        return await reconcile_listed(self.client, records, claimed=claimed, grace=grace, now=now)


def task_check(task: Task[Any]) -> TaskCheck:
    result = task.result
    error = read_field(result, "error_msg", "errorMsg")
    return TaskCheck(
        state=task.state.value,
        status=task.status,
        error_msg=None if error is None else str(error),
        credits=task_cost(result),
    )


def task_cost(result: object) -> float | None:
    """``costCredit`` of a task result, when it carries one."""
    value = read_field(result, "cost_credit", "costCredit")
    try:
        return None if value is None else float(str(value))
    except ValueError:
        return None
