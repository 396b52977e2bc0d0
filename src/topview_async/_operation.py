"""Static description of one Topview operation, generated from the spec.

The request pipeline needs to know, for every call, which HTTP method and path to
use and whether the call may be retried freely (a read) or only where the request
provably never reached Topview (a paid submit). That knowledge lives in the spec
(``x-topview-kind``) and reaches the pipeline through these objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

OperationKind = Literal["read", "submit", "write"]
"""``read``: safe to repeat (GET lookups, queries, upload checks).
``submit``: creates a paid task; retried only when the request provably was not processed.
``write``: changes state without creating a paid task (script update, notice URL check);
retried like a submit, because repeating it is not known to be harmless."""


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation of ``openapi/topview.yaml``."""

    operation_id: str
    method: Literal["GET", "POST", "PUT", "DELETE"]
    path: str
    kind: OperationKind
    resource: str
    """The client attribute the operation lives on, for example ``marketing_videos``."""
    task_kind: str | None = None
    """For submits (and the queries that poll them): the task kind, for example ``m2v``."""

    def __str__(self) -> str:
        return f"{self.operation_id} ({self.method} {self.path})"


@dataclass(frozen=True, slots=True)
class TaskKindSpec:
    """How a kind of long-running task is polled; generated from ``x-topview-task``."""

    kind: str
    """For example ``m2v``, ``m2v_export``, ``video_avatar``."""
    submit_operation: Operation
    query_operation: Operation
    result_type: type[object]
    """The typed model of the query operation's ``result``."""
