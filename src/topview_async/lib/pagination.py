"""Iterate over every item of a paged lookup, one page at a time.

Generated ``list_all*`` methods (voices, AI avatars, public product avatars, AnyShoot
templates) call :func:`paginate`; it asks for the next page only when the caller has
consumed the previous one, and the filters of the call stay the same for every page::

    async for voice in client.voices.list_all(language="en", gender="female"):
        ...
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from .._exceptions import ResponseValidationError

__all__ = ["paginate"]

ItemT = TypeVar("ItemT")

MAX_PAGES = 10_000
"""A stop for a server that keeps answering full pages forever."""


async def paginate(
    fetch_page: Callable[[int], Awaitable[Any]],
    *,
    item_type: type[ItemT],
    first_page: int = 1,
) -> AsyncIterator[ItemT]:
    """Yield the ``data`` (or ``list``) items of page ``first_page``, then the next page, and so on.

    Stops after an empty page, when ``total`` items have been seen, or after a page shorter
    than its ``pageSize`` (or, when the page does not say, than the first page): Topview's
    pages are 1-based and all but the last are full.
    ``item_type`` only types the items; they are yielded as the page model holds them.
    """
    # Imported here: every resource module imports this one, and a first call that pages
    # nothing should not load the task-status tables behind it.
    from ._status import read_field

    seen = 0
    full_page: int | None = None
    for page_no in range(first_page, first_page + MAX_PAGES):
        page = await fetch_page(page_no)
        # A board's result page names its items ``list`` ([SKILL] board.py), every other ``data``.
        items = read_field(page, "data", "data") or read_field(page, "list_", "list") or []
        if not isinstance(items, list):
            raise ResponseValidationError(
                f"page {page_no} has no list of items: {type(items).__name__}", body=repr(page)
            )
        for item in items:
            yield item
        seen += len(items)
        total = read_field(page, "total", "total")
        if not items or (isinstance(total, int) and seen >= total):
            return
        page_size = read_field(page, "page_size", "pageSize")
        if isinstance(page_size, int) and page_size > 0:
            full_page = page_size
        if full_page is None:
            full_page = len(items)
        elif len(items) < full_page:
            return
