"""The engine-neutral decisions: may a submit be sent again, and how a job moves."""

from __future__ import annotations

import json

import httpx
import pytest

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
    ResponseValidationError,
    ServerBusyError,
    ServerError,
    SubmitOutcomeUnknownError,
    SubmittedRequest,
    TopviewError,
    UnfinishedTaskError,
    UploadError,
)
from topview_async.jobs import (
    Action,
    EngineSettings,
    JobStatus,
    SubmitReason,
    SubmitVerdict,
    decide_submit_failure,
    transition,
)
from topview_async.jobs._decide import (
    FilesSaved,
    Interrupted,
    NotReceived,
    SubmitAccepted,
    SubmitFailed,
    SubmitIntent,
    TaskEnded,
    TaskFound,
)


def http(status: int) -> HTTPStatusError:
    return HTTPStatusError(f"HTTP {status}", status_code=status, body="")


RETRY, FAILED, UNKNOWN = SubmitVerdict.RETRY, SubmitVerdict.FAILED, SubmitVerdict.OUTCOME_UNKNOWN

TABLE: list[tuple[BaseException, SubmitVerdict, SubmitReason]] = [
    (APIConnectionError("refused"), RETRY, SubmitReason.NOT_SENT),
    (APITimeoutError("connect timeout"), RETRY, SubmitReason.NOT_SENT),
    (UploadError("PUT failed"), RETRY, SubmitReason.NOT_SENT),
    (ClientClosedError("closed"), RETRY, SubmitReason.NOT_SENT),
    (http(429), RETRY, SubmitReason.NOT_SENT),
    (http(503), RETRY, SubmitReason.NOT_SENT),
    (UnfinishedTaskError("busy", code="4007"), RETRY, SubmitReason.BUSY),
    (ServerBusyError("busy", code="5003"), RETRY, SubmitReason.BUSY),
    (InsufficientCreditError("no credit", code="4100"), RETRY, SubmitReason.NO_CREDIT),
    (http(400), FAILED, SubmitReason.REFUSED),
    (http(401), FAILED, SubmitReason.REFUSED),
    (InvalidRequestError("bad", code="4000"), FAILED, SubmitReason.REFUSED),
    (InvalidInputError("bad"), FAILED, SubmitReason.INVALID_INPUT),
    (InvalidFileError("a.png", "empty"), FAILED, SubmitReason.INVALID_INPUT),
    (TypeError("unexpected keyword"), FAILED, SubmitReason.INVALID_INPUT),
    (FileNotFoundError("a.png"), FAILED, SubmitReason.INVALID_INPUT),
    (ServerError("internal", code="5000"), UNKNOWN, SubmitReason.SERVER_ERROR),
    (http(500), UNKNOWN, SubmitReason.SERVER_ERROR),
    (http(502), UNKNOWN, SubmitReason.SERVER_ERROR),
    (
        ResponseValidationError("bad result", body="{}", code="200"),
        UNKNOWN,
        SubmitReason.REPLY_UNREADABLE,
    ),
    (TopviewError("the submit response carries no taskId"), UNKNOWN, SubmitReason.UNCLASSIFIED),
    (RuntimeError("bug"), UNKNOWN, SubmitReason.UNCLASSIFIED),
    (TimeoutError(), UNKNOWN, SubmitReason.UNCLASSIFIED),
    (
        SubmitOutcomeUnknownError("lost", request=SubmittedRequest("POST", "https://x/y", {})),
        UNKNOWN,
        SubmitReason.REPLY_LOST,
    ),
]


@pytest.mark.parametrize(("exc", "verdict", "reason"), TABLE, ids=repr)
def test_may_this_submit_be_sent_again(
    exc: BaseException, verdict: SubmitVerdict, reason: SubmitReason
) -> None:
    decision = decide_submit_failure(exc)
    assert (decision.verdict, decision.reason) == (verdict, reason)


def test_a_code_200_reply_that_fails_validation_keeps_its_task_id() -> None:
    body = json.dumps({"code": "200", "result": {"taskId": "t-42", "status": []}})
    decision = decide_submit_failure(ResponseValidationError("bad", body=body, code="200"))
    assert decision.verdict is UNKNOWN
    assert decision.task_id == "t-42"


def reply(result: object) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"code": "200", "message": "ok", "result": result})

    return httpx.MockTransport(handler)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("result", "task_id"),
    [({"taskId": "t-7", "status": {"not": "a status"}}, "t-7"), ({"status": "init"}, None)],
    ids=["result-fails-validation", "no-taskId"],
)
async def test_the_pipeline_reports_a_code_200_submit_it_cannot_read_as_unknown_outcome(
    result: object, task_id: str | None
) -> None:
    client = AsyncTopview(api_key="k", uid="u", transport=reply(result), retry=None)
    async with client:
        with pytest.raises(SubmitOutcomeUnknownError) as caught:
            await client.tasks.submit("m2v", product_link="https://shop.test/p")
    assert caught.value.task_id == task_id
    decision = decide_submit_failure(caught.value)
    assert decision.verdict is UNKNOWN
    assert decision.task_id == task_id


S = JobStatus


def failed(exc: BaseException, repeat: int = 1) -> SubmitFailed:
    return SubmitFailed(decide_submit_failure(exc), repeat)


SETTINGS = EngineSettings(busy_wait=10, busy_wait_max=40, retry_wait=1, retry_attempts=3)

TRANSITIONS = [
    (S.PENDING, SubmitIntent(), S.SUBMITTING, Action.SEND, 0.0),
    (S.SUBMITTING, SubmitAccepted("t"), S.RUNNING, Action.WAIT, 0.0),
    (S.SUBMITTING, failed(http(400)), S.FAILED, Action.DONE, 0.0),
    (S.SUBMITTING, failed(http(502)), S.OUTCOME_UNKNOWN, Action.RECONCILE, 0.0),
    (S.SUBMITTING, failed(APIConnectionError("x"), 1), S.PENDING, Action.SUBMIT, 1.0),
    (S.SUBMITTING, failed(APIConnectionError("x"), 3), S.PENDING, Action.SUBMIT, 4.0),
    (S.SUBMITTING, failed(APIConnectionError("x"), 4), S.PENDING, Action.HOLD, 0.0),
    (S.SUBMITTING, failed(ServerBusyError("b", code="5003"), 1), S.PENDING, Action.SUBMIT, 10.0),
    (S.SUBMITTING, failed(ServerBusyError("b", code="5003"), 9), S.PENDING, Action.SUBMIT, 40.0),
    (
        S.SUBMITTING,
        failed(InsufficientCreditError("c", code="4100")),
        S.PENDING,
        Action.HOLD,
        0.0,
    ),
    (S.SUBMITTING, Interrupted(), S.OUTCOME_UNKNOWN, Action.RECONCILE, 0.0),
    (S.OUTCOME_UNKNOWN, TaskFound("t"), S.RUNNING, Action.WAIT, 0.0),
    (S.OUTCOME_UNKNOWN, NotReceived(), S.PENDING, Action.SUBMIT, 0.0),
    (S.RUNNING, TaskEnded(True), S.RUNNING, Action.DOWNLOAD, 0.0),
    (S.RUNNING, TaskEnded(False, "boom"), S.FAILED, Action.DONE, 0.0),
    (S.RUNNING, FilesSaved(), S.DOWNLOADED, Action.DONE, 0.0),
]


@pytest.mark.parametrize(("status", "event", "after", "action", "delay"), TRANSITIONS, ids=repr)
def test_transitions(
    status: JobStatus, event: object, after: JobStatus, action: Action, delay: float
) -> None:
    step = transition(status, event, SETTINGS)  # type: ignore[arg-type]
    assert (step.status, step.action, step.delay) == (after, action, delay)


@pytest.mark.parametrize(
    ("status", "event"),
    [
        (S.PENDING, SubmitAccepted("t")),
        (S.DOWNLOADED, SubmitIntent()),
        (S.RUNNING, NotReceived()),
    ],
    ids=repr,
)
def test_an_impossible_event_is_an_engine_bug(status: JobStatus, event: object) -> None:
    with pytest.raises(ValueError, match="no transition"):
        transition(status, event)  # type: ignore[arg-type]


def test_an_unknown_outcome_keeps_the_task_id_its_reply_named() -> None:
    body = json.dumps({"code": "200", "result": {"taskId": "t-9"}})
    event = failed(ResponseValidationError("bad", body=body, code="200"))
    step = transition(S.SUBMITTING, event)
    assert (step.status, step.task_id) == (S.OUTCOME_UNKNOWN, "t-9")
