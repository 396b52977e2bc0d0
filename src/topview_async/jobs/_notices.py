"""Callbacks that name their job: the receiver side of the runner's ``notice_url``.

Each submit of a runner configured with ``notice_url`` carries ``?job=<key>&attempt=<n>`` in
its notice URL, so the callback says which job (and which submit of it) the task belongs to,
even when the submit's response never arrived. :class:`JobNoticeApp` is the ASGI endpoint
for such URLs: a :class:`~topview_async.webhooks.NoticeReceiver` (secret check, dedup,
verification through the API, acknowledgement) that also records the task id in the
runner's journal.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from ._submit import ATTEMPT_PARAMETER, JOB_PARAMETER

if TYPE_CHECKING:
    from ..webhooks import NoticeHandler, TaskNotice
    from ._runner import JobRunner

__all__ = ["JobNoticeApp", "JobReferenceApp", "job_reference"]

_REFERENCE: ContextVar[tuple[str, int] | None] = ContextVar("topview_job_reference", default=None)


def job_reference(query_string: str | bytes) -> tuple[str, int] | None:
    """``(key, attempt)`` from a notice request's query string, or ``None``."""
    text = query_string.decode("latin-1") if isinstance(query_string, bytes) else query_string
    query = dict(parse_qsl(text, keep_blank_values=True))
    key, attempt = query.get(JOB_PARAMETER), query.get(ATTEMPT_PARAMETER, "")
    if not key or not attempt.isdigit():
        return None
    return key, int(attempt)


class JobReferenceApp:
    """The shared receiver of callbacks whose notice URL names their job: a
    :class:`~topview_async.webhooks.NoticeReceiver` that reads ``?job=&attempt=`` from the
    request and hands ``(key, attempt, notice)`` to :meth:`_record` before the notice is
    acknowledged. :class:`JobNoticeApp` records into a runner's journal; the Temporal extra's
    ``TemporalNoticeApp`` signals the job's workflow.
    """

    def __init__(
        self, *, secret: str, handler: NoticeHandler | None = None, **receiver_options: Any
    ) -> None:
        from ..webhooks import NoticeReceiver

        self._handler = handler
        self.receiver = NoticeReceiver(secret=secret, handler=self._handle, **receiver_options)

    async def __call__(
        self,
        scope: Mapping[str, Any],
        receive: Callable[[], Awaitable[Mapping[str, Any]]],
        send: Callable[[Mapping[str, Any]], Awaitable[None]],
    ) -> None:
        reference = (
            job_reference(scope.get("query_string", b"")) if scope["type"] == "http" else None
        )
        token = _REFERENCE.set(reference)
        try:
            await self.receiver(scope, receive, send)
        finally:
            _REFERENCE.reset(token)

    async def _handle(self, notice: TaskNotice) -> None:
        reference = _REFERENCE.get()
        if reference is not None:
            key, attempt = reference
            await self._record(key, attempt, notice)
        if self._handler is not None:
            await self._handler(notice)

    async def _record(self, key: str, attempt: int, notice: TaskNotice) -> None:
        raise NotImplementedError


class JobNoticeApp(JobReferenceApp):
    """ASGI app receiving the callbacks of ``runner``'s submits (mount it at the path of the
    runner's ``notice_url``). ``secret``, ``client``, ``handler`` and any other keyword go to
    :class:`~topview_async.webhooks.NoticeReceiver`; your ``handler`` still sees every notice.
    """

    def __init__(
        self,
        runner: JobRunner,
        *,
        secret: str,
        handler: NoticeHandler | None = None,
        **receiver_options: Any,
    ) -> None:
        self.runner = runner
        super().__init__(secret=secret, handler=handler, **receiver_options)

    async def _record(self, key: str, attempt: int, notice: TaskNotice) -> None:
        await self.runner.record_notice(key, attempt, notice.task_id)
