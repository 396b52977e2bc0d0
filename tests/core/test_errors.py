"""Business codes, HTTP statuses and malformed bodies map to the documented exception tree."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import yaml

from topview_async import _exceptions as exc
from topview_async._config import RetryPolicy
from topview_async._retrying import exception_class_for_code

from .helpers import API_KEY, READ, SUBMIT, UID, WRITE, Recorder, call, code, make_client, ok

# The C loader when PyYAML has it: the spec is large and the pure-Python one is slow.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

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
    # AI music ([DOCS] ai-music-submit-task)
    "4012": exc.InvalidModelError,
    "4013": exc.InvalidMusicRequestError,
    "4014": exc.InvalidMusicRequestError,
    "4015": exc.InvalidMusicRequestError,
    "4016": exc.InvalidMusicRequestError,
    "4017": exc.InvalidReferenceAudioError,
    "4018": exc.InvalidReferenceAudioError,
    "4019": exc.InvalidReferenceAudioError,
    "4020": exc.InvalidReferenceAudioError,
    "4021": exc.InvalidReferenceAudioError,
    "4022": exc.InvalidMusicRequestError,
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


# --- the spec decides: class and retry rule of every code (issue 10.3) ---------------------

SPEC = Path(__file__).parents[2] / "openapi" / "topview.yaml"


def _spec_codes() -> list[dict[str, object]]:
    document = yaml.load(SPEC.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    return list(document["x-topview-error-codes"])


def test_the_spec_lists_every_documented_code_and_nothing_else() -> None:
    # REFERENCE §2; no source has 5002, so neither the spec nor the SDK knows it.
    assert {str(entry["code"]) for entry in _spec_codes()} == set(DOCUMENTED)
    assert exception_class_for_code("5002") is exc.APIError


@pytest.mark.parametrize("entry", _spec_codes(), ids=lambda entry: str(entry["code"]))
async def test_every_spec_code_raises_its_class_and_follows_its_retry_rule(
    entry: dict[str, object], sleeps: list[float]
) -> None:
    wire_code = str(entry["code"])
    assert exception_class_for_code(wire_code) is getattr(exc, str(entry["exception"]))
    assert entry["retry"] in ("never", "read", "always")
    if not entry["retryable"]:
        assert entry["retry"] == "never"
    for operation in (READ, WRITE, SUBMIT):
        retried = entry["retry"] == "always" or (entry["retry"] == "read" and operation is READ)
        recorder = Recorder(code(wire_code, "from the spec"), ok({"taskId": "t"}))
        body: dict[str, object] | None = None if operation is READ else {}
        async with make_client(recorder, retry=RetryPolicy(attempts=2)) as client:
            if retried:
                assert await call(client, operation, body=body) == {"taskId": "t"}
            else:
                with pytest.raises(exc.APIError) as caught:
                    await call(client, operation, body=body)
                assert type(caught.value).__name__ == entry["exception"]
                assert caught.value.code == wire_code
        assert len(recorder.requests) == (2 if retried else 1), operation.kind


# --- messages say what to do (issue 11.12) --------------------------------------------------


async def test_authentication_error_names_the_variables_and_the_base_url() -> None:
    recorder = Recorder(code("401", "Unauthorized, need to login again"))
    async with make_client(recorder, base_url="https://api.topview.test/prefix") as client:
        with pytest.raises(exc.AuthenticationError) as caught:
            await call(client)
    text = str(caught.value)
    assert "Unauthorized, need to login again" in text
    assert "TOPVIEW_API_KEY" in text
    assert "TOPVIEW_UID" in text
    assert "https://api.topview.test/prefix" in text
    assert API_KEY not in text
    assert UID not in text


async def test_http_401_from_a_gateway_also_says_which_credentials_to_check() -> None:
    async with make_client(Recorder(httpx.Response(401, text="denied"))) as client:
        with pytest.raises(exc.HTTPStatusError) as caught:
            await call(client)
    assert "TOPVIEW_API_KEY" in str(caught.value)
    assert "https://api.topview.test" in str(caught.value)


async def test_http_status_error_names_the_host_and_a_short_redacted_excerpt() -> None:
    echoed = f"upstream said no\n\nAuthorization: Bearer {API_KEY}\nTopview-Uid: {UID}\n"
    body = echoed + "x" * 5000
    async with make_client(Recorder(httpx.Response(418, text=body))) as client:
        with pytest.raises(exc.HTTPStatusError) as caught:
            await call(client)
    error = caught.value
    text = str(error)
    assert text.startswith("HTTP 418 from api.topview.test: upstream said no Authorization:")
    assert len(text) < 400  # bounded, whatever the body's size
    assert text.count("x") < 300
    for where in (text, error.body):
        assert API_KEY not in where
        assert UID not in where
    assert "Bearer ***" in text
    assert error.body.endswith("x" * 5000)  # the rest of the body is kept, scrubbed


async def test_bearer_tokens_of_other_keys_are_masked_too() -> None:
    body = '{"echo": {"authorization": "Bearer sk-someone-else-123"}}'
    async with make_client(Recorder(httpx.Response(400, text=body))) as client:
        with pytest.raises(exc.HTTPStatusError) as caught:
            await call(client)
    assert "sk-someone-else-123" not in str(caught.value)
    assert "sk-someone-else-123" not in caught.value.body


async def test_empty_error_body_is_said_so() -> None:
    async with make_client(Recorder(httpx.Response(502))) as client:
        with pytest.raises(exc.HTTPStatusError, match=r"HTTP 502 from api.topview.test \(empty"):
            await call(client, WRITE, body={})
