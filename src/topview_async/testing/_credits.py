"""The simulated credit balance: what each task costs, the balance, the credit log.

Every submit costs credits (``costCredit`` in its result). The cost is checked against the
balance before the task exists (code 4100 when it does not fit) and recorded as a charge.
Like task state, the balance is derived from the charges and the clock: Product Avatar v2
does not charge failed tasks ([EN-new]), so its charge stops counting once the task fails.

What a task costs is Topview's documented price where the spec has one
(``x-topview-task.price``, through :func:`topview_async._pricing.documented_cost`, the same
function the job engines' budget reads), so a budget built on the spec's prices matches what
the simulator charges. Kinds (or models) without a documented price are charged the
simulator's own rates below: simulator behaviour, in the range Topview's skill documents, not
prices.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from .._generated.task_kinds import TASK_KINDS as _TASK_KINDS
from .._pricing import documented_cost
from ._tasks import SimTask

FREE_ON_FAILURE: Final = frozenset(
    kind for kind, facts in _TASK_KINDS.items() if not facts.charged_on_failure
)
"""Kinds whose failed tasks are not charged (``chargedOnFailure: false`` in the spec)."""

SIMULATED_FLAT_RATES: Final[Mapping[str, float]] = {
    "video_avatar": 2.0,
    "product_avatar_image_replace": 2.0,
    "product_avatar_image_to_video": 2.0,
    "scraper": 0.0,
    "remove_background": 0.1,
    "product_avatar_image_to_video_v2": 2.0,
    "product_avatar_image_replace_v3": 2.0,
    "board_download": 0.0,
    "storyboard": 0.5,
    "ai_music": 1.5,
    "image_translate": 0.0,
    "image_translate_generate": 0.2,
    "video_object_remove": 1.2,
    "video_process": 0.0,
    "image_mask_drawing": 0.1,
    "video_mask_drawing": 0.5,
    "video_character_swap": 3.0,
    "video_to_ai_avatar": 2.0,
}
"""Credits per task of the kinds with no documented price and no rule in :func:`task_cost`
(simulator behaviour); any other undocumented kind costs :data:`SIMULATED_DEFAULT_RATE`."""

SIMULATED_DEFAULT_RATE: Final = 1.0

SIMULATED_PER_SECOND: Final = 0.5
"""Credits per generated second of a video model the spec has no price for."""

SIMULATED_PER_IMAGE: Final = 0.5
"""Credits per image of an image model the spec has no price for."""

TASK_TYPES: Final[Mapping[str, str]] = {
    kind: facts.credit_task_type
    for kind, facts in _TASK_KINDS.items()
    if facts.credit_task_type is not None
}
"""Credit-log ``taskType`` of a kind (``creditTaskType`` in the spec; other kinds use their own
name)."""

LOG_TIME_FORMAT: Final = "%Y-%m-%d %H:%M:%S"


@functools.cache
def reports_cost(kind: str) -> bool:
    """Whether Topview's query result of ``kind`` carries ``costCredit``: where the spec's
    result schema declares it (the newer endpoints and Image to Video; not M2V, Video
    Avatar, Product Avatar v1, AnyShoot v1, the scraper or board downloads)."""
    facts = _TASK_KINDS.get(kind)
    fields = getattr(facts.result_type, "model_fields", {}) if facts is not None else {}
    return "cost_credit" in fields


def _priced_per(kind: str) -> str | None:
    """The unit the spec prices ``kind`` in (``second``, ``item``, ``task``), if it does."""
    facts = _TASK_KINDS.get(kind)
    return facts.price.per if facts is not None and facts.price is not None else None


def _count(request: Mapping[str, Any], *names: str) -> int:
    for name in names:
        value = request.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return 1


def task_cost(kind: str, request: Mapping[str, Any]) -> float:
    """What a task of ``kind`` submitted with ``request`` costs: its documented price, else
    the simulator's own rate."""
    if kind == "m2v":
        # Charged when the video is exported: a full run exports, so it costs what an export
        # does; a preview run only costs the later export.
        if request.get("preview") in (True, "true"):
            return 0.0
        return documented_cost("m2v_export", request) or 0.0
    documented = documented_cost(kind, request)
    if documented is not None:
        return round(documented, 4)
    if kind == "image_to_video":
        return _count(request, "generatingCount") * (2.0 if request.get("duration") == 10 else 1.0)
    if kind in ("anyshoot", "anyshoot_product_model"):
        return float(_count(request, "generatingCount"))
    per = _priced_per(kind)
    if per == "second":  # a video model the spec has no price for
        seconds = _count(request, "duration") if request.get("duration") else 5
        return round(SIMULATED_PER_SECOND * seconds * _count(request, "generatingCount"), 2)
    if kind == "image_translate_batch":
        files, languages = request.get("fileIds"), request.get("languages")
        count = (
            len(files) * len(languages)
            if isinstance(files, list) and isinstance(languages, list)
            else 1
        )
        return round(0.2 * count, 2)
    if per == "item":  # an image model the spec has no price for
        return SIMULATED_PER_IMAGE * _count(request, "generateCount")
    if kind == "photo_avatar":
        return 0.5 if request.get("offPeak") in (True, "true") else 1.0
    return SIMULATED_FLAT_RATES.get(kind, SIMULATED_DEFAULT_RATE)


@dataclass
class Charge:
    """One deduction: a submitted task and what it cost."""

    task: SimTask
    amount: float
    api_key: str

    def counts(self, now: float) -> bool:
        return not (self.task.kind in FREE_ON_FAILURE and self.task.status(now) == "fail")

    def log_entry(self, now: float) -> dict[str, Any]:
        """The credit-log item of this charge ([DOCS] fields; the API key masked)."""
        when = datetime.fromtimestamp(self.task.created_at, UTC).strftime(LOG_TIME_FORMAT)
        return {
            "uid": self.task.uid,
            "apiKey": "sk-****" + self.api_key[-4:],
            "date": when,
            "costCredit": self.amount if self.counts(now) else 0.0,
            "taskId": self.task.task_id,
            "taskType": TASK_TYPES.get(self.task.kind, self.task.kind),
        }


class Ledger:
    """The account's starting credit and every charge since."""

    def __init__(self, credit: float) -> None:
        self.credit = credit
        self.charges: list[Charge] = []
        # Kept as charges are added, so a balance costs O(refundable charges), not O(charges):
        # a batch of thousands of submits checks the balance before each one.
        self._spent: dict[str, float] = {}
        self._refundable: dict[str, list[Charge]] = {}

    def add(self, charge: Charge) -> None:
        """Record ``charge`` (a submit the account paid for)."""
        self.charges.append(charge)
        uid = charge.task.uid
        self._spent[uid] = self._spent.get(uid, 0.0) + charge.amount
        if charge.task.kind in FREE_ON_FAILURE and charge.task.fails:
            self._refundable.setdefault(uid, []).append(charge)

    def balance(self, uid: str, now: float) -> float:
        refunded = sum(c.amount for c in self._refundable.get(uid, ()) if not c.counts(now))
        return round(self.credit - self._spent.get(uid, 0.0) + refunded, 4)

    def logs(
        self,
        uid: str,
        now: float,
        *,
        task_type: str | None,
        start: float | None,
        end: float | None,
    ) -> list[dict[str, Any]]:
        """Log entries of ``uid``, newest first, filtered; free tasks are not logged."""
        entries = []
        for charge in reversed(self.charges):
            created = charge.task.created_at
            if charge.task.uid != uid or charge.amount <= 0:
                continue
            if (start is not None and created < start) or (end is not None and created > end):
                continue
            entry = charge.log_entry(now)
            if task_type is None or entry["taskType"] == task_type:
                entries.append(entry)
        return entries


def parse_log_time(value: str | None) -> float | None:
    """``yyyy-MM-dd HH:mm:ss`` (UTC) as epoch seconds; ``None`` when absent."""
    if value is None:
        return None
    return datetime.strptime(value, LOG_TIME_FORMAT).replace(tzinfo=UTC).timestamp()
