"""paginate() stops at the right page whatever the server says about totals."""

from __future__ import annotations

import pytest

from topview_async import ResponseValidationError
from topview_async.lib.pagination import paginate

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _server(items: list[int], page_size: int, *, with_total: bool) -> tuple[list[int], object]:
    fetched: list[int] = []

    async def fetch(page_no: int) -> dict[str, object]:
        fetched.append(page_no)
        start = (page_no - 1) * page_size
        page: dict[str, object] = {
            "pageNo": page_no,
            "pageSize": page_size,
            "data": items[start : start + page_size],
        }
        if with_total:
            page["total"] = len(items)
        return page

    return fetched, fetch


@pytest.mark.parametrize("with_total", [True, False])
@pytest.mark.parametrize("count", [0, 1, 4, 5, 11])
async def test_every_item_once_and_no_page_past_the_end(count: int, with_total: bool) -> None:
    items = list(range(count))
    fetched, fetch = _server(items, 5, with_total=with_total)

    seen = [item async for item in paginate(fetch, item_type=int)]  # type: ignore[arg-type]

    assert seen == items
    full_pages, rest = divmod(count, 5)
    # With a total the walk ends on the last item; without, a short or empty page ends it.
    expected = full_pages + (1 if rest else 0) if with_total else full_pages + 1
    assert fetched == list(range(1, max(expected, 1) + 1))


async def test_a_page_without_a_list_is_an_error() -> None:
    async def fetch(page_no: int) -> dict[str, object]:
        return {"data": "oops"}

    with pytest.raises(ResponseValidationError, match="no list of items"):
        async for _ in paginate(fetch, item_type=int):
            pass
