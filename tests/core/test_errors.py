"""Business codes, HTTP statuses and malformed bodies map to the documented exception tree."""

from __future__ import annotations

import httpx
import pytest

from topview_async import _exceptions as exc
from topview_async._exceptions import exception_class_for_code

from .helpers import READ, Recorder, call, code, make_client

pytestmark = pytest.mark.anyio

DOCUMENTED = {
    "401": exc.AuthenticationError,
    "4000": exc.InvalidRequestError,
    "4001": exc.InvalidRequestError,
    "4002": exc.InvalidRequestError,
    "4003": exc.InvalidRequestError,
    "4004": exc.NotFoundError,
    "4005": exc.DuplicateNameError,
    "4006": exc.RequestRefusedError,
    "4007": exc.UnfinishedTaskError,
    "4100": exc.InsufficientCreditError,
    "5000": exc.ServerError,
    "5001": exc.ServerError,
    "5003": exc.ServerBusyError,
    "5004": exc.ServerError,
    "5005": exc.ServerError,
    "6001": exc.ContentSecurityError,
}


@pytest.mark.parametrize(("wire_code", "expected"), sorted(DOCUMENTED.items()))
def test_every_documented_code_has_its_class(wire_code: str, expected: type) -> None:
    assert exception_class_for_code(wire_code) is expected
    assert exception_class_for_code(int(wire_code)) is expected


def test_server_busy_is_a_server_error_and_every_class_is_a_topview_error() -> None:
    assert issubclass(exc.ServerBusyError, exc.ServerError)
    for name in exc.__all__:
        value = getattr(exc, name)
        if isinstance(value, type) and issubclass(value, BaseException):
            assert issubclass(value, exc.TopviewError), name


@pytest.mark.parametrize("wire_code", ["4242", "9999", "not-a-number"])
def test_unknown_codes_map_to_the_root_api_error(wire_code: str) -> None:
    assert exception_class_for_code(wire_code) is exc.APIError


@pytest.mark.parametrize("wire_code", ["4004", 4004])
async def test_business_code_raises_typed_error_with_context(wire_code: object) -> None:
    recorder = Recorder(code(wire_code, "Resource not found!"))
    async with make_client(recorder) as client:
        with pytest.raises(exc.NotFoundError) as caught:
            await call(client, context={"task_id": "t-1", "file_id": None})
    error = caught.value
    assert (error.code, error.message, error.operation, error.task_id, error.file_id) == (
        "4004",
        "Resource not found!",
        READ,
        "t-1",
        None,
    )
    assert "code=4004" in str(error)
    assert "task_id=t-1" in str(error)


async def test_unknown_business_code_keeps_the_code() -> None:
    async with make_client(Recorder(code("7777", "new thing"))) as client:
        with pytest.raises(exc.APIError) as caught:
            await call(client)
    assert type(caught.value) is exc.APIError
    assert caught.value.code == "7777"


async def test_non_2xx_status_raises_http_status_error() -> None:
    recorder = Recorder(httpx.Response(403, text="forbidden by gateway"))
    async with make_client(recorder) as client:
        with pytest.raises(exc.HTTPStatusError) as caught:
            await call(client)
    assert caught.value.status_code == 403
    assert caught.value.body == "forbidden by gateway"
    assert len(recorder.requests) == 1


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>oops</html>"),
        httpx.Response(200, json={"message": "no code"}),
        httpx.Response(200, json=["not", "an", "envelope"]),
    ],
)
async def test_malformed_envelope_raises_response_validation_error(
    response: httpx.Response,
) -> None:
    async with make_client(Recorder(response)) as client:
        with pytest.raises(exc.ResponseValidationError) as caught:
            await call(client)
    assert caught.value.body == response.text
    assert response.text in str(caught.value)


async def test_missing_api_key_is_a_configuration_error_naming_variables() -> None:
    with pytest.raises(exc.ConfigurationError, match="TOPVIEW_API_KEY") as caught:
        make_client(Recorder(code("200")), api_key=None)
    assert "TOPVIEW_UID" not in str(caught.value)
    with pytest.raises(exc.ConfigurationError, match="TOPVIEW_API_KEY and TOPVIEW_UID"):
        make_client(Recorder(code("200")), api_key=None, uid=None)
