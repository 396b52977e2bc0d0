"""Lenient results: the declared type, built from data that does not match the spec.

With ``AsyncTopview(strict_responses=False)`` a ``result`` that fails validation is still
returned as the type the method declares, never as a plain dict, so code written against
the types keeps working. What validates is validated; what does not is built without
validation (pydantic's ``model_construct``), recursively:

* a model from an object: each field validated on its own; a field that does not fit its
  type keeps the value as received; a missing required field is ``None``; unknown fields
  are kept in ``model_extra`` as always;
* a list from a list, item by item; a dict from an object, value by value;
* a union (``anyOf``) as its first member that can be built from the value.

The outer shape must hold: a model needs an object, a list needs a list, and a ``bool`` or
another plain value must validate. When it does not (an array where an object was
declared, a string where a boolean was), nothing honest can be built, so
:func:`build_leniently` says why instead, and the pipeline raises
:class:`ResponseValidationError` even in lenient mode. Inside a model, the same mismatch
keeps the raw value in that field instead (that is what "without validation" means there).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from typing import Any, Final

import pydantic
from pydantic_core import PydanticUndefined

__all__ = ["build_leniently"]


class _ShapeMismatch(Exception):
    """The value cannot be built into the declared type at all."""


_ADAPTERS: Final[dict[object, pydantic.TypeAdapter[Any]]] = {}
"""One adapter per field type: only results that failed validation come here, but a wait on
a task whose results keep failing comes again and again."""

_UNION_ORIGINS: Final = (typing.Union, types.UnionType)


def build_leniently(type_: Any, value: object) -> tuple[Any, str | None]:
    """``value`` as ``type_``: validated where it validates, built without validation where
    it does not. Returns ``(built, None)``, or ``(None, why)`` when not even the outer shape
    fits."""
    try:
        return _build(type_, value), None
    except _ShapeMismatch as mismatch:
        return None, str(mismatch)


def _validated(type_: Any, value: object) -> tuple[bool, Any]:
    try:
        adapter = _ADAPTERS.get(type_)
        if adapter is None:
            adapter = _ADAPTERS.setdefault(type_, pydantic.TypeAdapter(type_))
    except TypeError:  # an unhashable type form
        adapter = pydantic.TypeAdapter(type_)
    try:
        return True, adapter.validate_python(value)
    except pydantic.ValidationError:
        return False, None


def _build(type_: Any, value: object) -> Any:
    valid, validated = _validated(type_, value)
    if valid:
        return validated
    origin = typing.get_origin(type_)
    args = typing.get_args(type_)
    if origin is typing.Annotated:
        return _build(args[0], value)
    if _is_model(type_):
        if isinstance(value, Mapping):
            return _model(type_, value)
        raise _ShapeMismatch(f"{type_.__name__} needs an object, got {type(value).__name__}")
    if origin in _UNION_ORIGINS:
        for member in args:
            try:
                return _build(member, value)
            except _ShapeMismatch:
                continue
        raise _ShapeMismatch(f"no member of {type_} fits a {type(value).__name__}")
    if origin is list and isinstance(value, list):
        return [_build(args[0], item) if args else item for item in value]
    if origin is dict and isinstance(value, Mapping):
        item_type = args[1] if len(args) == 2 else Any
        return {key: _build(item_type, item) for key, item in value.items()}
    raise _ShapeMismatch(f"{type(value).__name__} is not {type_}")


def _inner(type_: Any, value: object) -> Any:
    """Inside a model: as :func:`_build`, but a value that does not fit is kept as it is,
    and so is each list item or dict value that does not."""
    valid, validated = _validated(type_, value)
    if valid:
        return validated
    origin = typing.get_origin(type_)
    args = typing.get_args(type_)
    if origin is typing.Annotated:
        return _inner(args[0], value)
    if origin in _UNION_ORIGINS:
        # The member the value's outer shape fits, built leniently inside.
        for member in args:
            if _fits_outer(member, value):
                return _inner(member, value)
        return value
    if origin is list and isinstance(value, list) and args:
        return [_inner(args[0], item) for item in value]
    if origin is dict and isinstance(value, Mapping) and len(args) == 2:
        return {key: _inner(args[1], item) for key, item in value.items()}
    if _is_model(type_) and isinstance(value, Mapping):
        return _model(type_, value)
    return value


def _fits_outer(type_: Any, value: object) -> bool:
    origin = typing.get_origin(type_)
    if origin is typing.Annotated:
        return _fits_outer(typing.get_args(type_)[0], value)
    if _is_model(type_):
        return isinstance(value, Mapping)
    if origin is list:
        return isinstance(value, list)
    if origin is dict:
        return isinstance(value, Mapping)
    if origin in _UNION_ORIGINS:
        return any(_fits_outer(member, value) for member in typing.get_args(type_))
    return False


def _is_model(type_: Any) -> typing.TypeGuard[type[pydantic.BaseModel]]:
    return isinstance(type_, type) and issubclass(type_, pydantic.BaseModel)


def _model(model: type[pydantic.BaseModel], data: Mapping[str, Any]) -> pydantic.BaseModel:
    """``model`` built without validation: fields leniently, unknown keys as extra."""
    if not model.__pydantic_complete__:
        # A model that refers to models defined after it is finished on first validation;
        # a TypeAdapter of it does not do that, and its fields are forward references until then.
        model.model_rebuild()
    remaining = dict(data)
    values: dict[str, Any] = {}
    fields_set: set[str] = set()
    for name, field in model.model_fields.items():
        wire = field.alias if isinstance(field.alias, str) else name
        key = wire if wire in remaining else name if name in remaining else None
        if key is None:
            default = field.get_default(call_default_factory=True, validated_data={})
            # A missing required field reads as None rather than raising AttributeError.
            values[name] = None if default is PydanticUndefined else default
            continue
        raw = remaining.pop(key)
        remaining.pop(name, None)
        values[name] = _inner(field.annotation, raw)
        fields_set.add(name)
    # Both spellings of every field are gone, so what is left is extra (kept when the
    # model allows extra fields, as every Topview model does).
    return model.model_construct(fields_set, **values, **remaining)
