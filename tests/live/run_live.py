"""A read-only check of the spec against the real Topview API (``nox -s live``).

For whoever holds credentials: calls every free read operation of ``openapi/topview.yaml``
(catalogues, credit, task lists) and the notice-URL check, spending no credits, and validates
each reply against the spec in strict mode: the envelope must match the operation's 200
response schema, and every field the reply has that the spec does not describe is listed.
Nothing in CI runs it. Without ``TOPVIEW_API_KEY`` and ``TOPVIEW_UID`` it is skipped, saying
why. ``TOPVIEW_BASE_URL`` points it elsewhere (the tests use the simulator);
``TOPVIEW_LIVE_NOTICE_URL`` is the URL the notice check sends (default ``https://example.com/``).

Exit status: 0 when every operation conforms (or the run was skipped), 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _skip

SPEC = Path(__file__).resolve().parents[2] / "openapi" / "topview.yaml"
DEFAULT_BASE_URL = "https://api.topview.ai"
SPEC_URI = "urn:topview-openapi"
HTTP_METHODS = ("get", "post", "put", "delete", "patch")
SKIP_REASON = "live: skipped: " + _skip.REASON

ARGUMENTS: Mapping[str, Mapping[str, str]] = {
    "listEthnicities": {"scene": "video_avatar"},
}
"""Required query parameters of free reads that are not ids (the rest come from the run)."""
NOT_FREE_READS = frozenset({"getUploadCredential", "checkUpload"})
"""Reads that belong to the upload flow (a credential is issued), not catalogues or lists."""
WRITES = ("checkNoticeUrl",)
"""Writes that are free and change nothing: the notice-URL check."""


@dataclass
class Verdict:
    """What one operation answered and how it compares with the spec."""

    operation_id: str
    status: str  # "ok", "api-error", "invalid", "http-error", "skipped"
    detail: str = ""
    unknown: list[str] = field(default_factory=list)

    def line(self) -> str:
        text = f"{self.status.upper():10} {self.operation_id}"
        if self.detail:
            text += f": {self.detail}"
        return text


@dataclass(frozen=True)
class Call:
    operation_id: str
    method: str
    path: str
    params: dict[str, str]
    json: dict[str, str] | None
    schema_ref: str


def load_spec(path: Path = SPEC) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    document: dict[str, Any] = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    return document


def _task_queries(spec: Mapping[str, Any]) -> set[str]:
    return {
        operation["x-topview-task"]["queryOperation"]
        for item in spec["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and operation.get("x-topview-task")
    }


def plan(spec: Mapping[str, Any], notice_url: str) -> list[Call]:
    """The free reads (no task query, every required parameter known) and free writes."""
    queries = _task_queries(spec)
    calls = []
    for path, item in spec["paths"].items():
        for method in HTTP_METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            operation_id = operation["operationId"]
            ref = "#/paths/" + path.replace("~", "~0").replace("/", "~1") + f"/{method}"
            schema_ref = f"{SPEC_URI}{ref}/responses/200/content/application~1json/schema"
            if operation_id in WRITES:
                calls.append(
                    Call(
                        operation_id,
                        method.upper(),
                        path,
                        {"noticeUrl": notice_url},
                        {"noticeUrl": notice_url},
                        schema_ref,
                    )
                )
                continue
            if operation.get("x-topview-kind") != "read" or operation_id in queries:
                continue
            if operation_id in NOT_FREE_READS:
                continue
            known = dict(ARGUMENTS.get(operation_id, {}))
            required = [p["name"] for p in operation.get("parameters", []) if p.get("required")]
            if any(name not in known and name != "boardId" for name in required):
                continue  # needs an id this run does not have (a task, a board task, ...)
            calls.append(Call(operation_id, method.upper(), path, known, None, schema_ref))
    return calls


def _resolve(spec: Mapping[str, Any], schema: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[1]
        schema = spec["components"]["schemas"][name]
    return schema


def unknown_fields(
    spec: Mapping[str, Any], schema: Mapping[str, Any], instance: Any, where: str = ""
) -> Iterator[str]:
    """Paths of the fields in ``instance`` that ``schema`` does not describe (strict mode).

    Of an ``anyOf``, the first option the instance validates against is followed.
    """
    schema = _resolve(spec, schema)
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        registry = _registry(spec)
        for option in options:
            validator = Draft202012Validator(_absolute(option), registry=registry)
            if validator.is_valid(instance):
                yield from unknown_fields(spec, option, instance, where)
                return
        return
    if isinstance(instance, list) and "items" in schema:
        for item in instance:
            yield from unknown_fields(spec, schema["items"], item, f"{where}[]")
        return
    properties = schema.get("properties")
    if isinstance(instance, dict) and properties:
        # An object the spec leaves open (no properties listed) is not reported field by field.
        for key, value in instance.items():
            path = f"{where}.{key}" if where else key
            if key not in properties:
                yield path
            else:
                yield from unknown_fields(spec, properties[key], value, path)


def _absolute(schema: Any) -> Any:
    """``schema`` with its local ``$ref`` values pointing into the registered spec."""
    if isinstance(schema, dict):
        return {
            key: SPEC_URI + value
            if key == "$ref" and str(value).startswith("#")
            else _absolute(value)
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_absolute(item) for item in schema]
    return schema


_REGISTRIES: dict[int, Registry] = {}


def _registry(spec: Mapping[str, Any]) -> Registry:
    registry = _REGISTRIES.get(id(spec))
    if registry is None:
        resource = Resource.from_contents(dict(spec), default_specification=DRAFT202012)
        registry = _REGISTRIES[id(spec)] = Registry().with_resource(SPEC_URI, resource)
    return registry


def check(spec: Mapping[str, Any], call: Call, response: httpx.Response) -> Verdict:
    """The verdict of one reply: HTTP, envelope code, schema, fields the spec lacks."""
    if response.status_code != 200:
        return Verdict(call.operation_id, "http-error", f"HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        return Verdict(call.operation_id, "invalid", "the body is not JSON")
    registry = _registry(spec)
    validator = Draft202012Validator({"$ref": call.schema_ref}, registry=registry)
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(part) for part in first.absolute_path) or "(root)"
        return Verdict(call.operation_id, "invalid", f"{where}: {first.message}")
    if str(body.get("code")) != "200":
        return Verdict(
            call.operation_id, "api-error", f"code {body.get('code')}: {body.get('message')}"
        )
    pointer = call.schema_ref.removeprefix(SPEC_URI + "#/")
    schema: Any = spec
    for part in pointer.split("/"):
        schema = schema[part.replace("~1", "/").replace("~0", "~")]
    unknown = sorted(set(unknown_fields(spec, schema, body)))
    detail = f"{len(unknown)} field(s) the spec lacks" if unknown else ""
    return Verdict(call.operation_id, "ok", detail, unknown)


def run(env: Mapping[str, str], out: Any = sys.stdout) -> int:
    if _skip.skip_reason(env) is not None:
        print(SKIP_REASON, file=out)
        return 0
    api_key, uid = env["TOPVIEW_API_KEY"].strip(), env["TOPVIEW_UID"].strip()
    base_url = env.get("TOPVIEW_BASE_URL", "").strip() or DEFAULT_BASE_URL
    notice_url = env.get("TOPVIEW_LIVE_NOTICE_URL", "").strip() or "https://example.com/"
    spec = load_spec()
    headers = {"Authorization": f"Bearer {api_key}", "Topview-Uid": uid}
    verdicts = []
    board_id: str | None = None
    with httpx.Client(base_url=base_url, headers=headers, timeout=30.0) as client:
        for call in sorted(plan(spec, notice_url), key=lambda c: c.operation_id != "listBoards"):
            params = dict(call.params)
            if "{" in call.path:
                continue
            needs_board = call.operation_id in ("listBoardTasks", "getBoard")
            if needs_board:
                if board_id is None:
                    verdicts.append(Verdict(call.operation_id, "skipped", "no board to list"))
                    continue
                params["boardId"] = board_id
            try:
                response = client.request(call.method, call.path, params=params, json=call.json)
            except httpx.HTTPError as error:
                verdicts.append(Verdict(call.operation_id, "http-error", type(error).__name__))
                continue
            verdict = check(spec, call, response)
            if call.operation_id == "listBoards" and verdict.status == "ok":
                page = response.json().get("result") or {}
                boards = page.get("data") or page.get("list") or []
                board_id = boards[0].get("boardId") if boards else None
            verdicts.append(verdict)
    print(f"live: {len(verdicts)} operations against {base_url} (read-only)", file=out)
    for verdict in verdicts:
        print(verdict.line(), file=out)
        for name in verdict.unknown:
            print(f"           not in the spec: {name}", file=out)
    failed = [v for v in verdicts if v.status not in ("ok", "skipped")]
    print(f"live: {len(verdicts) - len(failed)} conform, {len(failed)} do not", file=out)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run_live", description=__doc__)
    parser.parse_args(argv)
    return run(os.environ)


if __name__ == "__main__":
    raise SystemExit(main())
