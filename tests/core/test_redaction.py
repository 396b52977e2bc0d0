"""The API key and uid never appear in logs, reprs or exception text; TOPVIEW_LOG works."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator

import httpx
import pytest

from topview_async import _logging
from topview_async._client import AsyncTopview
from topview_async._config import RetryPolicy
from topview_async._exceptions import TopviewError

from .helpers import API_KEY, READ, SUBMIT, UID, WRITE, Recorder, call, code, make_client, ok
from .loopback import refused_url, serve

pytestmark = pytest.mark.anyio


@pytest.fixture
def restore_logger() -> Iterator[None]:
    logger = logging.getLogger("topview_async")
    level, handlers = logger.level, list(logger.handlers)
    yield
    logger.setLevel(level)
    for handler in logger.handlers:
        if handler not in handlers:
            logger.removeHandler(handler)
    _logging._handler = None


def _exception_text(error: BaseException) -> str:
    return "".join(traceback.format_exception(error)) + repr(error) + str(vars(error))


async def test_secrets_never_appear_in_logs_or_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    recorder = Recorder(
        ok({"x": 1}),
        httpx.Response(503, text="busy"),
        code("5003"),
        ok(True),
        code("401", "Unauthorized, need to login again"),
        httpx.ReadTimeout("slow"),
        httpx.Response(502),
        httpx.Response(200, text="garbage"),
        ok("not a bool"),
        httpx.ConnectError("refused"),
    )
    async with make_client(recorder, retry=RetryPolicy(attempts=3)) as client:
        texts.append(repr(client))
        await call(client, READ)
        await call(client, READ, result_type=bool)
        for operation in (READ, SUBMIT, WRITE, READ, READ):
            try:
                await call(
                    client, operation, body={} if operation is not READ else None, result_type=bool
                )
            except TopviewError as error:
                texts.append(_exception_text(error))
    async with (
        serve("drop") as server,
        AsyncTopview(api_key=API_KEY, uid=UID, base_url=server.url) as client,
    ):
        with pytest.raises(TopviewError) as caught:
            await call(client, SUBMIT, body={"a": 1})
        texts.append(_exception_text(caught.value))
    async with AsyncTopview(api_key=API_KEY, uid=UID, base_url=refused_url()) as client:
        with pytest.raises(TopviewError) as caught:
            await call(client, READ)
        texts.append(_exception_text(caught.value))
    assert len(texts) >= 6
    assert any(record.getMessage().startswith("retrying") for record in caplog.records)
    everything = caplog.text + "\n".join(texts)
    assert "/v1/thing" in everything  # the capture did see the traffic
    assert API_KEY not in everything
    assert UID not in everything
    assert API_KEY[-12:] not in everything


async def test_topview_log_env_turns_on_request_logging(
    monkeypatch: pytest.MonkeyPatch, restore_logger: None, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TOPVIEW_LOG", "debug")
    async with make_client(Recorder(ok())) as client:
        await call(client, READ)
    logger = logging.getLogger("topview_async")
    assert logger.level == logging.DEBUG
    err = capsys.readouterr().err
    assert "GET /v1/thing 200 code=200 attempt=1" in err
    assert API_KEY not in err
