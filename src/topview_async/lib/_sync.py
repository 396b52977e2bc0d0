"""The sync client's handwritten objects: thin wrappers that run the async ones on its portal.

:class:`SyncTask` is a :class:`~topview_async.lib.tasks.Task` whose methods block;
:class:`SyncUploads`, :class:`SyncNotices` and :class:`SyncTasks` add the handwritten helpers
of ``client.uploads``, ``client.notices`` and ``client.tasks``. Every method here is one
:meth:`Portal.run` of its async twin: the behaviour stays in one place.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar, cast

from .._generated.task_kinds import SyncTaskGetter
from ..resources.notices import SyncNoticesResource
from ..resources.uploads import SyncUploadsResource

if TYPE_CHECKING:
    from .._client import AsyncTopview
    from .._generated.task_kinds import TaskKind
    from .._portal import Portal
    from .._response import RawResponse
    from ._files import TransferProgress
    from ._media import ResultFile
    from ._resources import Notices, Uploads
    from ._status import TaskState
    from ._task_types import TaskProgress, TaskUpdate
    from .polling import PollPolicy
    from .tasks import Task

__all__ = ["SyncNotices", "SyncTask", "SyncTasks", "SyncUploads", "raw_task_method"]

ResultT = TypeVar("ResultT")
P = ParamSpec("P")


class SyncTask(Generic[ResultT]):
    """A task handle of the sync client: :class:`~topview_async.Task`, with blocking methods.

    ::

        task = client.marketing_videos.submit(product_link=url)
        video = task.wait()
        paths = task.download("out/")
    """

    __slots__ = ("_portal", "task")

    def __init__(self, task: Task[ResultT], portal: Portal) -> None:
        self.task = task
        """The async handle (what ``AsyncTopview`` code takes)."""
        self._portal = portal

    def __repr__(self) -> str:
        return repr(self.task)

    @property
    def task_id(self) -> str:
        return self.task.task_id

    @property
    def kind(self) -> TaskKind:
        return self.task.kind

    @property
    def script_id(self) -> int | None:
        return self.task.script_id

    @property
    def submit_result(self) -> object:
        return self.task.submit_result

    @property
    def notice_uuid(self) -> str | None:
        return self.task.notice_uuid

    @property
    def status(self) -> str | None:
        return self.task.status

    @property
    def state(self) -> TaskState:
        return self.task.state

    @property
    def done(self) -> bool:
        return self.task.done

    @property
    def result(self) -> ResultT | None:
        return self.task.result

    def wait(
        self,
        *,
        poll: PollPolicy | None = None,
        on_progress: TaskProgress | None = None,
        callback: bool | None = None,
        safety_net: PollPolicy | None = None,
        verify_with_api: bool = True,
    ) -> ResultT:
        """Block until the task finishes; see :meth:`Task.wait <topview_async.Task.wait>`.
        ``on_progress`` runs on the client's loop thread."""
        return self._portal.run(
            self.task.wait(
                poll=poll,
                on_progress=on_progress,
                callback=callback,
                safety_net=safety_net,
                verify_with_api=verify_with_api,
            )
        )

    def refresh(self) -> ResultT:
        """Query the task once; see :meth:`Task.refresh <topview_async.Task.refresh>`."""
        return self._portal.run(self.task.refresh())

    def result_files(self) -> list[ResultFile]:
        """The finished task's files (see
        :meth:`Task.result_files <topview_async.Task.result_files>`)."""
        return self._portal.run(self.task.result_files())

    def download(
        self, dest_dir: str | os.PathLike[str], *, concurrency: int = 4, resumable: bool = False
    ) -> list[Path]:
        """Save the result files; see :meth:`Task.download <topview_async.Task.download>`."""
        return self._portal.run(
            self.task.download(dest_dir, concurrency=concurrency, resumable=resumable)
        )

    def watch(self, *, poll: PollPolicy | None = None) -> Iterator[TaskUpdate[ResultT]]:
        """Status changes until the task finishes, as a plain iterator."""
        return self._portal.iterate(self.task.watch(poll=poll))


def raw_task_method(
    portal: Portal, method: Callable[P, Awaitable[RawResponse[Task[ResultT]]]]
) -> Callable[P, RawResponse[SyncTask[ResultT]]]:
    """A raw submit of the async client as a blocking one whose ``parse()`` is a
    :class:`SyncTask`."""
    blocking = portal.wrap(method)

    def call(*args: P.args, **kwargs: P.kwargs) -> RawResponse[SyncTask[ResultT]]:
        raw = blocking(*args, **kwargs)
        return raw._replace(SyncTask(raw.parse(), portal))

    return call


class SyncUploads(SyncUploadsResource):
    """``client.uploads`` of the sync client, with :meth:`upload` and :meth:`upload_many`."""

    def upload(
        self,
        source: str | os.PathLike[str] | bytes | bytearray | memoryview,
        *,
        format: str | None = None,
        content_type: str | None = None,
        progress: TransferProgress | None = None,
        timeout: float | None = None,
    ) -> str:
        """Upload a local file (or bytes) and return its file id; see
        :meth:`Uploads.upload <topview_async.lib._resources.Uploads.upload>`."""
        uploads = cast("Uploads", self._resource)
        return self._portal.run(
            uploads.upload(
                source,
                format=format,
                content_type=content_type,
                progress=progress,
                timeout=timeout,
            )
        )

    def upload_many(
        self,
        sources: Sequence[str | os.PathLike[str]],
        *,
        concurrency: int = 8,
        progress: TransferProgress | None = None,
        timeout: float | None = None,
    ) -> list[str]:
        """Upload files concurrently; their file ids in input order (see
        :meth:`Uploads.upload_many <topview_async.lib._resources.Uploads.upload_many>`)."""
        uploads = cast("Uploads", self._resource)
        return self._portal.run(
            uploads.upload_many(
                sources, concurrency=concurrency, progress=progress, timeout=timeout
            )
        )


class SyncNotices(SyncNoticesResource):
    """``client.notices`` of the sync client, with :meth:`check`."""

    def check(self, url: str) -> None:
        """Ask Topview to validate ``url`` as a ``noticeUrl`` (see
        :meth:`Notices.check <topview_async.lib._resources.Notices.check>`)."""
        notices = cast("Notices", self._resource)
        self._portal.run(notices.check(url))


class SyncTasks(SyncTaskGetter):
    """Sync task handles rebuilt from stored ids: ``client.tasks.get("m2v", task_id)``."""

    def __init__(self, client: AsyncTopview, portal: Portal) -> None:
        self._client = client
        self._portal = portal

    def _get_task(self, kind: str, task_id: str, *, script_id: int | None) -> SyncTask[Any]:
        from .tasks import get_task

        return SyncTask(get_task(self._client, kind, task_id, script_id=script_id), self._portal)

    def submit(self, kind: str, /, **params: Any) -> SyncTask[Any]:
        """Submit a paid task of ``kind`` (see :meth:`Tasks.submit
        <topview_async.lib._resources.Tasks.submit>`); its handle blocks."""
        from ._submit_check import submit_method

        async def submit() -> Task[Any]:
            return await submit_method(self._client, kind)(**params)

        return SyncTask(self._portal.run(submit()), self._portal)

    def prepare(self, kind: str, /, **params: Any) -> dict[str, Any]:
        """Check a submit of ``kind`` and upload its local files, without submitting (see
        :meth:`Tasks.prepare <topview_async.lib._resources.Tasks.prepare>`)."""
        from ._submit_check import prepare_submit

        return self._portal.run(prepare_submit(self._client, kind, params))

    def check_submit(self, kind: str, params: Mapping[str, object]) -> None:
        """Check a submit of ``kind`` with keyword arguments ``params``; nothing is sent (see
        :meth:`Tasks.check_submit <topview_async.lib._resources.Tasks.check_submit>`)."""
        from ._submit_check import check_submit

        self._portal.run(check_submit(self._client, kind, params))

    def wait_all(
        self,
        tasks: Sequence[SyncTask[ResultT]],
        *,
        poll: PollPolicy | None = None,
        on_progress: TaskProgress | None = None,
        return_exceptions: bool = False,
    ) -> list[ResultT | BaseException]:
        """Wait for every task; results in the order of ``tasks`` (see
        :func:`~topview_async.lib.tasks.wait_all`: one bounded pool polls them all)."""
        from .tasks import wait_all

        return self._portal.run(
            wait_all(
                [handle.task for handle in tasks],
                poll=poll,
                on_progress=on_progress,
                return_exceptions=return_exceptions,
            )
        )
