"""Seeded lookup catalogues: voices, AI avatars, product avatars, templates, captions.

Items are generated once from the seed. Media fields hold ``media:<name>`` markers
that become URLs of the serving simulator when rendered; keys starting with ``_``
are hidden sort keys.
"""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

from ._urls import media_url

_LANGUAGE_CODES = (
    "en ar bg hr cs da nl fil fi fr de el hi hu id it ja ko ms nb pl pt ro ru zh-CN sk es sv "
    "zh-Hant tr uk vi th"
)
LANGUAGES = tuple(_LANGUAGE_CODES.split())
"""Languages accepted by M2V submit and the voice filter (REFERENCE §5.1)."""

THAI_VOICE_IDS = (
    "5d188a658b5a424e98bf0dbbcb8f97d8",
    "eea5e5a4fb534231a5b4cf4766dd7a5f",
    "537e2643719c47bdac1d8a2c7f0c844a",
    "e22db502aa8d40d9ba791083c9f4ab35",
)
VOICE_AGES = ("Young", "Middle Age", "Old")
VOICE_STYLES = ("UGC", "Advertisement", "Cartoon_And_Animals", "Influencer")
ETHNICITIES = ("Asian", "Black", "Caucasian", "Hispanic", "Middle Eastern", "South Asian")
PA_CATEGORIES = ("👗 Fashion", "💄 Beauty", "🏠 Home", "🍔 Food", "📱 Electronics", "🧸 Toys")
PHOTO_TEMPLATE_CATEGORIES = ("Business", "Casual", "Studio")
TEMPLATE_CATEGORIES = ("Kitchen", "Outdoor", "Studio", "Bathroom", "Living room")
_NAMES = ("Ava", "Liam", "Mia", "Noah", "Zoe", "Ethan", "Aria", "Leo", "Ivy", "Kai", "Nora", "Eli")


class Catalog:
    """All catalogues of one simulator, generated deterministically from ``seed``."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        rng = random.Random(f"catalog:{seed}")
        self.ethnicities = {
            scene: [
                {"ethnicityId": self._id(scene, name), "ethnicityName": name}
                for name in ETHNICITIES
            ]
            for scene in ("video_avatar", "product_avatar")
        }
        self.voices = self._voices(rng)
        self.aiavatars = self._aiavatars(rng)
        self.pa_categories = [
            {"categoryId": self._id("pa-category", n), "categoryName": n} for n in PA_CATEGORIES
        ]
        self.product_avatars = self._product_avatars(rng)
        self.template_categories = [
            {"categoryId": self._id("template-category", n), "categoryName": n}
            for n in TEMPLATE_CATEGORIES
        ]
        self.templates = self._templates(rng)
        self.captions = [
            {"captionId": self._id("caption", str(i)), "thumbnail": f"media:caption-{i}.png"}
            for i in range(8)
        ]
        # Newer catalogues are derived from ids only (no draws from ``rng``), so the older
        # catalogues of a seed stay what they were.
        self.photo_template_categories = [
            {"categoryId": self._id("photo-category", n), "categoryName": n}
            for n in PHOTO_TEMPLATE_CATEGORIES
        ]
        self.photo_templates = [self._photo_template(i) for i in range(12)]
        self.file_ids = frozenset(t["templateImageFileId"] for t in self.photo_templates)
        """Files every account may reference (the public photo templates' photos)."""
        self.custom_avatar_tasks = [self._custom_avatar_task(i) for i in range(2)]
        """Finished video-to-AI-avatar tasks (made on the website: the submit is not in the API)."""

    def _photo_template(self, i: int) -> dict[str, Any]:
        template_id = self._id("photo-template", str(i))
        category = self.photo_template_categories[i % len(PHOTO_TEMPLATE_CATEGORIES)]
        return {
            "templateId": template_id,
            "templateName": f"{category['categoryName']} portrait {i}",
            "categoryId": category["categoryId"],
            "coverUrl": f"media:photo-template-{template_id}.jpg",
            "templateImageFileId": self._id("photo-template-file", str(i)),
        }

    def _custom_avatar_task(self, i: int) -> dict[str, Any]:
        task_id = self._id("video2aiavatar", str(i))
        avatar_id = self._id("custom-aiavatar", str(i))
        return {
            "taskId": task_id,
            "status": "success",
            "errorMsg": None,
            "aiAvatar": {
                "aiavatarId": avatar_id,
                "aiavatarName": f"My avatar {i}",
                "gender": None,
                "coverUrl": f"media:custom-aiavatar-{avatar_id}.jpg",
                "previewVideoUrl": f"media:custom-aiavatar-{avatar_id}.mp4",
                "ethnicities": None,
                "voiceoverIdDefault": None,
                "faceSquareConfig": None,
            },
            "costCredit": 10.0,
        }

    def _id(self, *parts: str) -> str:
        return hashlib.sha256(":".join((str(self._seed), *parts)).encode()).hexdigest()[:32]

    def _voices(self, rng: random.Random) -> list[dict[str, Any]]:
        voices = []
        for language in ("en", "es", "fr", "de", "ja", "zh-CN", "pt", "ar"):
            for i in range(4):
                voice_id = self._id("voice", language, str(i))
                voices.append(self._voice(rng, voice_id, language, i))
        voices += [self._voice(rng, vid, "th", i) for i, vid in enumerate(THAI_VOICE_IDS)]
        return voices

    def _voice(self, rng: random.Random, voice_id: str, language: str, i: int) -> dict[str, Any]:
        return {
            "voiceId": voice_id,
            "voiceName": f"{rng.choice(_NAMES)} ({language})",
            "language": language,
            "gender": "female" if i % 2 == 0 else "male",
            "age": VOICE_AGES[i % 3],
            "style": VOICE_STYLES[(i + len(language)) % 4],
            "accent": "American" if language == "en" and i < 2 else "Standard",
            "demoAudioUrl": f"media:voice-{voice_id}.mp3",
            "bestSupportLanguage": language,
            "durations": round(rng.uniform(3.0, 9.0), 1),
        }

    def _aiavatars(self, rng: random.Random) -> list[dict[str, Any]]:
        english = [v for v in self.voices if v["language"] == "en"]
        items = []
        for i in range(24):
            gender = "female" if i % 2 == 0 else "male"
            avatar_id = self._id("aiavatar", str(i))
            items.append(
                {
                    "aiavatarId": avatar_id,
                    "aiavatarName": f"{_NAMES[i % len(_NAMES)]} {i}",
                    "gender": gender,
                    "coverUrl": f"media:aiavatar-{avatar_id}.jpg",
                    "previewVideoUrl": f"media:aiavatar-{avatar_id}.mp4",
                    "ethnicities": [self.ethnicities["video_avatar"][(i // 2) % len(ETHNICITIES)]],
                    "voiceoverIdDefault": next(v for v in english if v["gender"] == gender)[
                        "voiceId"
                    ],
                    "faceSquareConfig": {"x": 120, "y": 80, "width": 480, "height": 480},
                    "isCustom": False,
                    "_created": 1_700_000_000 + rng.randrange(10_000_000),
                }
            )
        return items

    def _product_avatars(self, rng: random.Random) -> list[dict[str, Any]]:
        items = []
        for i in range(24):
            avatar_id = self._id("product-avatar", str(i))
            box = {"x": 200 + i, "y": 600, "width": 320, "height": 360}
            items.append(
                {
                    "avatarId": avatar_id,
                    "avatarImagePath": f"media:product-avatar-{avatar_id}.jpg",
                    "voiceoverId": self.voices[i % 8]["voiceId"],
                    "gender": "female" if i % 3 else "male",
                    "avatarCategoryList": [self.pa_categories[i % len(PA_CATEGORIES)]],
                    "objectMaskImageInfo": json.dumps(box),
                    "avatarEthnicityList": [self.ethnicities["product_avatar"][i % 6]],
                    "minSubsType": "free" if i % 4 else "pro",
                    "_popularity": rng.randrange(1000),
                    "_created": 1_700_000_000 + rng.randrange(10_000_000),
                }
            )
        return items

    def _templates(self, rng: random.Random) -> list[dict[str, Any]]:
        items = []
        for i in range(20):
            template_id = self._id("template", str(i))
            category = self.template_categories[i % len(TEMPLATE_CATEGORIES)]
            items.append(
                {
                    "templateId": template_id,
                    "templateName": f"{category['categoryName']} scene {i}",
                    "coverUrl": f"media:template-{template_id}.jpg",
                    "style": "UGC" if i % 2 == 0 else "Pro",
                    "categoryId": category["categoryId"],
                    "categoryName": category["categoryName"],
                    "width": 1024,
                    "height": 1024 + 256 * rng.randrange(2),
                }
            )
        return items


def render(item: dict[str, Any], base: str) -> dict[str, Any]:
    """A catalogue item as sent: media markers become URLs, hidden keys dropped."""
    out: dict[str, Any] = {}
    for key, value in item.items():
        if key.startswith("_"):
            continue
        if isinstance(value, str) and value.startswith("media:"):
            value = media_url(base, value.removeprefix("media:"), cdn=True)
        out[key] = value
    return out


def page(items: list[dict[str, Any]], page_no: int, page_size: int, base: str) -> dict[str, Any]:
    """A Topview page (REFERENCE §1.6) of ``items``."""
    start = (page_no - 1) * page_size
    data = [render(i, base) for i in items[start : start + page_size]]
    return {"total": len(items), "pageNo": page_no, "pageSize": page_size, "data": data}


def split_ids(value: str | None) -> set[str]:
    """Comma-separated ids (ASCII commas, blanks ignored)."""
    return {part.strip() for part in (value or "").split(",") if part.strip()}
