"""Local checks of arguments that the body model alone cannot express.

Two kinds, both run before anything is sent or uploaded and both raise
:class:`InvalidInputError` naming the Python argument (the wire name follows in brackets):

* :func:`require`: a required argument given as ``None`` (the generated methods call it first,
  so ``query(task_id=None)`` never becomes a request without ``taskId``);
* :func:`check_body_rules`: the cross-field rules of a request schema's ``x-sdk-rules`` in the
  spec ("at least one of", "required when absent", "required when equal to", ...), generated
  into ``_generated/rules.py`` and applied by :func:`topview_async._wire.validate_body`, which
  the pipeline runs for every request and the task layer runs before uploading a submit's files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._exceptions import InvalidInputError

if TYPE_CHECKING:
    from ._operation import FieldName, Operation

__all__ = ["BodyRule", "check_body_rules", "require"]


def require(operation: Operation, /, **arguments: object) -> None:
    """Raise for the first of ``arguments`` (all required) that is ``None``."""
    for name, value in arguments.items():
        if value is None:
            raise InvalidInputError(
                f"{name} is required by {operation.operation_id}; got None", operation=operation
            )


@dataclass(frozen=True, slots=True)
class BodyRule:
    """One ``x-sdk-rules`` entry: when every condition holds, every demand must hold.

    Conditions (all must hold; none means always): ``absent`` fields are missing, ``null``,
    empty strings or empty lists; ``equals`` fields have one of the given values (compared as
    text, so ``0`` and ``"0"`` match, as the API accepts both); ``not_equals`` fields are absent
    or have none of the given values. Demands: at least one of ``any_of`` is present; every
    ``required`` field is present; every ``min_items`` list has at least that many items.
    """

    any_of: tuple[FieldName, ...] = ()
    required: tuple[FieldName, ...] = ()
    min_items: tuple[tuple[FieldName, int], ...] = ()
    absent: tuple[FieldName, ...] = ()
    equals: tuple[tuple[FieldName, tuple[object, ...]], ...] = ()
    not_equals: tuple[tuple[FieldName, tuple[object, ...]], ...] = ()
    description: str = ""


def _present(body: Mapping[str, object], field: FieldName) -> bool:
    value = body.get(field[0])
    return value is not None and value != "" and value != [] and value != ()


def _matches(body: Mapping[str, object], field: FieldName, values: tuple[object, ...]) -> bool:
    return _present(body, field) and str(body[field[0]]) in {str(v) for v in values}


def _name(field: FieldName) -> str:
    return f"{field[1]} ({field[0]})"


def _condition(rule: BodyRule) -> str:
    parts = [f"{_name(f)} is not given" for f in rule.absent]
    parts += [f"{_name(f)} is {' or '.join(map(repr, v))}" for f, v in rule.equals]
    parts += [f"{_name(f)} is not {' or '.join(map(repr, v))}" for f, v in rule.not_equals]
    return " when " + " and ".join(parts) if parts else ""


def _applies(rule: BodyRule, body: Mapping[str, object]) -> bool:
    return (
        all(not _present(body, f) for f in rule.absent)
        and all(_matches(body, f, v) for f, v in rule.equals)
        and all(not _matches(body, f, v) for f, v in rule.not_equals)
    )


def check_body_rules(
    operation: Operation, body: Mapping[str, object], rules: tuple[BodyRule, ...]
) -> None:
    """Raise :class:`InvalidInputError` for the first rule the wire ``body`` breaks."""
    for rule in rules:
        if not _applies(rule, body):
            continue
        problem = None
        if rule.any_of and not any(_present(body, f) for f in rule.any_of):
            problem = "give at least one of " + ", ".join(_name(f) for f in rule.any_of)
        missing = [f for f in rule.required if not _present(body, f)]
        if problem is None and missing:
            problem = ", ".join(_name(f) for f in missing) + " is required"
        for field, minimum in rule.min_items:
            value = body.get(field[0])
            count = len(value) if isinstance(value, list | tuple) else 0
            if problem is None and count < minimum:
                problem = f"{_name(field)} needs at least {minimum} items, got {count}"
        if problem is not None:
            why = f" ({rule.description})" if rule.description else ""
            raise InvalidInputError(
                f"invalid arguments for {operation}: {problem}{_condition(rule)}{why}",
                operation=operation,
            )
