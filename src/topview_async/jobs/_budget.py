"""The credit budget (``max_credits``): does this submit fit? Pure functions, both engines.

A submit is sent only when what the run has spent, plus the most every job still in flight
can cost, plus the most this job can cost, stays within the budget (:func:`budget_allows`).
The most a job can cost (:func:`max_job_cost`) comes from the spec's documented prices
(``x-topview-task.price``), else the largest cost seen for the kind, else the user's
``max_cost_per_job``; a kind with none of these has no bound, and budget mode refuses to
start (:func:`job_bounds`) rather than guess.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .._exceptions import ConfigurationError
from .._pricing import documented_cost
from ._model import Job

__all__ = ["budget_allows", "documented_cost", "job_bounds", "max_job_cost"]


def max_job_cost(
    kind: str,
    params: Mapping[str, Any],
    *,
    seen: Mapping[str, float] | None = None,
    max_cost_per_job: float | None = None,
) -> float | None:
    """The most one job can cost: its documented price, else the largest cost ``seen`` for
    its kind, else ``max_cost_per_job``; ``None``: no bound is known."""
    documented = documented_cost(kind, params)
    if documented is not None:
        return documented
    if seen and kind in seen:
        return seen[kind]
    return max_cost_per_job


def job_bounds(
    jobs: Iterable[Job],
    *,
    seen: Mapping[str, float] | None = None,
    max_cost_per_job: float | None = None,
) -> dict[str, float]:
    """The cost bound of every job, by key; :class:`ConfigurationError` naming the kinds
    without one (budget mode does not start without a bound for every job)."""
    bounds: dict[str, float] = {}
    unbounded: set[str] = set()
    for job in jobs:
        bound = max_job_cost(job.kind, job.params, seen=seen, max_cost_per_job=max_cost_per_job)
        if bound is None:
            unbounded.add(job.kind)
        else:
            bounds[job.key] = bound
    if unbounded:
        raise ConfigurationError(
            f"--max-credits needs to know the most a job can cost; no documented price and "
            f"no cost seen yet for {', '.join(sorted(unbounded))}: give --max-cost-per-job "
            "(max_cost_per_job=) as that bound"
        )
    return bounds


def budget_allows(*, budget: float, spent: float, in_flight: float, this_job: float) -> bool:
    """Whether a submit fits: ``spent`` + the most the jobs ``in_flight`` can still cost +
    the most ``this_job`` can cost is within ``budget``."""
    return spent + in_flight + this_job <= budget
