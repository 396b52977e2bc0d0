"""Per-call options reach the wire on every generated method, of both clients.

Each operation of the spec is called through its generated stub (arguments from the contract
plan) on an ``httpx.MockTransport`` that answers ``5003`` (busy: retried even for a submit),
with every option set: the request must carry the extra header, query parameter and body
field and this call's timeout, and ``retry=None`` must mean exactly one request. The sync
client (:class:`Topview`) runs the same plan through its generated twins.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator
from typing import Any

import contract_args as plan
import httpx
import pytest

from topview_async import AsyncTopview, ServerBusyError, Topview
from topview_async.testing import set_testing

CALLS = list({call.operation_id: call for call in plan.plan_calls()}.values())
TIMEOUT = httpx.Timeout(7.5, read=3.25)


class Busy:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200, json={"code": "5003", "message": "busy", "result": None})


def _options(call: plan.PlannedCall) -> dict[str, Any]:
    options: dict[str, Any] = {
        "extra_headers": {"X-Trace": "trace-1"},
        "extra_query": {"trace": "q1"},
        "timeout": TIMEOUT,
        "retry": None,
    }
    if call.body is not None:
        options["extra_body"] = {"futureField": "b1"}
    return options


def _check(call: plan.PlannedCall, requests: list[httpx.Request]) -> None:
    assert len(requests) == 1, "retry=None: one attempt, even for the always-retried 5003"
    request = requests[0]
    assert request.method == call.http_method
    assert request.url.path == call.path
    assert request.headers["X-Trace"] == "trace-1"
    assert request.headers["Topview-Uid"] == "uid-test"  # the SDK's own headers stay
    assert request.url.params["trace"] == "q1"
    for name, value in plan.wire_query(call.query).items():
        assert request.url.params.get(name) == value
    if call.body is not None:
        body = json.loads(request.content)
        assert body["futureField"] == "b1"
    assert request.extensions["timeout"] == TIMEOUT.as_dict()


@pytest.fixture(autouse=True)
def no_waits() -> Iterator[None]:
    async def skip(seconds: float) -> None:
        pass

    with set_testing(True, sleep=skip):
        yield


@pytest.mark.anyio
@pytest.mark.parametrize("call", CALLS, ids=lambda c: c.operation_id)
async def test_async_methods_send_every_option(call: plan.PlannedCall) -> None:
    busy = Busy()
    async with AsyncTopview(
        api_key="sk-test", uid="uid-test", transport=httpx.MockTransport(busy), local_files=False
    ) as client:
        method = getattr(getattr(client, call.resource), call.method)
        with pytest.raises(ServerBusyError):
            await method(**call.kwargs, **_options(call))
    _check(call, busy.requests)


@pytest.fixture(scope="module")
def sync_client() -> Iterator[tuple[Topview, Busy]]:
    busy = Busy()
    with Topview(
        api_key="sk-test", uid="uid-test", transport=httpx.MockTransport(busy), local_files=False
    ) as client:
        yield client, busy


@pytest.mark.parametrize("call", CALLS, ids=lambda c: c.operation_id)
def test_sync_methods_send_every_option(
    call: plan.PlannedCall, sync_client: tuple[Topview, Busy]
) -> None:
    client, busy = sync_client
    busy.requests.clear()
    method = getattr(getattr(client, call.resource), call.method)
    with pytest.raises(ServerBusyError):
        method(**call.kwargs, **_options(call))
    _check(call, busy.requests)


def test_every_generated_method_of_both_clients_takes_the_options() -> None:
    names = {"extra_headers", "extra_query", "extra_body", "timeout", "retry"}
    checked = 0
    with Topview(api_key="sk-test", uid="uid-test") as sync:
        for client in (sync.async_client, sync):
            for attribute in sorted({call.resource for call in CALLS}):
                resource = getattr(client, attribute)
                for name, function in inspect.getmembers(type(resource), inspect.isfunction):
                    generated = function.__module__.startswith("topview_async.resources.")
                    if name.startswith("_") or not generated:
                        continue  # private, or a handwritten helper of lib/
                    parameters = set(inspect.signature(function).parameters)
                    assert names <= parameters, f"{type(resource).__name__}.{name}"
                    checked += 1
    assert checked > 2 * len(CALLS)
