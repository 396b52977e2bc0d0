"""Parsing callback bodies, the acknowledgement and the notice URL (no HTTP involved)."""

from __future__ import annotations

import doctest
import json
import logging
from typing import Any

import pytest

from topview_async._exceptions import ConfigurationError, TopviewError
from topview_async._generated.models import (
    AnyShootTaskResult,
    CallbackNotice,
    ImageToVideoTaskResult,
    M2vTaskResult,
    ProductAvatarImageReplaceResult,
    ProductAvatarImageToVideoResult,
    ScraperTaskResult,
    VideoAvatarTaskResult,
)
from topview_async._models import TopviewModel
from topview_async.webhooks import (
    DEFAULT_MAX_BODY_SIZE,
    InvalidWebhookPayloadError,
    WebhookError,
    WebhookSignatureError,
    WebhookTooLargeError,
    _reply,
    _secret,
    build_acknowledgement,
    build_notice_url,
    generate_secret,
    normalize_status,
    parse_notice,
)
from topview_async.webhooks._secret import SecretChecker

from .webhook_samples import RESULTS, TASK_ID, encode, notice_body

DOCUMENTED = [
    ("M2V_PREVIEW", M2vTaskResult, "m2v"),
    ("M2V_EXPORT", M2vTaskResult, "m2v_export"),
    ("M2V_SCRIPT", M2vTaskResult, "m2v"),
    ("ZERO_SHOT_AVATAR", VideoAvatarTaskResult, "video_avatar"),
    (
        "PRODUCT_AVATAR_REPLACE_PRODUCT_IMAGE",
        ProductAvatarImageReplaceResult,
        "product_avatar_image_replace",
    ),
    (
        "PRODUCT_AVATAR_IMAGE2VIDEO",
        ProductAvatarImageToVideoResult,
        "product_avatar_image_to_video",
    ),
    ("PRODUCT_ANY_SHOOT", AnyShootTaskResult, "anyshoot"),
    ("COMMON_TASK_IMAGE2VIDEO", ImageToVideoTaskResult, "image_to_video"),
    ("SCRAPER", ScraperTaskResult, "scraper"),
]


@pytest.mark.parametrize(("biz_type", "model", "kind"), DOCUMENTED)
def test_every_documented_biz_type_parses_into_its_model(
    biz_type: str, model: type[Any], kind: str
) -> None:
    notice = parse_notice(encode(notice_body(biz_type)))

    assert type(notice.result) is model
    assert isinstance(notice.result, TopviewModel)
    assert notice.task_kind == kind
    assert notice.biz_type == biz_type
    assert notice.task_id == TASK_ID
    assert notice.uuid == "8a1c2a0e3e3c4a0b9f1e2d3c4b5a6978"
    assert notice.succeeded
    assert not notice.verified
    assert isinstance(notice.model, CallbackNotice)
    # Nothing of the sample is lost: the model dumps back to the same wire data.
    assert notice.result.model_dump(by_alias=True, exclude_unset=True) == RESULTS[biz_type]


def test_typed_fields_are_reachable() -> None:
    notice = parse_notice(encode(notice_body("ZERO_SHOT_AVATAR")))
    assert isinstance(notice.result, VideoAvatarTaskResult)
    assert notice.result.output_video_url == "https://cdn/avatar.mp4"

    replace = parse_notice(encode(notice_body("PRODUCT_AVATAR_REPLACE_PRODUCT_IMAGE")))
    assert isinstance(replace.result, ProductAvatarImageReplaceResult)
    assert replace.result.task_status == "success"
    assert replace.result.product_replace_result is not None
    assert replace.result.product_replace_result[0].face_existence is True


def test_result_sent_as_a_json_string_is_decoded() -> None:
    body = notice_body("M2V_EXPORT", result=json.dumps(RESULTS["M2V_EXPORT"]))
    notice = parse_notice(json.dumps(body))  # text input works too

    assert isinstance(notice.result, M2vTaskResult)
    assert notice.result.export_videos is not None
    assert notice.result.export_videos[0].video_url == "https://cdn/e.mp4"
    assert notice.raw["result"] == body["result"]  # raw keeps what was sent


def test_a_dict_body_is_accepted() -> None:
    notice = parse_notice(notice_body("SCRAPER"))
    assert isinstance(notice.result, ScraperTaskResult)
    assert notice.result.product_name == "Mug"


@pytest.mark.parametrize("result", [None, "", "null"])
def test_missing_result_is_none(result: Any) -> None:
    body = notice_body("SCRAPER")
    body["result"] = result
    assert parse_notice(body).result is None


def test_unknown_biz_type_is_kept_raw() -> None:
    # A bizType no task kind of the SDK has (Topview adds endpoints often).
    body = notice_body(
        "COMMON_TASK_SOMETHING_NEW", result={"voiceId": "v1", "nested": {"a": [1, 2]}}
    )
    notice = parse_notice(encode(body))

    assert notice.biz_type == "COMMON_TASK_SOMETHING_NEW"
    assert notice.task_kind is None
    assert notice.result == {"voiceId": "v1", "nested": {"a": [1, 2]}}
    assert notice.succeeded


def test_biz_type_never_seen_before_is_kept_raw() -> None:
    notice = parse_notice(notice_body("SOMETHING_NEW_2027", result='{"x": 1}'))
    assert notice.biz_type == "SOMETHING_NEW_2027"
    assert notice.result == {"x": 1}


def test_missing_biz_type_is_tolerated() -> None:
    body = notice_body()
    del body["bizType"]
    notice = parse_notice(body)
    assert notice.biz_type is None
    assert notice.task_kind is None
    assert isinstance(notice.result, dict)


def test_task_id_and_status_left_out_of_result_are_taken_from_the_notice() -> None:
    notice = parse_notice(notice_body("ZERO_SHOT_AVATAR", result={"outputVideoUrl": "u"}))
    assert isinstance(notice.result, VideoAvatarTaskResult)
    assert notice.result.task_id == TASK_ID
    assert notice.result.status == "success"


def test_result_not_matching_its_model_is_kept_raw_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bad = {"taskId": TASK_ID, "status": "success", "exportVideos": "not a list"}
    with caplog.at_level(logging.WARNING, logger="topview_async.webhooks"):
        notice = parse_notice(notice_body("M2V_EXPORT", result=bad))
    assert notice.result == bad
    assert notice.task_kind == "m2v_export"
    assert "exportVideos" in caplog.text


def test_result_not_matching_its_model_raises_when_strict() -> None:
    bad = {"taskId": TASK_ID, "status": "success", "exportVideos": "not a list"}
    with pytest.raises(InvalidWebhookPayloadError, match="M2vTaskResult"):
        parse_notice(notice_body("M2V_EXPORT", result=bad), strict=True)


@pytest.mark.parametrize(
    ("status", "succeeded", "failed"),
    [
        ("success", True, False),
        ("SUCCESS", True, False),
        ("fail", False, True),
        ("failed", False, True),
        ("Failure", False, True),
        ("error", False, True),
        ("running", False, False),
        ("weird", False, False),
    ],
)
def test_status_normalisation(status: str, succeeded: bool, failed: bool) -> None:
    notice = parse_notice(notice_body(status=status))
    assert notice.succeeded is succeeded
    assert notice.failed is failed


def test_normalize_status_of_none_is_running() -> None:
    assert normalize_status(None) == "running"


def test_error_msg_is_kept() -> None:
    notice = parse_notice(notice_body(status="fail", errorMsg="no face detected"))
    assert notice.error_msg == "no face detected"
    assert notice.failed


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"{not json", "not JSON"),
        (b"\xff\xfe\x00", "not JSON"),
        (b"", "not JSON"),
        (b"[1, 2]", "JSON object, not list"),
        (b'"text"', "JSON object, not str"),
        (b"[" * 100_000 + b"]" * 100_000, "JSON|nested"),
    ],
)
def test_malformed_bodies_raise_a_typed_error(body: bytes, match: str) -> None:
    with pytest.raises(InvalidWebhookPayloadError, match=match) as info:
        parse_notice(body)
    assert isinstance(info.value, WebhookError)
    assert isinstance(info.value, TopviewError)
    assert isinstance(info.value, ValueError)
    assert info.value.status_code == 400


@pytest.mark.parametrize("missing", ["uuid", "taskId", "status"])
def test_missing_required_fields_raise(missing: str) -> None:
    body = notice_body()
    del body[missing]
    with pytest.raises(InvalidWebhookPayloadError, match=missing):
        parse_notice(encode(body))


@pytest.mark.parametrize(
    ("field", "value"),
    [("uuid", 123), ("uuid", None), ("taskId", ["x"]), ("bizType", 7), ("result", [1, 2])],
)
def test_wrong_types_raise(field: str, value: Any) -> None:
    body = notice_body()
    body[field] = value
    with pytest.raises(InvalidWebhookPayloadError, match=field):
        parse_notice(encode(body))


def test_empty_uuid_raises() -> None:
    with pytest.raises(InvalidWebhookPayloadError, match="uuid"):
        parse_notice(notice_body(uuid="  "))


@pytest.mark.parametrize(("result", "match"), [("{oops", "not JSON"), ("[1]", "not list")])
def test_result_string_that_is_no_json_object_raises(result: str, match: str) -> None:
    with pytest.raises(InvalidWebhookPayloadError, match=match) as info:
        parse_notice(notice_body(result=result))
    assert info.value.task_id == TASK_ID


def test_error_messages_do_not_echo_values() -> None:
    body = notice_body()
    body["uuid"] = {"https://secret-presigned-url?X-Amz-Signature=abc": 1}
    with pytest.raises(InvalidWebhookPayloadError) as info:
        parse_notice(body)
    assert "X-Amz-Signature" not in str(info.value)


def test_oversized_body_raises_too_large() -> None:
    body = notice_body(padding="x" * 2000)
    raw = encode(body)
    with pytest.raises(WebhookTooLargeError) as info:
        parse_notice(raw, max_body_size=1000)
    assert info.value.status_code == 413
    assert info.value.limit == 1000
    assert parse_notice(raw, max_body_size=len(raw)).uuid == body["uuid"]  # the limit is inclusive


def test_default_limit_is_one_mebibyte() -> None:
    assert DEFAULT_MAX_BODY_SIZE == 1024 * 1024
    with pytest.raises(WebhookTooLargeError):
        parse_notice(b" " * (DEFAULT_MAX_BODY_SIZE + 1))


def test_notice_is_frozen() -> None:
    notice = parse_notice(notice_body())
    with pytest.raises(AttributeError):
        notice.status = "fail"  # type: ignore[misc]


def test_acknowledgement_is_exactly_the_documented_reply() -> None:
    ack = build_acknowledgement("n-1", "uid-1")
    assert json.dumps(ack, separators=(",", ":")) == (
        '{"code":"200","message":"Success",'
        '"result":{"uuid":"n-1","topviewUid":"uid-1","result":"success"}}'
    )
    refused = build_acknowledgement("n-1", "uid-1", accepted=False)
    assert refused["result"]["result"] == "fail"
    assert refused["code"] != "200"
    assert refused["message"] != "Success"


def test_a_refusal_cannot_carry_code_200() -> None:
    with pytest.raises(ValueError, match="200"):
        build_acknowledgement("n-1", "uid-1", accepted=False, code="200")


def test_notice_url_with_token_in_query() -> None:
    url = build_notice_url("https://api.example.com/topview/notice?tenant=a b", "s/cr+t" * 4)
    assert url == (
        "https://api.example.com/topview/notice?tenant=a+b&token=s%2Fcr%2Bts%2Fcr%2Bts%2Fcr"
        "%2Bts%2Fcr%2Bt"
    )


def test_notice_url_with_token_in_path() -> None:
    secret = generate_secret()
    url = build_notice_url("https://api.example.com/topview/notice/", secret, in_path=True)
    assert url == f"https://api.example.com/topview/notice/{secret}"


@pytest.mark.parametrize(
    ("base", "secret"),
    [
        ("https://api.example.com/n", "short"),
        ("ftp://api.example.com/n", "x" * 32),
        ("/relative/path", "x" * 32),
        ("https://api.example.com/n?token=old", "x" * 32),
    ],
)
def test_bad_notice_url_arguments_raise(base: str, secret: str) -> None:
    with pytest.raises(ConfigurationError):
        build_notice_url(base, secret)


def test_generated_secrets_differ_and_are_url_safe() -> None:
    first, second = generate_secret(), generate_secret()
    assert first != second
    assert len(first) >= 32
    assert build_notice_url("https://e.com/n", first).endswith(f"token={first}")


def test_secret_checker_accepts_any_rotated_secret() -> None:
    checker = SecretChecker(["old-secret-0123456789", "new-secret-0123456789"])
    checker.check("old-secret-0123456789")
    checker.check("new-secret-0123456789")
    with pytest.raises(WebhookSignatureError) as wrong:
        checker.check("new-secret-012345678X")
    assert wrong.value.status_code == 403
    with pytest.raises(WebhookSignatureError) as missing:
        checker.check(None)
    assert missing.value.status_code == 401
    with pytest.raises(WebhookSignatureError):
        checker.check("ünïcödé-is-not-a-crash")


def test_secret_checker_needs_a_secret() -> None:
    with pytest.raises(ConfigurationError):
        SecretChecker([])


@pytest.mark.parametrize("module", [_secret, _reply])
def test_docstring_examples_hold(module: Any) -> None:
    failures, _ = doctest.testmod(module)
    assert failures == 0


def test_a_bare_query_result_is_accepted_and_identified_by_task_id() -> None:
    # CORRECTIONS #20: the original docs say the callback body is "the query result data".
    body = {"taskId": "176bd1a50ba8437db36af5eb8fd9e5ca", "status": "success", "videoUrl": "u"}
    notice = parse_notice(json.dumps(body).encode())
    assert notice.task_id == body["taskId"]
    assert notice.succeeded
    assert notice.task_kind is None
    assert notice.result == body
    assert parse_notice(body).uuid == notice.uuid  # a redelivery is recognised
