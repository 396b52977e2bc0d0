"""Names shared by workers, starters and the command line (no temporalio import here, so
``topview --help`` can show them as defaults)."""

from __future__ import annotations

__all__ = ["DEFAULT_TASK_QUEUE", "SUBMIT_QUEUE_SUFFIX", "WORKFLOW_ID_PREFIX", "workflow_id"]

DEFAULT_TASK_QUEUE = "topview"
WORKFLOW_ID_PREFIX = "topview-job-"
SUBMIT_QUEUE_SUFFIX = "-submits"
"""Submits run on their own task queue (``<queue>-submits``), whose rate limit and worker
concurrency are the cluster-wide limits on paid submits."""


def workflow_id(key: str, prefix: str = WORKFLOW_ID_PREFIX) -> str:
    """The id of the workflow that runs job ``key``: one job, one workflow."""
    return f"{prefix}{key}"
