"""What a task costs by Topview's documented prices (``x-topview-task.price`` in the spec).

One pure function, read by everything that needs a price: the job engines' credit budget
(``jobs/_budget.py``) and the simulator's charges (``testing/_credits.py``). The prices are
upper bounds (the highest rate over a model's settings), so a budget built on them never
under-counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["documented_cost"]


def documented_cost(kind: str, params: Mapping[str, Any]) -> float | None:
    """The most a ``kind`` task submitted with ``params`` (wire or Python field names) costs
    by the documented prices; ``None`` when the spec has none for it (or for its model)."""
    from ._generated.task_kinds import TASK_KINDS

    spec = TASK_KINDS.get(kind)
    price = spec.price if spec is not None else None
    if price is None:
        return None
    if price.per == "task":
        return price.credits
    model = _read(params, price.model_field)
    entry = price.models.get(str(model)) if model is not None else None
    if entry is None:
        return None
    credits, longest = entry
    count = _number(_read(params, price.count_field)) or 1.0
    if price.per == "item":
        return credits * count
    duration = _number(_read(params, price.duration_field)) or float(longest or 0)
    return credits * duration * count


def _read(params: Mapping[str, Any], field: tuple[str, str] | None) -> object:
    if field is None:
        return None
    wire, python = field
    return params.get(python, params.get(wire))


def _number(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(str(value))
    except ValueError:
        return None
    return number if number > 0 else None
