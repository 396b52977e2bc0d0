"""The callback receiver, signalling the workflow that owns the task, in any process.

Workers submit with the notice URL plus ``?job=<key>&attempt=<n>`` (the batch runner's job
reference, :func:`~topview_async.jobs.job_notice_url`). :class:`TemporalNoticeApp` is the
SDK's :class:`~topview_async.webhooks.NoticeReceiver` (token check, dedup, verification
through the API, acknowledgement) plus one step: it reads the reference from the request
and signals ``task_notice`` to the job's workflow through Temporal. The workflow may be
running on any worker, and the callback may land on any replica of your web app: Temporal
routes the signal. A notice is acknowledged only once the signal is recorded, so Topview
delivers it again if Temporal could not be reached.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from temporalio.service import RPCError, RPCStatusCode

from ..jobs._notices import JobReferenceApp
from ._model import TaskNoticeSignal
from ._names import WORKFLOW_ID_PREFIX, workflow_id
from ._workflow import JobWorkflow

if TYPE_CHECKING:
    from temporalio.client import Client

    from ..webhooks import NoticeHandler, TaskNotice

__all__ = ["TemporalNoticeApp"]

logger = logging.getLogger("topview_async.temporal")


class TemporalNoticeApp(JobReferenceApp):
    """ASGI app receiving the callbacks of jobs run as Temporal workflows.

    ::

        notices = TemporalNoticeApp(temporal_client, secret=SECRET, client=topview_client)
        app.add_route("/topview/notice", notices, methods=["POST"])   # FastAPI or Starlette

    and give the workers the notice URL (``topview temporal worker --notice-url
    "$(python -c '...build_notice_url(...)')"``). ``secret``, ``client``, ``handler`` and any
    other keyword go to :class:`~topview_async.webhooks.NoticeReceiver`; your ``handler``
    still sees every notice. ``id_prefix`` must match the one the jobs were started with.
    """

    def __init__(
        self,
        temporal: Client,
        *,
        secret: str,
        handler: NoticeHandler | None = None,
        id_prefix: str = WORKFLOW_ID_PREFIX,
        **receiver_options: Any,
    ) -> None:
        self.temporal = temporal
        self.id_prefix = id_prefix
        super().__init__(secret=secret, handler=handler, **receiver_options)

    async def _record(self, key: str, attempt: int, notice: TaskNotice) -> None:
        await self.signal(key, TaskNoticeSignal(notice.task_id, attempt, notice.status))

    async def signal(self, key: str, notice: TaskNoticeSignal) -> bool:
        """Signal ``notice`` to job ``key``'s workflow; ``False`` if it is not running (a
        finished job needs nothing). Other errors propagate: the callback is refused and
        Topview delivers it again."""
        handle = self.temporal.get_workflow_handle(workflow_id(key, self.id_prefix))
        try:
            await handle.signal(JobWorkflow.task_notice, notice)
        except RPCError as exc:
            if exc.status is RPCStatusCode.NOT_FOUND:
                logger.info("callback for job %s: its workflow is not running", key)
                return False
            raise
        return True
