"""Simulated tasks: their state is a pure function of the clock.

A task records when it was created, how long it runs and (decided once, at submit,
with the seeded RNG) whether it will fail. ``status(now)`` derives ``init``,
``running``, ``success`` or ``fail`` from that, so nothing runs in the background and
a test that controls the clock controls every task.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .._generated.task_kinds import TASK_KINDS

BIZ_TYPES: dict[str, str] = {
    kind: facts.biz_types[0] for kind, facts in TASK_KINDS.items() if facts.biz_types
}
"""Callback ``bizType`` of each task kind: the first of its ``x-topview-task.bizTypes``."""
BIZ_TYPES["m2v_preview"] = BIZ_TYPES["m2v"]
# An M2V submit with preview=false renders straight to an export and is announced as one.
BIZ_TYPES["m2v"] = BIZ_TYPES["m2v_export"]

FAILURE_MESSAGES: dict[str, str] = {
    "m2v": "Video generation failed: not enough usable product material",
    "m2v_export": "Export failed: rendering error",
    "video_avatar": "Avatar generation failed: no face detected in the source video",
    "product_avatar_image_replace": "Image replace failed: product not recognised",
    "product_avatar_image_to_video": "Image to video failed: motion generation error",
    "anyshoot": "AnyShoot failed: mask does not match the template image",
    "image_to_video": "Image to video failed: content could not be generated",
    "scraper": "Scraper failed: product page could not be parsed",
    "image_to_video_v2": "Video generation failed: the model rejected the first frame",
    "text_to_video": "Video generation failed: the prompt was rejected by the model",
    "omni_reference": "Video generation failed: a reference could not be used",
    "storyboard": "Storyboard failed: the script could not be split into shots",
    "text_to_image": "Image generation failed: the prompt was rejected by the model",
    "image_edit": "Image edit failed: an input image could not be read",
    "remove_background": "Background removal failed: no product found",
    "photo_avatar": "Photo avatar failed: no face detected in the photo",
    "product_avatar_image_to_video_v2": "Image to video failed: motion generation error",
    "product_avatar_image_replace_v3": "Image replace failed: product not recognised",
    "anyshoot_product_model": "Product model shoot failed: product not recognised",
    "text_to_speech": "Text to speech failed: the voice is not available",
    "voice_clone": "Voice clone failed: the recording is too noisy",
    "board_download": "Packaging failed: the board has no downloadable results",
    "ai_music": "Music generation failed: the lyrics could not be sung",
    "image_translate": "Image translate failed: no text found in the image",
    "image_translate_generate": "Image generate failed: the text could not be redrawn",
    "image_translate_batch": "Image translate failed: no text found in the images",
    "video_object_remove": "Object removal failed: the background could not be rebuilt",
    "video_process": "Video process failed: the video could not be decoded",
    "image_mask_drawing": "Mask drawing failed: no object at the given points",
    "video_mask_drawing": "Mask tracking failed: the object was lost",
    "video_character_swap": "Character swap failed: no face in the model image",
    "video_to_ai_avatar": "Avatar creation failed: no face detected in the video",
}

TERMINAL = ("success", "fail")


@dataclass
class DeliveryAttempt:
    """One POST of a callback and what came back."""

    time: float
    status_code: int | None
    body: str
    error: str | None
    acknowledged: bool


@dataclass
class Notice:
    """A pending or finished callback for one task (or one M2V export)."""

    uuid: str
    url: str
    uid: str
    task: SimTask
    biz_type: str
    next_attempt_at: float = 0.0
    attempts: list[DeliveryAttempt] = field(default_factory=list)
    acknowledged: bool = False
    failed: bool = False

    @property
    def delivered(self) -> bool:
        """True once any attempt got an HTTP response (acknowledged or not)."""
        return any(a.status_code is not None for a in self.attempts)

    @property
    def settled(self) -> bool:
        """True once acknowledged or given up."""
        return self.acknowledged or self.failed


@dataclass
class Script:
    """One M2V script: an id and its segments."""

    script_id: int
    segments: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        return {"scriptId": self.script_id, "scriptContents": [dict(s) for s in self.segments]}


@dataclass
class SimTask:
    """One simulated task (an M2V export is a child task sharing its parent's id)."""

    task_id: str
    kind: str
    uid: str
    created_at: float
    duration: float
    fails: bool
    request: dict[str, Any]
    base_url: str
    notice: Notice | None = None
    parent: SimTask | None = None
    script_id: int | None = None
    preview: bool = False
    scripts: list[Script] = field(default_factory=list)
    exports: dict[int, SimTask] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)
    """Product Avatar replace: the ``productReplaceResult[].key`` values."""
    files: list[dict[str, str]] = field(default_factory=list)
    """Scraper: the media found, each registered as an uploaded file."""
    cost: float = 0.0
    """Credits the task costs (deducted from the simulated balance at submit)."""
    board_id: str | None = None
    """The board the result is filed under (newer endpoints; ``None``: not on a board)."""

    @property
    def finishes_at(self) -> float:
        return self.created_at + self.duration

    def status(self, now: float) -> str:
        """``init`` for the first tenth of the run, then ``running``, then the outcome."""
        elapsed = now - self.created_at
        if elapsed >= self.duration:
            return "fail" if self.fails else "success"
        return "init" if elapsed < self.duration * 0.1 else "running"

    def finished(self, now: float) -> bool:
        return self.status(now) in TERMINAL

    def error_msg(self, now: float) -> str | None:
        if self.status(now) == "fail":
            return FAILURE_MESSAGES.get(self.kind, "Task failed")
        return None

    def unfinished_count(self, now: float) -> int:
        """This task plus its exports that are not terminal yet."""
        own = 0 if self.finished(now) else 1
        return own + sum(1 for e in self.exports.values() if not e.finished(now))

    def script(self, script_id: int) -> Script | None:
        """The script ``script_id``; ``0`` means the first one (REFERENCE §5.4)."""
        if script_id == 0 and self.scripts:
            return self.scripts[0]
        return next((s for s in self.scripts if s.script_id == script_id), None)
