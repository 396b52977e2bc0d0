"""When to poll next: geometric backoff at first, then a schedule learned per task kind.

Why the learned schedule looks the way it does. Let ``f`` be the distribution of a kind's
durations, ``S`` its survival function and ``λ(t)`` the poll density at task age ``t``.
A task finishing at ``T`` is seen on average ``1 / (2 λ(T))`` later, and it costs
``∫₀ᵀ λ`` polls. Minimising the expected delay ``∫ f / (2λ)`` for a given expected
number of polls ``∫ S λ`` (Lagrange) gives::

    λ(t) = k · sqrt(f(t) / S(t))        (the square root of the hazard rate)

(Counting polls over the whole horizon instead, ignoring that polling stops at
completion, gives the often-quoted ``λ ∝ sqrt(f)``.) With ``I = ∫ sqrt(f S) dt`` the
expected delay is ``I / (2k)`` and the expected polls ``k · I``: their product ``I² / 2``
is fixed by the distribution, so one knob, :attr:`PollPolicy.target_delay`, picks the
point on that curve (``k = I / (2 · target_delay)``). A fixed interval ``Δ`` has product
``E[T] / 2``, never better since ``I² ≤ E[T]`` (Cauchy-Schwarz); the gain is large for
narrow distributions and small for wide ones.

Durations are modelled as lognormal: per kind the planner keeps only an exponentially
weighted mean and variance of ``log(duration)`` (three floats), so memory does not grow
with the number of tasks seen.
"""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from .._config import jittered

if TYPE_CHECKING:
    from .polling import PollPolicy

__all__ = ["DurationStats", "LearnedSchedule", "PollPlanner"]

_Z_LOW: Final = -5.0
_Z_HIGH: Final = 6.0
_Z_STEP: Final = 0.02
_MIN_SIGMA: Final = 0.05
"""A floor on the spread, so a kind that always took exactly 60 s is not polled only at 60 s."""


@dataclass(slots=True)
class DurationStats:
    """Exponentially weighted mean and variance of ``log(seconds)`` for one task kind.

    The first ``window`` samples are weighted equally; after that each new sample has
    weight ``1 / window``, so the estimate follows Topview getting faster or slower.
    """

    window: int = 500
    count: int = 0
    mean: float = 0.0
    variance: float = 0.0

    def add(self, seconds: float) -> None:
        """Record one observed duration."""
        value = math.log(max(seconds, 1e-3))
        self.count += 1
        weight = 1.0 / min(self.count, self.window)
        delta = value - self.mean
        self.mean += weight * delta
        # West's weighted update of the variance; equals Welford's while count <= window.
        self.variance = (1.0 - weight) * (self.variance + weight * delta * delta)

    @property
    def sigma(self) -> float:
        """Standard deviation of ``log(seconds)``, floored to keep the schedule spread out."""
        return max(math.sqrt(max(self.variance, 0.0)), _MIN_SIGMA)

    @property
    def median(self) -> float:
        """Median duration in seconds."""
        return math.exp(self.mean)


def _upper_tail(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2.0))


@dataclass(frozen=True, slots=True)
class LearnedSchedule:
    """Cumulative poll mass ``Λ(t) = ∫₀ᵗ sqrt(hazard)`` of one lognormal, on a grid."""

    mu: float
    sigma: float
    ages: tuple[float, ...] = field(repr=False)
    mass: tuple[float, ...] = field(repr=False)
    tail_density: float = field(repr=False)
    """``sqrt(hazard)`` at the last grid point, used to extrapolate beyond it."""
    scale: float = field(repr=False)
    """``I = ∫ sqrt(f · S) dt``: expected delay is ``I / (2k)``, expected polls ``k · I``."""

    @classmethod
    def build(cls, mu: float, sigma: float) -> LearnedSchedule:
        """Tabulate the schedule for ``log(duration) ~ Normal(mu, sigma)``."""
        ages: list[float] = [0.0]
        mass: list[float] = [0.0]
        previous_density = 0.0
        scale = 0.0
        previous_root_fs = 0.0
        steps = round((_Z_HIGH - _Z_LOW) / _Z_STEP)
        for i in range(steps + 1):
            z = _Z_LOW + i * _Z_STEP
            age = math.exp(mu + sigma * z)
            pdf = math.exp(-0.5 * z * z) / (math.sqrt(2.0 * math.pi) * sigma * age)
            survival = _upper_tail(z)
            density = math.sqrt(pdf / survival) if survival > 0 else previous_density
            root_fs = math.sqrt(pdf * survival)
            width = age - ages[-1]
            mass.append(mass[-1] + 0.5 * (density + previous_density) * width)
            scale += 0.5 * (root_fs + previous_root_fs) * width
            ages.append(age)
            previous_density, previous_root_fs = density, root_fs
        return cls(mu, sigma, tuple(ages), tuple(mass), previous_density, scale)

    def mass_at(self, age: float) -> float:
        """``Λ(age)``."""
        if age >= self.ages[-1]:
            return self.mass[-1] + (age - self.ages[-1]) * self.tail_density
        i = bisect.bisect_right(self.ages, age) - 1
        span = self.ages[i + 1] - self.ages[i]
        fraction = (age - self.ages[i]) / span if span > 0 else 0.0
        return self.mass[i] + fraction * (self.mass[i + 1] - self.mass[i])

    def age_at(self, mass: float) -> float:
        """The inverse of :meth:`mass_at`."""
        if mass >= self.mass[-1]:
            return self.ages[-1] + (mass - self.mass[-1]) / max(self.tail_density, 1e-12)
        i = bisect.bisect_right(self.mass, mass) - 1
        step = self.mass[i + 1] - self.mass[i]
        fraction = (mass - self.mass[i]) / step if step > 0 else 0.0
        return self.ages[i] + fraction * (self.ages[i + 1] - self.ages[i])

    def next_age(self, age: float, target_delay: float) -> float:
        """The age of the next poll after one at ``age``, aiming at ``target_delay`` on average."""
        k = self.scale / (2.0 * max(target_delay, 1e-6))
        return self.age_at(self.mass_at(age) + 1.0 / k)


class PollPlanner:
    """Chooses poll intervals; learns each kind's durations from tasks seen finishing.

    ``min_samples`` finished tasks of a kind are needed before its learned schedule
    replaces the policy's geometric backoff.
    """

    def __init__(self, *, min_samples: int = 20, window: int = 500) -> None:
        self.min_samples = min_samples
        self.window = window
        self._stats: dict[str, DurationStats] = {}
        self._schedules: dict[str, LearnedSchedule] = {}

    def record(self, kind: str, seconds: float) -> None:
        """Learn from a task of ``kind`` that took ``seconds`` from submit to completion."""
        stats = self._stats.get(kind)
        if stats is None:
            stats = self._stats[kind] = DurationStats(window=self.window)
        stats.add(seconds)

    def stats(self, kind: str) -> DurationStats | None:
        """What has been learned about ``kind`` so far (``None`` if nothing)."""
        return self._stats.get(kind)

    def schedule(self, kind: str) -> LearnedSchedule | None:
        """The learned schedule of ``kind``, or ``None`` while still warming up."""
        stats = self._stats.get(kind)
        if stats is None or stats.count < self.min_samples:
            return None
        cached = self._schedules.get(kind)
        sigma = stats.sigma
        # Rebuilding costs ~1 ms; only do it when the fit moved noticeably.
        if (
            cached is None
            or abs(cached.mu - stats.mean) > 0.01
            or abs(cached.sigma - sigma) > 0.02 * cached.sigma
        ):
            cached = self._schedules[kind] = LearnedSchedule.build(stats.mean, sigma)
        return cached

    def interval(
        self,
        kind: str,
        *,
        age: float | None,
        polls: int,
        policy: PollPolicy,
        rng: random.Random | None = None,
    ) -> float:
        """Seconds from the previous poll (or the submit) to the next poll.

        ``age`` is the task's age at that previous poll (``None`` when unknown, as for a
        handle rebuilt from a stored id); ``polls`` is how many polls were made so far.
        """
        schedule = self.schedule(kind) if policy.learn and age is not None else None
        if schedule is None:
            wait = policy.wait_initial * policy.wait_exp_base ** min(polls, 64)
        else:
            assert age is not None
            wait = schedule.next_age(age, policy.target_delay) - age
        wait = min(max(wait, policy.wait_min), policy.wait_max)
        return jittered(wait, policy.wait_jitter, rng=rng)
