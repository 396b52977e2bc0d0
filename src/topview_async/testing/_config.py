"""Configuration of the simulator: credentials, timing, randomness, limits.

Task state is derived from a clock rather than from background work, so a test can
inject :class:`ManualClock` and move time forward explicitly; with the default
wall clock, ``time_scale`` makes tasks finish quickly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .._exceptions import ConfigurationError
from .._generated import task_kinds as _task_kinds

if TYPE_CHECKING:
    import httpx

    from ._faults import Fault

Clock = Callable[[], float]
"""Returns the current time in seconds (epoch based, so upload URLs can carry a date)."""

TASK_KINDS: tuple[str, ...] = tuple(_task_kinds.TASK_KINDS)
"""Task kinds, the same names as ``x-topview-task.kind`` in the spec."""

DEFAULT_TASK_DURATIONS: Mapping[str, float] = {
    "m2v": 6.0,
    "m2v_export": 4.0,
    "video_avatar": 4.0,
    "product_avatar_image_replace": 2.0,
    "product_avatar_image_to_video": 4.0,
    "anyshoot": 2.0,
    "image_to_video": 4.0,
    "scraper": 2.0,
    "image_to_video_v2": 5.0,
    "text_to_video": 5.0,
    "omni_reference": 6.0,
    "storyboard": 6.0,
    "text_to_image": 2.0,
    "image_edit": 2.0,
    "remove_background": 1.0,
    "photo_avatar": 5.0,
    "product_avatar_image_to_video_v2": 4.0,
    "product_avatar_image_replace_v3": 2.0,
    "anyshoot_product_model": 2.0,
    "text_to_speech": 1.0,
    "voice_clone": 3.0,
    "board_download": 1.0,
    "ai_music": 3.0,
    "image_translate": 1.0,
    "image_translate_generate": 1.0,
    "image_translate_batch": 2.0,
    "video_object_remove": 4.0,
    "video_process": 1.0,
    "image_mask_drawing": 1.0,
    "video_mask_drawing": 2.0,
    "video_character_swap": 4.0,
    "video_to_ai_avatar": 4.0,
}
"""Seconds of simulated time each kind takes before it is terminal (divided by ``time_scale``):
simulator behaviour, keyed by the spec's kinds (a test keeps the keys equal to them; a kind
added to the spec without an entry here runs 1 s)."""

DEFAULT_API_KEY = "sk-simulator-0000000000000000"
DEFAULT_UID = "simuid0000000000000a"
DEFAULT_MEDIA_SIZE = 256 * 1024


class ManualClock:
    """A clock that only moves when told to, for deterministic tests.

    >>> clock = ManualClock()
    >>> clock.advance(30)
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        with self._lock:
            self._now += seconds


@dataclass
class SimulatorConfig:
    """Everything that shapes the simulator's behaviour.

    Durations are in simulated seconds; a task of kind ``k`` becomes terminal after
    ``task_durations[k] / time_scale`` seconds of ``clock``.
    """

    api_key: str = DEFAULT_API_KEY
    uid: str = DEFAULT_UID
    seed: int = 0
    clock: Clock = time.time
    time_scale: float = 1.0
    task_durations: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_TASK_DURATIONS)
    )
    failure_probability: Mapping[str, float] = field(default_factory=dict)
    """Per task kind, the chance (seeded) that a task ends with ``fail``."""
    script_count: int = 3
    """Scripts (and so preview videos) an M2V task produces."""
    media_size: int = DEFAULT_MEDIA_SIZE
    """Bytes of every served media file; can also be changed at runtime on the simulator."""
    credit: float = 100_000.0
    """Starting credit balance of the account. Every submit deducts its cost
    (``costCredit``); one that costs more than is left is answered with 4100."""
    max_unfinished_tasks: int | None = None
    """Answer 4007 once a uid has this many unfinished tasks (``None``: no limit)."""
    upload_url_ttl: float = 3600.0
    """Seconds (of ``clock``) a presigned upload URL stays valid."""
    faults: Sequence[Fault] = ()
    callback_transport: httpx.AsyncBaseTransport | None = None
    """Transport of the HTTP client that delivers callbacks (inject to route them in tests)."""
    callback_timeout: float = 5.0
    callback_max_attempts: int = 3
    callback_retry_interval: float = 2.0
    """Seconds of ``clock`` between two delivery attempts of one notice."""
    delivery_interval: float = 0.05
    """Real seconds between two scans of the delivery loop for due notices."""
    sleep: Callable[[float], Awaitable[None]] | None = None
    """How the simulator waits (latency faults, delivery loop); default ``anyio.sleep``."""

    def __post_init__(self) -> None:
        # A misspelt kind would silently change nothing: refuse it, naming the known ones.
        for name, table in (
            ("task_durations", self.task_durations),
            ("failure_probability", self.failure_probability),
        ):
            unknown = sorted(set(table) - set(TASK_KINDS))
            if unknown:
                raise ConfigurationError(
                    f"{name} names unknown task kinds {unknown} (known: {', '.join(TASK_KINDS)})"
                )

    def duration(self, kind: str) -> float:
        """Clock seconds a task of ``kind`` runs."""
        scale = self.time_scale if self.time_scale > 0 else 1.0
        return float(self.task_durations.get(kind, DEFAULT_TASK_DURATIONS.get(kind, 1.0))) / scale
