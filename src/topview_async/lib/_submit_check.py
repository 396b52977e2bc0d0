"""A submit stopped before it is sent: checked (``client.tasks.check_submit``) or prepared
(``client.tasks.prepare``: checked, then its local files uploaded).

Both call the kind's generated submit method itself, so the argument names, the required ones
and the Python-to-wire mapping are the stub's own. Under :func:`run_until`,
:func:`.tasks.submit_task` runs every check it runs before its first upload (the M2V export's
script id, URLs in file-id fields, local files, AnyShoot masks, the body model with its types
and enums, the spec's cross-field rules) and stops with :class:`_Stopped` at the stop point
asked for ("check": before any upload; "prepare": after the uploads), never sending the submit.
"""

from __future__ import annotations

import difflib
import functools
import inspect
from collections.abc import Awaitable, Callable, Collection, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Literal

from .._exceptions import InvalidInputError, UnknownTaskKindError

if TYPE_CHECKING:
    from .._client import AsyncTopview
    from .._models import TopviewModel
    from .._operation import Operation
    from .tasks import Task

__all__ = [
    "check_submit",
    "operation_method",
    "prepare_submit",
    "stop_point",
    "submit_method",
]

StopPoint = Literal["check", "prepare"]
_STOP: ContextVar[StopPoint | None] = ContextVar("topview_async_submit_stop", default=None)


class _Stopped(Exception):
    """Raised by ``submit_task`` at the stop point; never leaves :func:`run_until`.

    ``body``: the request body as it would be sent (after uploads, for "prepare").
    """

    def __init__(
        self,
        body: Mapping[str, object] | None = None,
        body_model: type[TopviewModel] | None = None,
    ) -> None:
        self.body = body
        self.body_model = body_model


def stop_point() -> StopPoint | None:
    """Where the submit being made stops (``None``: it is sent)."""
    return _STOP.get()


async def run_until(
    stop: StopPoint, method: Callable[..., Awaitable[Any]], params: Mapping[str, object]
) -> _Stopped:
    """Call a generated submit ``method`` with ``params`` and stop it at ``stop``."""
    token = _STOP.set(stop)
    try:
        await method(**params)
    except _Stopped as stopped:
        return stopped
    finally:
        _STOP.reset(token)
    raise AssertionError(f"{method} returned instead of stopping at {stop!r}")


def operation_method(client: AsyncTopview, operation: Operation) -> Callable[..., Awaitable[Any]]:
    """The bound resource method of a generated ``operation`` (``x-sdk-resource`` and
    ``x-sdk-method`` of the spec) on ``client``."""
    resource = getattr(client, operation.resource)
    method: Callable[..., Awaitable[Any]] = getattr(resource, operation.sdk_method or "submit")
    return method


def submit_method(client: AsyncTopview, kind: str) -> Callable[..., Awaitable[Task[Any]]]:
    """The bound submit method of ``kind`` (``UnknownTaskKindError`` if unknown): the
    resource and method the generated table names for the kind's submit operation."""
    from .._generated.task_kinds import TASK_KINDS

    spec = TASK_KINDS.get(kind)
    if spec is None:
        raise UnknownTaskKindError(kind, TASK_KINDS)
    return operation_method(client, spec.submit_operation)


async def prepare_submit(
    client: AsyncTopview, kind: str, params: Mapping[str, Any]
) -> dict[str, Any]:
    """Check a submit of ``kind`` and upload its local files; send nothing else.

    Every check the submit itself makes runs first (arguments, file existence and format,
    the whole body with placeholder ids), so a bad argument costs no upload. Returns
    ``params`` with each local file replaced by its file id: submitting them uploads nothing.
    """
    from .._generated.task_kinds import TASK_KINDS

    stopped = await run_until("prepare", submit_method(client, kind), params)
    body, model = stopped.body or {}, stopped.body_model
    result = dict(params)
    for name in TASK_KINDS[kind].file_parameters:
        if name in result:
            field = None if model is None else model.model_fields.get(name)
            wire = (field.alias if field is not None else None) or name
            result[name] = body.get(wire, result[name])
    return result


async def check_submit(client: AsyncTopview, kind: str, params: Mapping[str, object]) -> None:
    """Check ``params`` as the keyword arguments of ``kind``'s submit; nothing is sent.

    Raises :class:`UnknownTaskKindError` or :class:`InvalidInputError` naming the argument.
    """
    from .._generated.task_kinds import TASK_KINDS

    method = submit_method(client, kind)
    operation = TASK_KINDS[kind].submit_operation
    accepted, required = _arguments(getattr(method, "__func__", method))
    call = f"{operation.resource}.{operation.sdk_method or 'submit'}()"
    unknown = [name for name in params if name not in accepted]
    if unknown:
        raise InvalidInputError(
            "; ".join(
                f"unknown argument {name!r} of {call}{_hint(name, accepted)}" for name in unknown
            ),
            operation=operation,
        )
    missing = [name for name in required if params.get(name) is None]
    if missing:
        raise InvalidInputError(f"{call} needs {', '.join(missing)}", operation=operation)
    await run_until("check", method, params)


@functools.cache
def _arguments(function: Callable[..., object]) -> tuple[frozenset[str], tuple[str, ...]]:
    """The keyword arguments a stub accepts, and those it requires (a signature is slow to
    build: once per stub, not once per job of a large batch)."""
    parameters = [
        parameter
        for parameter in inspect.signature(function).parameters.values()
        if parameter.kind in (parameter.KEYWORD_ONLY, parameter.POSITIONAL_OR_KEYWORD)
        and parameter.name != "self"
    ]
    required = tuple(p.name for p in parameters if p.default is p.empty)
    return frozenset(p.name for p in parameters), required


def _hint(name: str, accepted: Collection[str]) -> str:
    close = difflib.get_close_matches(name, list(accepted), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
