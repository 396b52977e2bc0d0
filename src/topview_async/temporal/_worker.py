"""Workers: the job workflow and its activities on two task queues, with cluster-wide limits.

Submits have a task queue of their own (``<queue>-submits``), so Temporal's own limits apply
to exactly the paid calls, across every worker:

* ``max_task_queue_activities_per_second`` on the submit queue: how many submits per second
  *all* workers together may start (the server enforces it for the queue);
* ``max_concurrent_activities``: submits (and, on the main queue, other activities) in flight
  in one worker.

Topview answers 4007 when the account has too many unfinished tasks; the workflow then waits
long (``JobOptions.busy_wait``, doubling, jittered) before submitting again, so the limits
here only need to keep the submit rate gentle, not to know the account's limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from ._activities import TopviewActivities
from ._names import DEFAULT_TASK_QUEUE, SUBMIT_QUEUE_SUFFIX
from ._workflow import JobWorkflow

if TYPE_CHECKING:
    from temporalio.client import Client

    from .._client import AsyncTopview

__all__ = ["WorkerLimits", "create_workers"]


@dataclass(frozen=True)
class WorkerLimits:
    """Limits of one worker process, and of the submit queue across all workers."""

    submits_per_second: float | None = 2.0
    """Submits per second across every worker of the task queue (``None``: no limit)."""
    concurrent_submits: int = 4
    """Submits in flight in this worker."""
    concurrent_activities: int = 200
    """Other activities (uploads, queries, waits, downloads) in flight in this worker. A wait
    by polling holds a slot for the task's duration, so keep this above the tasks you run."""
    activities_per_second: float | None = None
    """All other activities per second across every worker (``None``: no limit); the client's
    own ``poll_rate`` already paces task queries per process."""
    sticky_queue_timeout: float = 10.0
    """Seconds before a workflow cached by a worker that stopped answering moves to another."""
    shutdown_grace: float = 10.0
    """On shutdown (a deploy), seconds in-flight activities get to finish before they are
    cancelled: a submit cancelled mid-request has an unknown outcome to reconcile."""


def workflow_runner() -> SandboxedWorkflowRunner:
    """Temporal's workflow sandbox, with every module passed through.

    By default the sandbox imports a workflow's modules afresh for every workflow run (this
    package, and the standard library modules it uses), to catch state shared between runs
    in code it does not know. These workers run one workflow, :class:`JobWorkflow`, whose
    imports keep no state between runs and whose time and randomness come from
    ``workflow.now()`` and ``workflow.random()``; so its modules are imported once. The
    sandbox's checks of calls (``datetime.now()``, I/O) stay on. Re-importing was ~47 module
    executions per job, the largest part of a worker's CPU (``benchmarks/RESULTS.md``, 9).
    """
    restrictions = SandboxRestrictions.default.with_passthrough_all_modules()
    return SandboxedWorkflowRunner(restrictions=restrictions)


def create_workers(
    temporal: Client,
    topview: AsyncTopview,
    *,
    task_queue: str = DEFAULT_TASK_QUEUE,
    notice_url: str | None = None,
    limits: WorkerLimits | None = None,
    **worker_options: Any,
) -> Sequence[Worker]:
    """The two workers of one process: workflows and activities on ``task_queue``, submits
    on ``<task_queue>-submits``. Run them together::

        async with AsyncTopview() as topview:
            workers = create_workers(await Client.connect("localhost:7233"), topview)
            async with workers[0], workers[1]:
                await stop.wait()

    ``notice_url``: see :class:`TopviewActivities`. ``worker_options`` go to both
    :class:`~temporalio.worker.Worker` constructors.
    """
    limits = limits or WorkerLimits()
    activities = TopviewActivities(topview, notice_url=notice_url)
    sticky = timedelta(seconds=limits.sticky_queue_timeout)
    worker_options.setdefault("graceful_shutdown_timeout", timedelta(seconds=limits.shutdown_grace))
    worker_options.setdefault("workflow_runner", workflow_runner())
    main = Worker(
        temporal,
        task_queue=task_queue,
        workflows=[JobWorkflow],
        activities=activities.all(),
        max_concurrent_activities=limits.concurrent_activities,
        max_task_queue_activities_per_second=limits.activities_per_second,
        sticky_queue_schedule_to_start_timeout=sticky,
        **worker_options,
    )
    submits = Worker(
        temporal,
        task_queue=task_queue + SUBMIT_QUEUE_SUFFIX,
        activities=[activities.submit],
        max_concurrent_activities=limits.concurrent_submits,
        max_task_queue_activities_per_second=limits.submits_per_second,
        **worker_options,
    )
    return (main, submits)
