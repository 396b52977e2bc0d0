"""``client.notices.check(url)``: have Topview validate a notice URL, with a clear refusal."""

from __future__ import annotations

from typing import Any

from .._exceptions import APIError
from ._errors import NoticeUrlRejectedError
from ._secret import mask_notice_url, mask_token_in

__all__ = ["check_notice_url"]


async def check_notice_url(notices: Any, url: str) -> None:
    """Ask Topview to validate ``url`` (through ``notices.check_url``, the generated stub).

    Raises :class:`NoticeUrlRejectedError` when Topview refuses it: a business error code,
    or a ``result`` of ``false`` (the shape of ``result`` is UNCONFIRMED; ``false`` is the
    one value that can only mean "not valid"). The URL's secret never reaches the message,
    and the original error is not chained, because Topview may quote the URL in it.
    """
    try:
        result = await notices.check_url(notice_url=url)
    except APIError as exc:
        topview_message = mask_token_in(exc.message, url)
        raise NoticeUrlRejectedError(
            f"Topview rejected the notice URL {mask_notice_url(url)}: {topview_message}",
            code=exc.code,
            topview_message=topview_message,
            error_class=type(exc),
            operation=exc.operation,
        ) from None
    if result is False:
        raise NoticeUrlRejectedError(
            f"Topview rejected the notice URL {mask_notice_url(url)}: the check answered false",
            code="200",
            topview_message="",
            error_class=APIError,
        )
