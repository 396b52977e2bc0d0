"""Call every generated operation against Prism, a mock server nobody here wrote.

Usage (``nox -s contract`` runs exactly this)::

    python tests/contract/run_prism.py --prism .tools/node_modules/.bin/prism

Prism (``@stoplight/prism-cli``) serves ``openapi/topview.yaml`` with request validation: a
request that breaks the spec (a wrong type, a missing required field or parameter, missing
credentials) is answered 4xx instead of the spec's example. This script starts Prism, calls
each operation through the real client (arguments from ``contract_args``), checks that the
call succeeds, that exactly the planned request reached the wire and that the result parses
into its typed model, then proves the check bites by sending requests Prism must reject.
Exits non-zero on any failure; Prism's process group is killed on every way out.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import json
import os
import signal
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import contract_args as plan
import httpx

from topview_async import AsyncTopview
from topview_async._exceptions import TopviewError
from topview_async._generated import models
from topview_async._generated.operations import OPERATIONS
from topview_async._transport import AiohttpTransport
from topview_async.lib.tasks import Task

Schemas = Mapping[str, Any]
API_KEY = "sk-contract-0123456789"
UID = "contract-uid"
START_TIMEOUT = 90.0  # Prism compiles the whole spec before it listens
CALL_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
READY_MARKER = "Prism is listening on"


class Prism:
    """One ``prism mock`` process in its own process group, its output kept for diagnostics."""

    def __init__(self, binary: str, spec: Path) -> None:
        self.binary = binary
        self.spec = spec
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.lines: list[str] = []
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            self.binary,
            "mock",
            str(self.spec),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--errors",  # violations become error responses, not just log lines
            "--dynamic",
            "false",  # serve the spec's examples, so responses are deterministic
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() kills node and children
        )
        self._reader = asyncio.create_task(self._read_output())
        exited = asyncio.create_task(self._process.wait())
        ready = asyncio.create_task(self._ready.wait())
        done, _ = await asyncio.wait(
            {exited, ready}, timeout=START_TIMEOUT, return_when="FIRST_COMPLETED"
        )
        for waiter in (exited, ready):
            waiter.cancel()
        if ready not in done:
            why = "exited" if exited in done else f"did not listen within {START_TIMEOUT:.0f}s"
            raise RuntimeError(f"Prism {why}:\n{self.tail()}")

    async def _read_output(self) -> None:
        # Draining continuously also keeps Prism from blocking on a full pipe.
        process = self._process
        assert process is not None
        assert process.stdout is not None
        async for raw in process.stdout:
            line = raw.decode("utf-8", "replace").rstrip()
            self.lines.append(line)
            if READY_MARKER in line:
                self._ready.set()

    async def stop(self) -> None:
        process = self._process
        if process is None:
            return
        if process.returncode is None:
            _signal_group(process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
            except TimeoutError:
                _signal_group(process.pid, signal.SIGKILL)
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
        # Children that outlived the leader share its group: make sure none is left.
        _signal_group(process.pid, signal.SIGKILL)
        if self._reader is not None:
            self._reader.cancel()

    def tail(self, count: int = 40) -> str:
        return "\n".join(f"    prism| {line}" for line in self.lines[-count:])


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class BiteRequest:
    """A request that breaks the spec and the HTTP status Prism must answer it with."""

    description: str
    method: str
    path: str
    options: dict[str, Any]
    expected_status: int


class RecordingTransport(httpx.AsyncBaseTransport):
    """The client's default transport, with every exchange kept for inspection."""

    def __init__(self) -> None:
        self.inner = AiohttpTransport()
        self.exchanges: list[tuple[httpx.Request, httpx.Response]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        self.exchanges.append((request, response))
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


# -- one contract call ---------------------------------------------------------------------


async def check_call(
    client: AsyncTopview, recorder: RecordingTransport, call: plan.PlannedCall, schemas: Schemas
) -> str:
    """Run one planned call; return a short description of the result or raise AssertionError."""
    resource = getattr(client, call.resource, None)
    method = getattr(resource, call.method, None)
    if method is None:
        raise AssertionError(f"client.{call.resource}.{call.method} does not exist")
    accepted = set(inspect.signature(method).parameters)
    unknown = sorted(set(call.kwargs) - accepted)
    if unknown:
        raise AssertionError(f"the stub takes no parameter(s) {unknown} for spec fields")
    before = len(recorder.exchanges)
    try:
        result = await asyncio.wait_for(method(**call.kwargs), CALL_TIMEOUT)
    except TopviewError as exc:
        raise AssertionError(_explain_error(exc, recorder.exchanges[before:])) from exc
    exchanges = recorder.exchanges[before:]
    if len(exchanges) != 1:
        raise AssertionError(f"expected one HTTP exchange, saw {len(exchanges)}")
    _check_wire(call, *exchanges[0])
    return _check_result(call, result, schemas)


def _check_wire(call: plan.PlannedCall, request: httpx.Request, response: httpx.Response) -> None:
    problems: list[str] = []
    if request.method != call.http_method or request.url.path != call.path:
        problems.append(f"sent {request.method} {request.url.path}")
    sent_query = dict(request.url.params.multi_items())
    if sent_query != plan.wire_query(call.query):
        problems.append(f"query {sent_query} != planned {plan.wire_query(call.query)}")
    sent_body = json.loads(request.content) if request.content else None
    expected_body = None if call.body is None else plan.wire_json(call.body)
    if sent_body != expected_body:
        problems.append(f"body {sent_body} != planned {expected_body}")
    if request.headers.get("authorization") != f"Bearer {API_KEY}":
        problems.append("Authorization header missing or wrong")
    if request.headers.get("topview-uid") != UID:
        problems.append("Topview-Uid header missing or wrong")
    violations = response.headers.get("sl-violations")
    if violations:
        problems.append(f"Prism reported violations: {violations}")
    if problems:
        raise AssertionError("; ".join(problems))


def _check_result(call: plan.PlannedCall, result: object, schemas: Schemas) -> str:
    if call.kind == "submit":
        if not isinstance(result, Task) or not result.task_id:
            raise AssertionError(
                f"a submit returned {type(result).__name__}, not a Task with an id"
            )
        if not conforms(result.submit_result, call.result_schema, schemas):
            raise AssertionError(f"submit result {result.submit_result!r} is not the typed model")
        return f"Task({result.kind}, {type(result.submit_result).__name__})"
    if not conforms(result, call.result_schema, schemas):
        raise AssertionError(f"result {type(result).__name__} does not match {call.result_schema}")
    if isinstance(result, list):
        inner = type(result[0]).__name__ if result else "empty"
        return f"list[{inner}] ({len(result)})"
    return type(result).__name__


def conforms(value: object, schema: Mapping[str, Any], schemas: Schemas) -> bool:
    """Whether ``value`` is the typed form of ``schema`` (named object schemas are models)."""
    if "$ref" in schema:
        name = str(schema["$ref"]).removeprefix(plan.REF_PREFIX)
        target = schemas[name]
        if target.get("type") == "object" or "properties" in target:
            model = getattr(models, name, None)
            return model is not None and isinstance(value, model)
        return conforms(value, target, schemas)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return any(conforms(value, branch, schemas) for branch in schema[key])
    kinds = schema.get("type")
    if kinds is None:
        return True
    checks = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "null": lambda v: v is None,
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: (
            isinstance(v, list) and all(conforms(i, schema.get("items", {}), schemas) for i in v)
        ),
    }
    return any(checks[kind](value) for kind in ([kinds] if isinstance(kinds, str) else kinds))


def _failure_text(exc: Exception) -> str:
    if isinstance(exc, AssertionError):
        return str(exc)
    if isinstance(exc, TimeoutError):
        return f"no answer within {CALL_TIMEOUT:.0f}s"
    return f"unexpected {type(exc).__name__}: {exc}"


def _explain_error(exc: TopviewError, exchanges: list[tuple[httpx.Request, httpx.Response]]) -> str:
    if not exchanges:
        return f"nothing was sent: {type(exc).__name__}: {exc}"
    response = exchanges[-1][1]
    status = response.status_code
    if 400 <= status < 500:
        return f"Prism rejected the request as breaking the spec: {_problem(status, response.text)}"
    if status >= 500:
        # With --errors Prism answers 500 when its own answer (the spec's example) breaks the
        # spec's schema: a spec problem, not a client one.
        return (
            "Prism found the spec's response example invalid against its schema: "
            f"{_problem(status, response.text)}"
        )
    text = f"{type(exc).__name__}: {exc}"
    code = getattr(exc, "code", None)
    if code not in (None, "200"):
        text += (
            f" (HTTP {status}, envelope code {code!r}: Prism served the spec's 200 response"
            ' example, so that example is not a success envelope with code "200")'
        )
    return text


def _problem(status: int, body: str | None) -> str:
    """Prism's problem+json, with every validation message on its own line."""
    try:
        data = json.loads(body or "")
    except ValueError:
        return f"HTTP {status}: {body}"
    lines = [f"HTTP {status} {data.get('title', '')}: {data.get('detail', '')}".rstrip(": ")]
    for item in data.get("validation", []):
        where = ".".join(str(part) for part in item.get("location", []))
        lines.append(f"      - [{item.get('severity')}] {where}: {item.get('message')}")
    return "\n".join(lines)


# -- proving the check bites ---------------------------------------------------------------


def bite_requests(calls: list[plan.PlannedCall]) -> list[BiteRequest]:
    """Requests that break the spec, with the status Prism must answer, built from the plan."""
    auth = {"Authorization": f"Bearer {API_KEY}", "Topview-Uid": UID}
    submit = next(c for c in calls if c.kind == "submit" and c.body)
    wrong_body = {name: {"contract": "wrong type"} for name in submit.body or {}}
    needs_query = next(c for c in calls if c.http_method == "GET" and c.query)
    read = next(c for c in calls if c.http_method == "GET")
    return [
        BiteRequest(
            f"{submit.operation_id} with every body field of the wrong type",
            submit.http_method,
            submit.path,
            {"json": wrong_body, "headers": auth},
            422,
        ),
        BiteRequest(
            f"{needs_query.operation_id} without its required query parameters",
            "GET",
            needs_query.path,
            {"headers": auth},
            422,
        ),
        BiteRequest(
            f"{read.operation_id} without the Topview-Uid header",
            "GET",
            read.path,
            {
                "params": plan.wire_query(read.query),
                "headers": {"Authorization": auth["Authorization"]},
            },
            401,
        ),
    ]


async def check_bites(base_url: str, calls: list[plan.PlannedCall]) -> list[str]:
    """Send each bite request with plain httpx (no local validation); Prism must reject it."""
    failures: list[str] = []
    async with httpx.AsyncClient(base_url=base_url, timeout=CALL_TIMEOUT) as http:
        for bite in bite_requests(calls):
            response = await http.request(bite.method, bite.path, **bite.options)
            detail = _problem(response.status_code, response.text).splitlines()
            if response.status_code == bite.expected_status:
                print(f"BITES {bite.description}: {detail[0]}")
                for line in detail[1:4]:
                    print(f"  {line.strip()}")
            else:
                failures.append(bite.description)
                print(
                    f"FAIL  {bite.description}: expected HTTP {bite.expected_status}, "
                    f"Prism answered {detail[0]} (the contract run cannot detect this violation)"
                )
    return failures


# -- main ----------------------------------------------------------------------------------


async def run(prism_binary: str, spec_path: Path) -> int:
    spec = plan.load_spec(spec_path)
    schemas: Schemas = spec.get("components", {}).get("schemas", {})
    try:
        calls = plan.plan_calls(spec)
    except plan.ContractSpecError as exc:
        print(f"FAIL  the spec cannot be turned into contract calls: {exc}")
        return 1
    failures: list[str] = []
    failed_calls = 0
    missing = sorted(set(OPERATIONS) - {c.operation_id for c in calls})
    extra = sorted({c.operation_id for c in calls} - set(OPERATIONS))
    if missing or extra:
        failures.append("coverage")
        print(f"FAIL  coverage: no contract call for {missing}; not generated: {extra}")
    prism = Prism(prism_binary, spec_path)
    # SIGTERM (a CI timeout, nox interrupted) cancels the run, so the finally below still
    # stops Prism instead of leaving it listening.
    main_task = asyncio.current_task()
    assert main_task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    try:
        await prism.start()
        print(f"Prism {prism.url} serving {spec_path} ({len(calls)} calls)")
        recorder = RecordingTransport()
        client = AsyncTopview(
            api_key=API_KEY, uid=UID, base_url=prism.url, retry=None, transport=recorder
        )
        async with client:
            for call in calls:
                try:
                    summary = await check_call(client, recorder, call, schemas)
                except Exception as exc:  # every call is reported, not just the first failure
                    failed_calls += 1
                    failures.append(call.describe())
                    print(f"FAIL  {call.describe()}\n      {_failure_text(exc)}")
                else:
                    print(f"PASS  {call.describe()} -> {summary}")
        failures.extend(await check_bites(prism.url, calls))
    except Exception:
        print(prism.tail(), file=sys.stderr)
        raise
    finally:
        await prism.stop()
    passed = len(calls) - failed_calls
    print(
        f"contract: {len(OPERATIONS)} operations, {len(calls)} calls, {passed} passed, "
        f"{len(failures)} failure(s)"
    )
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--prism", required=True, help="path to the prism binary (prism-cli 5.16.0)"
    )
    parser.add_argument(
        "--spec",
        default=str(plan.SPEC_PATH),
        help="the OpenAPI document (default: openapi/topview.yaml; another path tries a fix)",
    )
    args = parser.parse_args(argv)
    if not Path(args.prism).exists():
        parser.error(f"no prism binary at {args.prism}")
    return asyncio.run(run(args.prism, Path(args.spec)))


if __name__ == "__main__":
    sys.exit(main())
