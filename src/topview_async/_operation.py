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
    sdk_method: str | None = None
    """The method on the resource (``x-sdk-method``), for example ``submit``: with ``resource``
    it names the call, so a task kind leads to its submit method without a second table."""
    body_model: str | None = None
    """Name of the request body's generated model (``topview_async.types``), if it has one."""
    file_fields: tuple[ResultPath, ...] = ()
    """Every request-body field that takes a Topview file id (``x-topview-file``), nested ones
    included (``inputImages[].fileId``): where local paths are uploaded and replaced."""

    def __str__(self) -> str:
        return f"{self.operation_id} ({self.method} {self.path})"


FieldName = tuple[str, str]
"""``(wire name, Python name)`` of a result field, for example ``("outputVideoUrl", ...)``."""


@dataclass(frozen=True, slots=True)
class ResultStep:
    """One step of a ``resultFiles`` path of the spec (``videos[]``, ``originVideo``, ...)."""

    names: tuple[FieldName, ...]
    """The field, or alternative spellings of it (``a|b`` in the spec): the first present wins."""
    each: bool = False
    """``[]`` in the spec: the field is a list and every item is followed."""


ResultPath = tuple[ResultStep, ...]


@dataclass(frozen=True, slots=True)
class ReconcileSpec:
    """How a submit of unknown outcome is found again (``x-topview-task.reconcile``)."""

    list_operation: Operation
    """A paginated read listing this kind's tasks, newest first."""
    match_fields: tuple[FieldName, ...]
    """Request fields a listed task shows, compared with the job's."""


@dataclass(frozen=True, slots=True)
class PriceSpec:
    """Documented prices of a kind (``x-topview-task.price``): the most a task can cost."""

    per: Literal["second", "item", "task"]
    """``second``: credits per second of video; ``item``: credits per image; ``task``: a flat
    price per task, whatever its settings (``credits``)."""
    model_field: FieldName | None
    duration_field: FieldName | None
    count_field: FieldName | None
    models: dict[str, tuple[float, int | None]]
    """Model -> (the highest credits per unit over its settings, longest duration in s)."""
    credits: float | None = None
    """``per: task`` only: what one task costs."""


class TaskKindSpec:
    """Everything known about one kind of long-running task; generated from ``x-topview-task``.

    ``result_type`` may be given as the name of a model in ``topview_async._generated.models``:
    the generated table does that so importing it does not import (and build) every model;
    the name is resolved on first use.
    """

    __slots__ = (
        "_result_type",
        "biz_types",
        "charged_on_failure",
        "credit_task_type",
        "file_parameters",
        "kind",
        "price",
        "query_operation",
        "reconcile",
        "result_files",
        "status_fallbacks",
        "status_field",
        "submit_operation",
    )

    kind: str
    """For example ``m2v``, ``m2v_export``, ``video_avatar``."""
    submit_operation: Operation
    query_operation: Operation
    biz_types: tuple[str, ...]
    """The callback ``bizType`` values that belong to this kind."""
    status_field: FieldName
    """Where the query result holds the task status."""
    status_fallbacks: tuple[FieldName, ...]
    """Other places the status may be in (UNCONFIRMED shapes), read when the first is absent."""
    result_files: tuple[ResultPath, ...]
    """Where the query result holds the URLs of the task's output files."""
    file_parameters: tuple[str, ...]
    """Python names of the submit arguments that take a file id or a local path."""
    reconcile: ReconcileSpec | None
    """How a submit of unknown outcome is found again; ``None``: it cannot be."""
    price: PriceSpec | None
    """Documented prices; ``None``: not documented."""
    credit_task_type: str | None
    """The ``taskType`` the credit log files this kind's charges under; ``None``: not documented."""
    charged_on_failure: bool
    """``False``: Topview does not charge a failed task of this kind."""

    def __init__(
        self,
        *,
        kind: str,
        submit_operation: Operation,
        query_operation: Operation,
        result_type: type[object] | str,
        biz_types: tuple[str, ...] = (),
        status_field: FieldName = ("status", "status"),
        status_fallbacks: tuple[FieldName, ...] = (),
        result_files: tuple[ResultPath, ...] = (),
        file_parameters: tuple[str, ...] = (),
        reconcile: ReconcileSpec | None = None,
        price: PriceSpec | None = None,
        credit_task_type: str | None = None,
        charged_on_failure: bool = True,
    ) -> None:
        self.kind = kind
        self.submit_operation = submit_operation
        self.query_operation = query_operation
        self._result_type = result_type
        self.biz_types = biz_types
        self.status_field = status_field
        self.status_fallbacks = status_fallbacks
        self.result_files = result_files
        self.file_parameters = file_parameters
        self.reconcile = reconcile
        self.price = price
        self.credit_task_type = credit_task_type
        self.charged_on_failure = charged_on_failure

    @property
    def result_model(self) -> str:
        """The name of the result model (without building it)."""
        result_type = self._result_type
        return result_type if isinstance(result_type, str) else result_type.__name__

    @property
    def result_type(self) -> type[object]:
        """The typed model of the query operation's ``result``."""
        result_type = self._result_type
        if isinstance(result_type, str):
            from ._generated import models

            result_type = getattr(models, result_type)
            assert isinstance(result_type, type)
            self._result_type = result_type
        return result_type

    def __repr__(self) -> str:
        return (
            f"TaskKindSpec(kind={self.kind!r}, submit_operation={self.submit_operation!r}, "
            f"query_operation={self.query_operation!r}, result_type={self._result_type!r})"
        )
