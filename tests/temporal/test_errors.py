"""Which SDK errors an activity may repeat: the mapping to Temporal's ApplicationError."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("temporalio", reason="the temporal extra is not installed")

from temporalio.exceptions import ApplicationError

from topview_async import AsyncTopview
from topview_async._exceptions import (
    APIConnectionError,
    APITimeoutError,
    ClientClosedError,
    HTTPStatusError,
    InsufficientCreditError,
    InvalidFileError,
    InvalidInputError,
    InvalidRequestError,
    NotFoundError,
    ServerBusyError,
    ServerError,
    SubmitOutcomeUnknownError,
    SubmittedRequest,
    UnfinishedTaskError,
    UploadError,
)
from topview_async.temporal import file_parameters, read_failure, submit_failure
from topview_async.temporal._errors import decision_of
from topview_async.testing import SimulatorConfig, SimulatorServer

from ..e2e.helpers import write_png
from .conftest import make_client


def http(status: int) -> HTTPStatusError:
    return HTTPStatusError(f"HTTP {status}", status_code=status, body="")


NEVER_SENT = [
    UnfinishedTaskError("busy", code="4007"),
    ServerBusyError("busy", code="5003"),
    APIConnectionError("connection refused"),
    APITimeoutError("connect timeout"),
    http(429),
    http(503),
    UploadError("PUT failed"),
    ClientClosedError("closed"),
]
REFUSED = [
    InvalidRequestError("bad value", code="4000"),
    http(400),
    InvalidInputError("missing product_link"),
    InvalidFileError("shoe.png", "empty file"),
    TypeError("submit() got an unexpected keyword argument 'nope'"),
]
MAYBE_SENT = [
    ServerError("internal", code="5000"),  # Topview may have stored the task first
    http(502),
    RuntimeError("an unexpected bug after the send"),
]


@pytest.mark.parametrize("exc", NEVER_SENT, ids=repr)
def test_a_submit_that_never_reached_topview_is_retryable(exc: Exception) -> None:
    failure = submit_failure(exc)
    assert isinstance(failure, ApplicationError)
    assert not failure.non_retryable
    assert failure.type == type(exc).__name__


@pytest.mark.parametrize("exc", REFUSED, ids=repr)
def test_a_refused_submit_is_not_retried(exc: Exception) -> None:
    failure = submit_failure(exc)
    assert failure.non_retryable
    assert failure.type == type(exc).__name__


@pytest.mark.parametrize("exc", MAYBE_SENT, ids=repr)
def test_anything_else_is_an_unknown_outcome_never_retried(exc: Exception) -> None:
    failure = submit_failure(exc)
    assert failure.non_retryable
    assert failure.type == "SubmitOutcomeUnknownError"


def test_an_unknown_outcome_carries_the_request_that_was_sent() -> None:
    request = {"method": "POST", "url": "https://api.test/v1/m2v/task/submit", "body": {"a": 1}}
    exc = SubmitOutcomeUnknownError(
        "lost", request=SubmittedRequest("POST", request["url"], {"a": 1})
    )
    failure = submit_failure(exc, callbacks=False)
    assert failure.non_retryable
    assert failure.type == "SubmitOutcomeUnknownError"
    decision, callbacks = decision_of(failure)
    assert decision.verdict == "outcome_unknown"
    assert decision.request == request
    assert callbacks is False


def test_no_credit_is_not_sent_again_until_the_user_says_so() -> None:
    failure = submit_failure(InsufficientCreditError("no credit", code="4100"))
    decision, _ = decision_of(failure)
    assert (decision.verdict, decision.reason) == ("retry", "no_credit")


def test_an_attempt_that_never_reported_back_has_an_unknown_outcome() -> None:
    decision, callbacks = decision_of(None)
    assert decision.verdict == "outcome_unknown"
    assert callbacks is None


@pytest.mark.parametrize(
    ("exc", "retryable"),
    [
        (APIConnectionError("reset"), True),
        (http(502), True),
        (ServerError("internal", code="5000"), True),
        (UploadError("PUT failed"), True),
        (NotFoundError("no such task", code="4004"), False),
        (InvalidRequestError("bad", code="4000"), False),
        (InvalidInputError("bad"), False),
    ],
    ids=repr,
)
def test_reads_retry_unless_repeating_cannot_help(exc: Exception, retryable: bool) -> None:
    assert read_failure(exc).non_retryable is not retryable


def test_file_arguments_come_from_the_spec_file_fields() -> None:
    client = AsyncTopview(api_key="k", uid="u")
    assert file_parameters(client, "image_to_video") == {"image_file_id"}
    m2v = file_parameters(client, "m2v")
    assert {"file_ids", "endcard_file_id", "logo_file_id"} <= m2v
    assert "product_link" not in m2v


UPLOAD_CREDENTIAL = "/v1/upload/credential"


@pytest.mark.anyio
@pytest.mark.usefixtures("short_sdk_sleeps")
@pytest.mark.parametrize(
    "bad",
    [{"duration": "forever"}, {"nope": 1}, {"mode": None, "duration": 5}],
    ids=["invalid-value", "unknown-argument", "missing-required"],
)
async def test_the_upload_step_checks_the_whole_submit_before_any_upload(
    tmp_path: Path, bad: dict[str, object]
) -> None:
    """A bad argument fails the Temporal upload step before the first upload request."""
    from temporalio.testing import ActivityEnvironment

    from topview_async.temporal import TopviewActivities
    from topview_async.temporal._model import UploadInput

    image = write_png(tmp_path / "front.png")
    good: dict[str, object] = {
        "image_file_id": str(image),
        "duration": 5,
        "mode": "lite",
        "generating_count": 1,
    }
    with SimulatorServer(SimulatorConfig(seed=8)) as sim:
        async with make_client(sim) as client:
            activities = TopviewActivities(client)
            environment = ActivityEnvironment()
            with pytest.raises(ApplicationError) as caught:
                await environment.run(
                    activities.upload, UploadInput("image_to_video", {**good, **bad})
                )
            refused = sim.simulator.requests.counts[UPLOAD_CREDENTIAL]
            params = await environment.run(activities.upload, UploadInput("image_to_video", good))
            uploaded = sim.simulator.requests.counts[UPLOAD_CREDENTIAL]
    assert caught.value.non_retryable
    assert refused == 0
    assert uploaded == 1
    assert params["image_file_id"] != str(image)
    assert {k: v for k, v in params.items() if k != "image_file_id"} == {
        k: v for k, v in good.items() if k != "image_file_id"
    }
