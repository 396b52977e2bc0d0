"""Request validation with Topview's codes.

Missing required field -> 4003; value outside the documented enum or bounds -> 4000;
wrong JSON type or unparseable value -> 4001 (REFERENCE §2).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any

from ._errors import ApiError


def parse_body(raw: bytes) -> dict[str, Any]:
    """The JSON object of a request body (an empty body counts as ``{}``)."""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ApiError("4001", "body is not valid JSON") from exc
    if not isinstance(value, dict):
        raise ApiError("4001", "body must be a JSON object")
    return value


def _missing(value: Any) -> bool:
    return value is None or value == "" or value == []


def string(
    data: Mapping[str, Any],
    name: str,
    *,
    required: bool = False,
    allowed: Collection[str] | None = None,
) -> str | None:
    """A string field: 4003 when required and absent, 4001 when not a string."""
    value = data.get(name)
    if _missing(value):
        if required:
            raise ApiError("4003", f"{name} is required")
        return None
    if not isinstance(value, str):
        raise ApiError("4001", f"{name} must be a string")
    if allowed is not None and value not in allowed:
        raise ApiError("4000", f"{name} must be one of {', '.join(sorted(allowed))}")
    return value


def integer(
    data: Mapping[str, Any],
    name: str,
    *,
    required: bool = False,
    allowed: Collection[int] | None = None,
    minimum: int | None = None,
    maximum: int | None = None,
    numeric_string: bool = False,
) -> int | None:
    """An integer field; ``numeric_string`` also accepts ``"1"`` (documented as strings)."""
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise ApiError("4003", f"{name} is required")
        return None
    if isinstance(value, str) and numeric_string and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError("4001", f"{name} must be an integer")
    if allowed is not None and value not in allowed:
        raise ApiError("4000", f"{name} must be one of {sorted(allowed)}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ApiError("4000", f"{name} is out of range [{minimum}, {maximum}]")
    return value


def boolean(data: Mapping[str, Any], name: str, *, default: bool = False) -> bool:
    """A boolean field; ``"true"``/``"false"`` are accepted too ([DOCS] types some as string)."""
    value = data.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ApiError("4001", f"{name} must be a boolean")


def number(data: Mapping[str, Any], name: str, *, minimum: float, maximum: float) -> float | None:
    """An optional number within bounds."""
    value = data.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ApiError("4001", f"{name} must be a number")
    if not minimum <= value <= maximum:
        raise ApiError("4000", f"{name} must be between {minimum} and {maximum}")
    return float(value)


def string_list(data: Mapping[str, Any], name: str) -> list[str]:
    """An optional list of strings (4001 when another type)."""
    value = data.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ApiError("4001", f"{name} must be a list of strings")
    return list(value)


def query_int(
    query: Mapping[str, str],
    name: str,
    *,
    default: int,
    minimum: int = 1,
    maximum: int | None = None,
) -> int:
    """An integer query parameter (4001 unparseable, 4000 out of bounds)."""
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ApiError("4001", f"{name} must be an integer") from exc
    if value < minimum or (maximum is not None and value > maximum):
        raise ApiError("4000", f"{name} out of range")
    return value


def query_bool(query: Mapping[str, str], name: str) -> bool:
    """A boolean query parameter (``true``/``false``, ``1``/``0``)."""
    raw = query.get(name, "").lower()
    if raw in ("", "false", "0"):
        return False
    if raw in ("true", "1"):
        return True
    raise ApiError("4001", f"{name} must be a boolean")


def query_string(
    query: Mapping[str, str],
    name: str,
    *,
    required: bool = False,
    allowed: Collection[str] | None = None,
) -> str | None:
    """A string query parameter."""
    return string(query, name, required=required, allowed=allowed)
