"""Shared helpers for the client-core tests: mock Topview answers and hand-built operations."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from topview_async._client import AsyncTopview
from topview_async._operation import Operation

API_KEY = "sk-test-0123456789abcdefSECRETKEY"
UID = "uid-SECRET-4711abcdef"
BASE_URL = "https://api.topview.test"

READ = Operation(
    operation_id="readThing", method="GET", path="/v1/thing", kind="read", resource="x"
)
SUBMIT = Operation(
    operation_id="submitThing", method="POST", path="/v1/thing/submit", kind="submit", resource="x"
)
WRITE = Operation(
    operation_id="writeThing", method="POST", path="/v1/thing/update", kind="write", resource="x"
)


def envelope(result: Any = None, code: Any = "200", message: str = "Success") -> dict[str, Any]:
    return {"code": code, "message": message, "result": result}


Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A MockTransport handler that answers from a script and keeps every request."""

    def __init__(self, *responses: httpx.Response | Exception | Handler) -> None:
        self.script = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)
        # A fresh copy each time, so one scripted answer can serve several attempts.
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    def bodies(self) -> list[Any]:
        return [json.loads(r.content) if r.content else None for r in self.requests]


def ok(result: Any = None, **headers: str) -> httpx.Response:
    return httpx.Response(200, json=envelope(result), headers=headers)


def code(value: Any, message: str = "nope", **headers: str) -> httpx.Response:
    return httpx.Response(200, json=envelope(None, code=value, message=message), headers=headers)


def make_client(recorder: Recorder, **kwargs: Any) -> AsyncTopview:
    """A client on a MockTransport answering from ``recorder``."""
    kwargs.setdefault("api_key", API_KEY)
    kwargs.setdefault("uid", UID)
    kwargs.setdefault("base_url", BASE_URL)
    return AsyncTopview(transport=httpx.MockTransport(recorder), **kwargs)


async def call(
    client: AsyncTopview,
    operation: Operation = READ,
    *,
    query: dict[str, object] | None = None,
    body: dict[str, object] | None = None,
    body_model: Any = None,
    result_type: Any = object,
    context: dict[str, str | None] | None = None,
) -> Any:
    return await client._pipeline.request(
        operation,
        query=query,
        body=body,
        body_model=body_model,
        result_type=result_type,
        context=context,
    )
