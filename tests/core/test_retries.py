"""Retries per RetryPolicy and operation kind; paid submits are never sent twice on doubt."""

from __future__ import annotations

import email.utils
import logging
import random
import time

import httpx
import pytest

from topview_async._config import RetryPolicy, parse_retry_after
from topview_async._exceptions import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    HTTPStatusError,
    InvalidRequestError,
    ResponseValidationError,
    ServerBusyError,
    ServerError,
    SubmitOutcomeUnknownError,
    UnfinishedTaskError,
)

from .helpers import API_KEY, READ, SUBMIT, UID, WRITE, Recorder, call, code, make_client, ok

pytestmark = pytest.mark.anyio

NO_JITTER = RetryPolicy(attempts=4, wait_initial=1.0, wait_max=3.0, wait_jitter=False)


def test_backoff_is_exponential_and_capped_without_jitter() -> None:
    assert [NO_JITTER.backoff(n) for n in range(1, 6)] == [1.0, 2.0, 3.0, 3.0, 3.0]


def test_full_jitter_stays_between_zero_and_the_capped_backoff() -> None:
    policy = RetryPolicy(wait_initial=1.0, wait_max=3.0)
    rng = random.Random(1234)
    for retry_number, ceiling in [(1, 1.0), (2, 2.0), (3, 3.0), (10, 3.0)]:
        waits = [policy.backoff(retry_number, rng=rng) for _ in range(200)]
        assert all(0.0 <= wait <= ceiling for wait in waits)
        assert max(waits) > ceiling / 2  # jitter spreads, not a constant


def test_retry_after_in_seconds_and_http_date_capped() -> None:
    now = 1_700_000_000.0
    http_date = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after("7", now=now) == 7.0
    assert parse_retry_after(http_date, now=now) == pytest.approx(30.0)
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None
    policy = RetryPolicy(retry_after_max=10.0)
    assert policy.wait_for_retry(1, "120") is None  # longer than allowed: no retry
    assert policy.wait_for_retry(1, "2.5") == 2.5


def test_attempts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="attempts"):
        RetryPolicy(attempts=0)


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("dropped"),
        httpx.Response(429),
        httpx.Response(502),
        httpx.Response(503),
        httpx.Response(504),
        code("5000"),
        code("5001"),
        code("5003"),
        code("5004"),
        # Issue 11.1: a read is safe to repeat, so these transient replies are retried too.
        httpx.Response(500),
        code("5005"),
        httpx.Response(200, text="not json"),
        httpx.Response(200, text='{"code": "200", "mess'),
        httpx.Response(200, json={"unexpected": "shape"}),
        httpx.Response(200, text="<html>gateway</html>", headers={"Content-Type": "text/html"}),
    ],
)
async def test_reads_retry_transient_failures(
    failure: httpx.Response | Exception, sleeps: list[float]
) -> None:
    recorder = Recorder(failure, failure, ok({"id": 1}))
    async with make_client(recorder, retry=NO_JITTER) as client:
        assert await call(client, READ) == {"id": 1}
    assert len(recorder.requests) == 3
    assert sleeps == [1.0, 2.0]


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (code("4000"), InvalidRequestError),
        (code("4007"), UnfinishedTaskError),
        (code("9999"), APIError),
        (code("5002"), APIError),
        (httpx.Response(400), HTTPStatusError),
        (httpx.Response(501), HTTPStatusError),
    ],
)
async def test_reads_do_not_retry_definite_failures(
    failure: httpx.Response, expected: type[Exception]
) -> None:
    recorder = Recorder(failure, ok())
    async with make_client(recorder, retry=NO_JITTER) as client:
        with pytest.raises(expected):
            await call(client, READ)
    assert len(recorder.requests) == 1


async def test_retries_stop_after_attempts_and_raise_the_last_error(sleeps: list[float]) -> None:
    recorder = Recorder(httpx.ReadTimeout("slow"))
    async with make_client(recorder, retry=NO_JITTER) as client:
        with pytest.raises(APITimeoutError) as caught:
            await call(client, READ)
    assert len(recorder.requests) == 4
    assert len(sleeps) == 3
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)


@pytest.mark.parametrize("disabled", [RetryPolicy(attempts=1), RetryPolicy.disabled(), None])
async def test_one_attempt_disables_retries(disabled: RetryPolicy | None) -> None:
    recorder = Recorder(httpx.ConnectError("refused"), ok())
    async with make_client(recorder, retry=disabled) as client:
        with pytest.raises(APIConnectionError):
            await call(client, READ)
    assert len(recorder.requests) == 1


@pytest.mark.parametrize("operation", [SUBMIT, WRITE])
@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("no answer to SYN"),
        httpx.PoolTimeout("pool full"),
        httpx.Response(429),
        httpx.Response(503),
        code("5003"),
    ],
)
async def test_submits_and_writes_retry_when_nothing_was_processed(
    operation: object, failure: httpx.Response | Exception
) -> None:
    recorder = Recorder(failure, ok({"taskId": "t"}))
    async with make_client(recorder, retry=NO_JITTER) as client:
        assert await call(client, operation, body={"a": 1}) == {"taskId": "t"}
    assert len(recorder.requests) == 2


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadTimeout("slow"),
        httpx.WriteTimeout("slow write"),
        httpx.RemoteProtocolError("server disconnected"),
        httpx.ReadError("reset"),
        httpx.Response(502),
        httpx.Response(504),
        httpx.Response(500),
        httpx.Response(200, text="not json"),
    ],
)
async def test_ambiguous_submit_failure_raises_outcome_unknown_without_resubmitting(
    failure: httpx.Response | Exception, sleeps: list[float]
) -> None:
    recorder = Recorder(failure, ok({"taskId": "t"}))
    async with make_client(recorder, retry=NO_JITTER) as client:
        with pytest.raises(SubmitOutcomeUnknownError) as caught:
            await call(client, SUBMIT, body={"productName": "shoe", "skip": None})
    assert len(recorder.requests) == 1
    assert sleeps == []
    error = caught.value
    assert error.request.method == "POST"
    assert error.request.url == "https://api.topview.test/v1/thing/submit"
    assert error.request.body == {"productName": "shoe"}
    assert error.operation is SUBMIT
    assert isinstance(
        error.__cause__, APIConnectionError | HTTPStatusError | ResponseValidationError
    )
    text = f"{error} {error!r} {error.request!r}"
    assert API_KEY not in text
    assert UID not in text


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadTimeout("slow"),
        httpx.Response(502),
        httpx.Response(500),
        code("5000"),
        code("5005"),
        httpx.Response(200, text="not json"),
    ],
)
async def test_writes_are_not_retried_on_ambiguous_failure(
    failure: httpx.Response | Exception,
) -> None:
    recorder = Recorder(failure, ok())
    async with make_client(recorder, retry=NO_JITTER) as client:
        with pytest.raises(
            (APITimeoutError, HTTPStatusError, ServerError, ResponseValidationError)
        ):
            await call(client, WRITE, body={})
    assert len(recorder.requests) == 1


@pytest.mark.parametrize("failure", [code("5000"), code("5001"), code("5004"), code("5005")])
async def test_submits_are_not_retried_on_server_error_codes(
    failure: httpx.Response, sleeps: list[float]
) -> None:
    # The task may have been stored before Topview failed: a retry could charge twice.
    recorder = Recorder(failure, ok({"taskId": "t"}))
    async with make_client(recorder, retry=NO_JITTER) as client:
        with pytest.raises(ServerError):
            await call(client, SUBMIT, body={})
    assert len(recorder.requests) == 1
    assert sleeps == []


async def test_read_gives_up_on_malformed_replies_after_its_attempts(sleeps: list[float]) -> None:
    recorder = Recorder(httpx.Response(200, text="garbage"))
    async with make_client(recorder, retry=NO_JITTER) as client:
        with pytest.raises(ResponseValidationError):
            await call(client, READ)
    assert len(recorder.requests) == NO_JITTER.attempts
    assert len(sleeps) == NO_JITTER.attempts - 1


async def test_result_that_breaks_the_spec_is_not_retried() -> None:
    # A valid envelope whose result has the wrong type is deterministic, not transient.
    recorder = Recorder(ok("not a bool"), ok(True))
    async with make_client(recorder, retry=NO_JITTER) as client:
        with pytest.raises(ResponseValidationError):
            await call(client, READ, result_type=bool)
    assert len(recorder.requests) == 1


async def test_unfinished_task_is_its_own_error_and_not_retried() -> None:
    recorder = Recorder(code("4007", "Exists unfinished task"), ok())
    async with make_client(recorder, retry=NO_JITTER) as client:
        with pytest.raises(UnfinishedTaskError):
            await call(client, SUBMIT, body={})
    assert len(recorder.requests) == 1


@pytest.mark.parametrize(
    ("header", "expected"),
    [("4", 4.0), ("60", 60.0), (None, 1.0)],
)
async def test_retry_after_is_honoured(
    header: str | None, expected: float, sleeps: list[float]
) -> None:
    headers = {"Retry-After": header} if header else {}
    recorder = Recorder(httpx.Response(429, headers=headers), ok())
    async with make_client(recorder, retry=NO_JITTER) as client:
        await call(client, SUBMIT, body={})
    assert sleeps == [expected]


async def test_retry_after_http_date_on_busy_code(sleeps: list[float]) -> None:
    when = email.utils.formatdate(time.time() + 20, usegmt=True)
    recorder = Recorder(code("5003", **{"Retry-After": when}), ok())
    async with make_client(recorder, retry=NO_JITTER) as client:
        await call(client, READ)
    assert len(sleeps) == 1
    assert 15.0 < sleeps[0] <= 20.0


async def test_busy_error_after_exhausted_retries() -> None:
    recorder = Recorder(code("5003", "Server is busy"))
    async with make_client(recorder, retry=RetryPolicy(attempts=2)) as client:
        with pytest.raises(ServerBusyError):
            await call(client, SUBMIT, body={})
    assert len(recorder.requests) == 2


async def test_every_retry_is_logged_with_its_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    recorder = Recorder(httpx.Response(503), code("5001"), ok())
    caplog.set_level(logging.INFO, logger="topview_async")
    async with make_client(recorder, retry=NO_JITTER) as client:
        await call(client, READ)
    retries = [r for r in caplog.records if r.levelno == logging.INFO and "retrying" in r.message]
    assert len(retries) == 2
    assert "HTTP 503" in retries[0].message
    assert "code=5001" in retries[1].message
