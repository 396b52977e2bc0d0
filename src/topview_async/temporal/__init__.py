"""Topview jobs as Temporal workflows: many machines, deploys mid-run, callbacks anywhere.

Needs the ``temporal`` extra (``pip install "topview-async[temporal]"``). A job is the batch
runner's (:class:`~topview_async.jobs.Job`: key, task kind, submit keyword arguments); each
runs as one :class:`JobWorkflow` whose id is derived from the key, so starting it twice
never makes a second workflow or a second paid task::

    from temporalio.client import Client
    from topview_async import AsyncTopview
    from topview_async.jobs import read_jobs
    from topview_async.temporal import create_workers, follow_jobs, start_jobs

    temporal = await Client.connect("localhost:7233")
    async with AsyncTopview() as topview:                      # a worker process
        async with create_workers(temporal, topview)[0], ...:  # see create_workers
            ...
    handles = await start_jobs(temporal, read_jobs("jobs.jsonl"), "/shared/out")
    states = await follow_jobs(handles)

or from the shell: ``topview temporal worker`` on each worker host and
``topview batch run jobs.jsonl --out /shared/out --engine temporal``. Callbacks:
:class:`TemporalNoticeApp`. The README draws who talks to whom.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import _lazy

if TYPE_CHECKING:
    from ._activities import TopviewActivities, file_parameters
    from ._errors import read_failure, submit_failure
    from ._model import JobInput, JobOptions, JobState, TaskCheck, TaskNoticeSignal
    from ._names import DEFAULT_TASK_QUEUE, SUBMIT_QUEUE_SUFFIX, WORKFLOW_ID_PREFIX, workflow_id
    from ._notices import TemporalNoticeApp
    from ._start import JobHandles, follow_jobs, job_handle, run_jobs, start_job, start_jobs
    from ._worker import WorkerLimits, create_workers
    from ._workflow import JobWorkflow

__all__ = [
    "DEFAULT_TASK_QUEUE",
    "SUBMIT_QUEUE_SUFFIX",
    "WORKFLOW_ID_PREFIX",
    "JobHandles",
    "JobInput",
    "JobOptions",
    "JobState",
    "JobWorkflow",
    "TaskCheck",
    "TaskNoticeSignal",
    "TemporalNoticeApp",
    "TopviewActivities",
    "WorkerLimits",
    "create_workers",
    "file_parameters",
    "follow_jobs",
    "job_handle",
    "read_failure",
    "run_jobs",
    "start_job",
    "start_jobs",
    "submit_failure",
    "workflow_id",
]

# Loaded on first use: Temporal's workflow sandbox imports this package again for each
# workflow, and it must find nothing here but names (the activities' imports would fail it).
_HOMES = {
    "TopviewActivities": "._activities",
    "file_parameters": "._activities",
    "read_failure": "._errors",
    "submit_failure": "._errors",
    "JobInput": "._model",
    "JobOptions": "._model",
    "JobState": "._model",
    "TaskCheck": "._model",
    "TaskNoticeSignal": "._model",
    "TemporalNoticeApp": "._notices",
    "JobHandles": "._start",
    "follow_jobs": "._start",
    "run_jobs": "._start",
    "job_handle": "._start",
    "start_job": "._start",
    "start_jobs": "._start",
    "DEFAULT_TASK_QUEUE": "._names",
    "WorkerLimits": "._worker",
    "create_workers": "._worker",
    "JobWorkflow": "._workflow",
    "SUBMIT_QUEUE_SUFFIX": "._names",
    "WORKFLOW_ID_PREFIX": "._names",
    "workflow_id": "._names",
}


def __getattr__(name: str) -> Any:
    return _lazy.attribute(__name__, _HOMES, name, globals())


def __dir__() -> list[str]:
    return sorted(__all__)
