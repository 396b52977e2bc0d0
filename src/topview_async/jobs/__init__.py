"""Durable batch jobs: many submits, waits and downloads that survive crashes.

::

    from topview_async import AsyncTopview
    from topview_async.jobs import Job, JobRunner

    jobs = [Job(f"shoe-{n}", "m2v", {"product_link": link}) for n, link in enumerate(links)]
    async with AsyncTopview() as client, JobRunner(client, "out/shoes") as runner:
        summary = await runner.run(jobs)

Every step is journaled (SQLite in ``out/shoes/journal.sqlite3`` by default) before it is
acted on, so running the same jobs again after a crash skips finished jobs, resumes the
others, and never submits twice a job whose first submit may have reached Topview.
The files of each job are saved as ``out/shoes/<key>.<ext>``, listed with their sha256 in
``out/shoes/manifest.jsonl``. The ``topview batch`` command runs the same runner.
"""

from __future__ import annotations

from .._exceptions import JobsFileError
from ._decide import (
    DEFAULT_ENGINE_SETTINGS,
    Action,
    Delivery,
    EngineSettings,
    Step,
    SubmitDecision,
    SubmitReason,
    SubmitVerdict,
    decide_submit_failure,
    transition,
)
from ._journal import Journal, MemoryJournal
from ._model import Job, JobRecord, JobStatus, load_jobs, read_jobs
from ._notices import JobNoticeApp, job_reference
from ._output import MANIFEST_NAME
from ._runner import DEFAULT_JOURNAL_NAME, JobRunner, RunSummary
from ._sqlite import SqliteJournal
from ._steps import JobSteps, TaskCheck, reconcilable
from ._submit import job_notice_url, submit_method, task_kinds

__all__ = [
    "DEFAULT_ENGINE_SETTINGS",
    "DEFAULT_JOURNAL_NAME",
    "MANIFEST_NAME",
    "Action",
    "Delivery",
    "EngineSettings",
    "Job",
    "JobNoticeApp",
    "JobRecord",
    "JobRunner",
    "JobStatus",
    "JobSteps",
    "JobsFileError",
    "Journal",
    "MemoryJournal",
    "RunSummary",
    "SqliteJournal",
    "Step",
    "SubmitDecision",
    "SubmitReason",
    "SubmitVerdict",
    "TaskCheck",
    "decide_submit_failure",
    "job_notice_url",
    "job_reference",
    "load_jobs",
    "read_jobs",
    "reconcilable",
    "submit_method",
    "task_kinds",
    "transition",
]
