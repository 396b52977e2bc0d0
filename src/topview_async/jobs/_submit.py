"""From a task kind to the call that submits it, read off the generated operation table.

The spec's ``x-topview-task.kind`` sits on each submit operation, together with its
resource (``x-sdk-resource`` of its tag) and method (``x-sdk-method``); so ``m2v`` leads to
``client.marketing_videos.submit`` without a second, handwritten table.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

__all__ = ["ATTEMPT_PARAMETER", "JOB_PARAMETER", "job_notice_url", "submit_method", "task_kinds"]

JOB_PARAMETER = "job"
"""Query parameter of the notice URL naming the job (see :func:`job_notice_url`)."""
ATTEMPT_PARAMETER = "attempt"


def task_kinds() -> list[str]:
    """Every task kind a job may name."""
    from .._generated.task_kinds import TASK_KINDS

    return sorted(TASK_KINDS)


def submit_method(client: Any, kind: str) -> Callable[..., Awaitable[Any]]:
    """The bound submit method of ``kind`` on ``client`` (``UnknownTaskKindError`` if unknown).

    Kept for callers of this name; engines call ``client.tasks.submit(kind, **params)``.
    """
    from ..lib._submit_check import submit_method as _submit_method

    return _submit_method(client, kind)


def job_notice_url(notice_url: str, key: str, attempt: int) -> str:
    """``notice_url`` with the job's reference added: ``?job=<key>&attempt=<n>``.

    A callback then names the job (and which submit of it) even when the submit's response
    was lost, so the task id can be recorded from the callback alone.
    """
    parts = urlsplit(notice_url)
    extra = urlencode({JOB_PARAMETER: key, ATTEMPT_PARAMETER: str(attempt)})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
