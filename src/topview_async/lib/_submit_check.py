"""A submit checked, not sent: ``client.tasks.check_submit(kind, params)``.

The check calls the kind's generated submit method itself, so the argument names, the required
ones and the Python-to-wire mapping are the stub's own. In check mode, :func:`.tasks.submit_task`
runs every check it runs before its first upload (the M2V export's script id, URLs in file-id
fields, local files, AnyShoot masks, the body model with its types and enums, the spec's
cross-field rules) and then stops with :class:`_Checked` instead of uploading or sending.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Mapping
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
    accepted = {
        name: parameter
        for name, parameter in inspect.signature(method).parameters.items()
        if parameter.kind in (parameter.KEYWORD_ONLY, parameter.POSITIONAL_OR_KEYWORD)
    }
    call = f"{operation.resource}.{operation.sdk_method or 'submit'}()"
    unknown = [name for name in params if name not in accepted]
    if unknown:
        raise InvalidInputError(
            "; ".join(
                f"unknown argument {name!r} of {call}{_hint(name, accepted)}" for name in unknown
            ),
            operation=operation,
        )
    missing = [
        name
        for name, parameter in accepted.items()
        if parameter.default is parameter.empty and params.get(name) is None
    ]
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


def _hint(name: str, accepted: Mapping[str, object]) -> str:
    close = difflib.get_close_matches(name, list(accepted), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
