"""Behaviour every endpoint gets from the spec alone, so adding one needs no simulator code.

A submit's body is validated like the SDK validates it (the generated body model and the
spec's ``x-sdk-rules``), its ``x-topview-file`` fields must name uploaded files (nested ones
included), ``boardId`` must exist and ``noticeUrl`` be an http(s) URL; then a task of the
operation's kind is created. A task query answers with the kind's result, built by the
builder registered for the kind's result model. Endpoints with rules of their own (chains
of tasks, per-model limits, documented error codes) register a handler in ``_app``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from .._exceptions import InvalidInputError
from .._operation import Operation
from . import _validation as v
from ._errors import ApiError, envelope

if TYPE_CHECKING:
    from ._simulator import Simulator

Handler = Callable[[Request, "Simulator"], Awaitable[Response]]


def submit(operation: Operation) -> Handler:
    """The spec-driven submit of ``operation`` (a paid task of ``operation.task_kind``)."""
    kind = operation.task_kind
    if kind is None:
        raise ValueError(f"{operation} declares no task kind")

    async def handler(request: Request, sim: Simulator) -> Response:
        from .._generated import models
        from .._wire import validate_body
        from ..lib._file_inputs import file_values
        from ._routes_generative import _submit

        body = v.parse_body(await request.body())
        model = getattr(models, operation.body_model) if operation.body_model else None
        try:
            validate_body(operation, body, model)
        except InvalidInputError as error:
            code = "4003" if "required" in str(error) or "Field required" in str(error) else "4000"
            raise ApiError(code, str(error)) from error
        files = [value for value in file_values(body, operation) if value is not None]
        if not all(isinstance(value, str) for value in files):
            raise ApiError("4001", "file ids must be strings")
        sim.require_files(sim.uid_of(request), *(str(value) for value in files))
        return envelope(sim.submit_result(_submit(sim, request, kind, body)))

    return handler
