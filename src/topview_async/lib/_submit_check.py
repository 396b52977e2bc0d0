"""A submit checked, not sent: ``client.tasks.check_submit(kind, params)``.

The check calls the kind's generated submit method itself, so the argument names, the required
ones and the Python-to-wire mapping are the stub's own. In check mode, :func:`.tasks.submit_task`
runs every check it runs before its first upload (the M2V export's script id, URLs in file-id
fields, local files, AnyShoot masks, the body model with its types and enums, the spec's
cross-field rules) and then stops with :class:`_Checked` instead of uploading or sending.
"""

from __future__ import annotations

import difflib
import functools
import inspect
from collections.abc import Callable, Collection, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING

from .._exceptions import InvalidInputError, UnknownTaskKindError

if TYPE_CHECKING:
    from .._client import AsyncTopview

__all__ = ["check_submit", "checking"]

_CHECKING: ContextVar[bool] = ContextVar("topview_async_check_submit", default=False)


class _Checked(Exception):
    """Raised by ``submit_task`` in check mode once every local check passed."""


def checking() -> bool:
    """Whether the submit being made is only checked (see :func:`check_submit`)."""
    return _CHECKING.get()


async def check_submit(client: AsyncTopview, kind: str, params: Mapping[str, object]) -> None:
    """Check ``params`` as the keyword arguments of ``kind``'s submit; nothing is sent.

    Raises :class:`UnknownTaskKindError` or :class:`InvalidInputError` naming the argument.
    """
    from .._generated.task_kinds import TASK_KINDS

    spec = TASK_KINDS.get(kind)
    if spec is None:
        raise UnknownTaskKindError(kind, TASK_KINDS)
    operation = spec.submit_operation
    method = getattr(getattr(client, operation.resource), operation.sdk_method or "submit")
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
    token = _CHECKING.set(True)
    try:
        await method(**params)
    except _Checked:
        return
    finally:
        _CHECKING.reset(token)
    raise AssertionError(f"{call} returned in check mode")  # pragma: no cover


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
