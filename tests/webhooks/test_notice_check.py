"""``client.notices.check(url)``: the refusal is typed and never shows the URL's secret.

Topview's answers are scripted with ``httpx.MockTransport`` (this is about the SDK's logic);
the check against a real router over loopback is in ``test_callback_waits.py``.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from topview_async import AsyncTopview, InvalidRequestError, RetryPolicy
from topview_async._exceptions import APIError
from topview_async.webhooks import NoticeUrlRejectedError, build_notice_url, mask_notice_url

pytestmark = pytest.mark.anyio

TOKEN = "leaky-secret-0123456789"
URL = build_notice_url("https://backend.example/topview/notice", TOKEN)


def client_answering(code: str, message: str, result: Any = None) -> AsyncTopview:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/notice/notice_url/check"
        assert request.url.params["noticeUrl"] == URL
        return httpx.Response(200, json={"code": code, "message": message, "result": result})

    return AsyncTopview(
        api_key="sk-test-0000000000000000",
        uid="uid-test-000000000001",
        base_url="https://topview.test",
        transport=httpx.MockTransport(answer),
        retry=RetryPolicy.disabled(),
    )


async def test_a_refusal_names_the_url_with_its_token_masked() -> None:
    # Topview quoting the URL back, raw and URL-encoded: neither form may survive.
    encoded = httpx.QueryParams({"u": URL})["u"]
    message = f"noticeUrl {URL} did not answer (sent to {json.dumps(encoded)})"
    async with client_answering("4000", message) as client:
        with pytest.raises(NoticeUrlRejectedError) as caught:
            await client.notices.check(URL)

    error = caught.value
    assert isinstance(error, APIError)
    assert error.code == "4000"
    assert error.error_class is InvalidRequestError
    assert str(error).startswith(
        "Topview rejected the notice URL https://backend.example/topview/notice?token=***: "
    )
    for text in (str(error), repr(error), error.topview_message):
        assert TOKEN not in text
    # Not chained: the original exception's message has the secret in it.
    assert error.__cause__ is None
    assert error.__suppress_context__


async def test_a_false_result_is_a_refusal_too() -> None:
    async with client_answering("200", "success", result=False) as client:
        with pytest.raises(NoticeUrlRejectedError, match="answered false"):
            await client.notices.check(URL)


@pytest.mark.parametrize("result", [True, None, "ok", {}])
async def test_anything_else_with_code_200_is_accepted(result: Any) -> None:
    async with client_answering("200", "success", result=result) as client:
        assert await client.notices.check(URL) is None


def test_mask_notice_url_leaves_other_parameters_alone() -> None:
    url = build_notice_url("https://b.example/n?tenant=7", TOKEN)
    assert mask_notice_url(url) == "https://b.example/n?tenant=7&token=***"
    assert mask_notice_url("https://b.example/n") == "https://b.example/n"
