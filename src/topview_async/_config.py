"""Configuration value objects and their defaults.

Retry behaviour is one frozen :class:`RetryPolicy`; timeouts are an :class:`httpx.Timeout`
(held inside the client as the plain dict of :func:`timeout_dict`, so that a client on the
direct aiohttp path never imports httpx; ``DEFAULT_TIMEOUT`` is built on first access).
(``PollPolicy``, the task-polling counterpart, lives with the polling code in ``lib/``.)
"""

from __future__ import annotations

import datetime
import email.utils
import math
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import httpx

    from ._retry_loop import RetryHook

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_RETRY",
    "DEFAULT_TIMEOUT",
    "NOT_GIVEN",
    "NotGiven",
    "RetryPolicy",
    "jittered",
    "timeout_dict",
]

DEFAULT_BASE_URL: Final = "https://api.topview.ai"
DEFAULT_MAX_CONNECTIONS: Final = 64
"""In-flight Topview requests per client; callers beyond this wait inside the SDK."""

DEFAULT_TIMEOUTS: Final[Mapping[str, float | None]] = {
    "connect": 10.0,
    "read": 60.0,
    "write": 60.0,
    "pool": 60.0,
}
"""10 s to connect, 60 s for each read, write and pool wait (``DEFAULT_TIMEOUT.as_dict()``)."""

if TYPE_CHECKING:
    DEFAULT_TIMEOUT: httpx.Timeout
    """``httpx.Timeout`` of :data:`DEFAULT_TIMEOUTS`: 10 s connect, 60 s read/write/pool."""


def __getattr__(name: str) -> Any:
    # DEFAULT_TIMEOUT is an httpx.Timeout, made on first access: importing httpx costs about
    # half of aiohttp's import, and the SDK's own path does not otherwise need it.
    if name == "DEFAULT_TIMEOUT":
        import httpx

        value = httpx.Timeout(**DEFAULT_TIMEOUTS)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def timeout_dict(timeout: object) -> dict[str, float | None]:
    """``httpx.Timeout(timeout).as_dict()``; httpx is imported only for what is not a number.

    ``None`` disables every timeout, a number sets all four, and anything else (an
    ``httpx.Timeout``, a 4-tuple) is what ``httpx.Timeout`` makes of it.
    """
    if timeout is None or (isinstance(timeout, int | float) and not isinstance(timeout, bool)):
        return dict.fromkeys(("connect", "read", "write", "pool"), timeout)
    import httpx

    return httpx.Timeout(timeout).as_dict()  # type: ignore[arg-type]


ENV_API_KEY: Final = "TOPVIEW_API_KEY"
ENV_UID: Final = "TOPVIEW_UID"
ENV_BASE_URL: Final = "TOPVIEW_BASE_URL"
ENV_LOG: Final = "TOPVIEW_LOG"


class NotGiven:
    """Sentinel type for "argument not given", so that ``None`` can mean "disabled"."""

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()


def jittered(wait: float, jitter: float, *, rng: random.Random | None = None) -> float:
    """``wait`` with up to the fraction ``jitter`` of it taken off at random.

    The one meaning of ``wait_jitter`` in :class:`RetryPolicy` and ``PollPolicy``: the actual
    wait is drawn uniformly from ``[wait * (1 - jitter), wait]``. ``1.0`` is "full jitter"
    (anywhere between 0 and ``wait``), ``0.0`` no jitter; a wait never exceeds its computed
    value, so ``wait_max`` stays a true maximum.
    """
    if jitter <= 0.0 or wait <= 0.0:
        return max(wait, 0.0)
    return (rng or random).uniform(wait * (1.0 - jitter), wait)


def _invalid(message: str) -> Exception:
    """The error of a bad policy value: a ConfigurationError (a ValueError)."""
    from ._exceptions import ConfigurationError  # late: _exceptions is the heavier module

    return ConfigurationError(message)


def _jitter_fraction(owner: str, value: float | bool) -> float:
    # ``True``/``False`` were RetryPolicy's jitter before it became a fraction: keep them working.
    fraction = (1.0 if value else 0.0) if isinstance(value, bool) else float(value)
    if not 0.0 <= fraction <= 1.0:
        raise _invalid(f"{owner}.wait_jitter must be a fraction in [0, 1], got {value!r}")
    return fraction


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How failed calls, upload PUTs, upload checks and downloads are retried.

    The client's policy (``AsyncTopview(retry=...)``, readable as ``client.retry``) governs
    every retry of the SDK: Topview API calls, the PUT of an upload and the upload check that
    confirms it, and result downloads (``client.download``, ``task.download``). ``retry=None``
    means one attempt everywhere.

    The wait before retry ``n`` (1-based) is
    ``min(wait_max, wait_initial * wait_exp_base ** (n - 1))``, minus up to the fraction
    ``wait_jitter`` of it at random (see :func:`jittered`; ``1.0``, the default, is full
    jitter), so many clients failing together do not retry in lockstep. A ``Retry-After``
    header (seconds or an HTTP date) replaces the computed wait; one longer than
    ``retry_after_max`` ends the call instead, with the typed error of the failed attempt
    carrying ``retry_after`` (the SDK never retries earlier than the server asked).

    ``timeout`` is an overall deadline in seconds for all attempts of one call, upload or
    download (``None``: none): no retry starts, and no backoff is waited, past it; the last
    error is raised instead. (Like stamina's ``timeout``, it does not cut an attempt short;
    the client's ``timeout=`` bounds each request.)

    Which failures are retried depends on the kind of call (see docs/guides/configuration.md):
    reads on any transient failure, paid submits and writes only when the request provably
    never reached processing.

    Every retry is logged (logger ``topview_async``, INFO) and passed to ``on_retry`` as a
    :class:`~topview_async.RetryEvent` (operation, attempt, cause, wait)::

        RetryPolicy(on_retry=lambda event: metrics.increment("retries", tags=[event.operation]))

    ``RetryPolicy(attempts=1)`` (or :meth:`disabled`) turns retries off. In tests, use
    :func:`topview_async.testing.set_testing` instead of patching anything.
    """

    attempts: int = 3
    """Total tries including the first one."""
    wait_initial: float = 0.5
    wait_max: float = 8.0
    wait_exp_base: float = 2.0
    wait_jitter: float = 1.0
    """Fraction of each wait taken off at random (``1.0`` = full jitter; ``True``/``False``
    are accepted as ``1.0``/``0.0``)."""
    retry_after_max: float = 60.0
    """Longest ``Retry-After`` waited; a longer one ends the call with the attempt's error,
    its ``retry_after`` set to the seconds the server asked for."""
    timeout: float | None = None
    """Overall deadline in seconds for all attempts of one call, upload or download."""
    on_retry: RetryHook | None = None
    """Called with a :class:`~topview_async.RetryEvent` before each retry's wait."""

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise _invalid(f"RetryPolicy.attempts must be at least 1, got {self.attempts}")
        if self.wait_initial < 0 or self.wait_max < 0 or self.retry_after_max < 0:
            raise _invalid(
                "RetryPolicy waits (wait_initial, wait_max, retry_after_max) must not be negative"
            )
        if self.wait_exp_base < 1:
            raise _invalid("RetryPolicy.wait_exp_base must be at least 1")
        if self.timeout is not None and not self.timeout > 0:
            raise _invalid("RetryPolicy.timeout must be positive (or None for no deadline)")
        object.__setattr__(self, "wait_jitter", _jitter_fraction("RetryPolicy", self.wait_jitter))

    @classmethod
    def disabled(cls) -> RetryPolicy:
        """A policy that never retries."""
        return cls(attempts=1)

    def backoff(self, retry_number: int, *, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry ``retry_number`` (1 for the first retry)."""
        exponent = max(0, retry_number - 1)
        # Cap the exponent so huge attempt counts cannot overflow a float.
        ceiling = min(self.wait_max, self.wait_initial * self.wait_exp_base ** min(exponent, 64))
        return jittered(ceiling, self.wait_jitter, rng=rng)

    def wait_for_retry(
        self, retry_number: int, retry_after: str | None, *, rng: random.Random | None = None
    ) -> float | None:
        """The wait before a retry: ``Retry-After`` when the server sent one, else the backoff.

        ``None`` when the server asked for longer than ``retry_after_max``: no retry then.
        """
        honoured = parse_retry_after(retry_after) if retry_after is not None else None
        if honoured is not None:
            return honoured if honoured <= self.retry_after_max else None
        return self.backoff(retry_number, rng=rng)


DEFAULT_RETRY: Final = RetryPolicy()


def parse_retry_after(value: str, *, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` value (delta-seconds or HTTP date); ``None`` if invalid."""
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:  # "-0000" dates parse naive; HTTP dates are always UTC
        moment = moment.replace(tzinfo=datetime.UTC)
    current = time.time() if now is None else now
    return max(0.0, moment.timestamp() - current)
