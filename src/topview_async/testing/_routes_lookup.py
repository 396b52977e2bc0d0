"""Catalogue lookups with pagination and filters (REFERENCE §§7.5, 7.6, 8.3, 8.4, 10.3-10.6)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from . import _validation as v
from ._catalog import page, render, split_ids
from ._errors import envelope
from ._routes_generative import cloned_voices

if TYPE_CHECKING:
    from ._simulator import Simulator

MAX_PAGE_SIZE = 100
GENDERS = ("male", "female")


def _paging(query: Any) -> tuple[int, int]:
    return (
        v.query_int(query, "pageNo", default=1),
        v.query_int(query, "pageSize", default=20, maximum=MAX_PAGE_SIZE),
    )


async def voices(request: Request, sim: Simulator) -> Response:
    query = request.query_params
    page_no, page_size = _paging(query)
    language = v.query_string(query, "language")
    gender = v.query_string(query, "gender", allowed=GENDERS)
    age = v.query_string(query, "age", allowed=("Young", "Middle Age", "Old"))
    style = v.query_string(
        query, "style", allowed=("UGC", "Advertisement", "Cartoon_And_Animals", "Influencer")
    )
    accent = (v.query_string(query, "accent") or "").lower()
    custom = v.query_bool(query, "isCustom")
    source = cloned_voices(sim, sim.uid_of(request)) if custom else sim.catalog.voices
    items = [
        voice
        for voice in source
        if (language is None or voice["language"] == language)
        and (gender is None or voice["gender"] == gender)
        and (age is None or voice["age"] == age)
        and (style is None or voice["style"] == style)
        and accent in voice["accent"].lower()
    ]
    return envelope(page(items, page_no, page_size, sim.base_url(request)))


async def ethnicities(request: Request, sim: Simulator) -> Response:
    """A plain array, or a page when ``pageNo``/``pageSize`` is sent (shape UNCONFIRMED)."""
    query = request.query_params
    scene = v.query_string(
        query, "scene", required=True, allowed=("video_avatar", "product_avatar")
    )
    items = sim.catalog.ethnicities[scene or "video_avatar"]
    if "pageNo" in query or "pageSize" in query:
        page_no, page_size = _paging(query)
        return envelope(page(items, page_no, page_size, sim.base_url(request)))
    return envelope([dict(item) for item in items])


async def aiavatars(request: Request, sim: Simulator) -> Response:
    query = request.query_params
    page_no, page_size = _paging(query)
    gender = v.query_string(query, "gender", allowed=GENDERS)
    wanted = split_ids(v.query_string(query, "ethnicityIdList"))
    custom = v.query_bool(query, "isCustom")
    items = [
        avatar
        for avatar in sim.catalog.aiavatars
        if not custom
        and (gender is None or avatar["gender"] == gender)
        and (not wanted or wanted & {e["ethnicityId"] for e in avatar["ethnicities"]})
    ]
    field = v.query_string(query, "sortField")
    if field is not None:
        key = "_created" if field == "createTime" else field
        descending = (v.query_string(query, "sortType") or "asc").lower() == "desc"
        items.sort(key=lambda item: str(item.get(key, "")).zfill(12), reverse=descending)
    return envelope(page(items, page_no, page_size, sim.base_url(request)))


async def product_avatar_categories(request: Request, sim: Simulator) -> Response:
    return envelope([render(c, sim.base_url(request)) for c in sim.catalog.pa_categories])


async def public_product_avatars(request: Request, sim: Simulator) -> Response:
    query = request.query_params
    page_no, page_size = _paging(query)
    gender = v.query_string(query, "gender", allowed=GENDERS)
    sorting = v.query_string(query, "sortingType", allowed=("Popularity", "Newest"))
    ethnicity_ids = split_ids(v.query_string(query, "ethnicityIds"))
    category_ids = split_ids(v.query_string(query, "categoryIds"))
    items = [
        avatar
        for avatar in sim.catalog.product_avatars
        if (gender is None or avatar["gender"] == gender)
        and (
            not ethnicity_ids
            or ethnicity_ids & {e["ethnicityId"] for e in avatar["avatarEthnicityList"]}
        )
        and (
            not category_ids
            or category_ids & {c["categoryId"] for c in avatar["avatarCategoryList"]}
        )
    ]
    sort_key = "_created" if sorting == "Newest" else "_popularity"
    items.sort(key=lambda item: int(item[sort_key]), reverse=True)
    return envelope(page(items, page_no, page_size, sim.base_url(request)))


async def template_categories(request: Request, sim: Simulator) -> Response:
    return envelope([render(c, sim.base_url(request)) for c in sim.catalog.template_categories])


async def templates(request: Request, sim: Simulator) -> Response:
    query = request.query_params
    page_no, page_size = _paging(query)
    style = v.query_string(query, "style", allowed=("UGC", "Pro"))
    category_ids = split_ids(v.query_string(query, "categoryIds"))
    items = [
        template
        for template in sim.catalog.templates
        if (style is None or template["style"] == style)
        and (not category_ids or template["categoryId"] in category_ids)
    ]
    return envelope(page(items, page_no, page_size, sim.base_url(request)))


async def captions(request: Request, sim: Simulator) -> Response:
    return envelope([render(c, sim.base_url(request)) for c in sim.catalog.captions])
