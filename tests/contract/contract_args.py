"""Arguments for one contract call per generated operation, derived from openapi/topview.yaml.

The Prism contract run (``run_prism.py``) calls every operation the SDK generates. Which
arguments to pass is read from the spec itself, so a new endpoint needs no hand-kept list:

* ``example`` calls use the request body's ``example`` (one call per named ``examples`` entry)
  and, for query parameters, the required ones plus any with an example;
* an ``all-fields`` call sends every declared query parameter and body property, with values
  sampled from their schemas (``default``, ``example``, first ``enum`` value, bounds, formats),
  so the name and type of every optional field the stub can send is put before Prism too.

Wire names become stub keyword names with this module's own ``snake_case`` (deliberately not
codegen's): when the stub and this reading of the spec disagree, the run says so.
``OVERRIDES`` is the escape hatch for a value no schema can describe; it is empty today.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = ROOT / "openapi" / "topview.yaml"
HTTP_METHODS = ("get", "post", "put", "delete", "patch")
REF_PREFIX = "#/components/schemas/"
# 32 hex characters and no dot: the SDK sends a str like this as a file id, never uploads it.
FILE_ID = "0123456789abcdef0123456789abcdef"

Body = dict[str, object] | None

OVERRIDES: dict[tuple[str, str], Any] = {}
"""``(operationId, wire field name) -> value`` used instead of a sampled value."""


class ContractSpecError(Exception):
    """The spec cannot be turned into a contract call (an example or schema the run cannot use)."""


@dataclass(frozen=True)
class PlannedCall:
    """One call of one operation: which stub to call, with what, and what must reach the wire."""

    operation_id: str
    label: str
    http_method: str
    path: str
    kind: str
    resource: str
    """The client attribute (``x-sdk-resource`` of the operation's tag)."""
    method: str
    """The stub method name (``x-sdk-method``)."""
    query: dict[str, object] = field(default_factory=dict)
    """Wire query parameters."""
    body: dict[str, object] | None = None
    """Wire JSON body (``None`` when the operation has none)."""
    body_model: str | None = None
    """Name of the body's component schema (also the generated model's name)."""
    result_schema: dict[str, Any] = field(default_factory=dict)
    """The schema of the 200 envelope's ``result``."""

    @property
    def kwargs(self) -> dict[str, object]:
        """Keyword arguments for the stub: every wire field under its snake_case name."""
        values = {**self.query, **(self.body or {})}
        return {snake_case(name): value for name, value in values.items()}

    def describe(self) -> str:
        return f"{self.operation_id} [{self.label}] {self.http_method} {self.path}"


def snake_case(name: str) -> str:
    """``aiavatarId`` -> ``aiavatar_id``, ``needCloudFrontUrl`` -> ``need_cloud_front_url``."""
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text).replace("-", "_").lower()


def load_spec(path: Path = SPEC_PATH) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return document


def plan_calls(spec: Mapping[str, Any] | None = None) -> list[PlannedCall]:
    """Every contract call, in spec order; raises :class:`ContractSpecError` on unusable input."""
    document = load_spec() if spec is None else spec
    sampler = _Sampler(document.get("components", {}).get("schemas", {}))
    resources = {tag["name"]: tag.get("x-sdk-resource") for tag in document.get("tags", [])}
    calls: list[PlannedCall] = []
    for path, item in document.get("paths", {}).items():
        for http_method in HTTP_METHODS:
            raw = item.get(http_method)
            if raw is None or raw.get("x-sdk-skip"):
                continue
            calls.extend(_plan_operation(path, http_method, raw, resources, sampler))
    return calls


def _plan_operation(
    path: str,
    http_method: str,
    raw: Mapping[str, Any],
    resources: Mapping[str, str | None],
    sampler: _Sampler,
) -> list[PlannedCall]:
    operation_id = str(raw.get("operationId"))
    tags = raw.get("tags") or [None]
    resource = resources.get(tags[0])
    if not resource or not raw.get("x-sdk-method"):
        raise ContractSpecError(f"{operation_id}: needs a tag with x-sdk-resource and x-sdk-method")
    params = [p for p in raw.get("parameters", []) if p.get("in") == "query"]
    example_query = {
        p["name"]: _parameter_value(operation_id, p, sampler)
        for p in params
        if p.get("required") or "example" in p or p.get("examples")
    }
    full_query = {p["name"]: _parameter_value(operation_id, p, sampler) for p in params}

    body_model: str | None = None
    example_bodies: list[tuple[str, dict[str, object] | None]] = [("example", None)]
    full_body: dict[str, object] | None = None
    if "requestBody" in raw:
        content = raw["requestBody"].get("content", {}).get("application/json", {})
        schema = content.get("schema", {})
        if "$ref" not in schema:
            raise ContractSpecError(f"{operation_id}: request body must $ref a component schema")
        body_model = sampler.ref_name(schema["$ref"])
        declared = set(sampler.resolve(schema).get("properties", {}))
        example_bodies = _body_examples(operation_id, content, schema, declared, sampler)
        full_body = _with_overrides(operation_id, sampler.sample(schema, full=True))

    kind = str(raw.get("x-topview-kind"))
    result_schema = _result_schema(operation_id, raw, sampler)

    def planned(label: str, query: dict[str, object], body: Body) -> PlannedCall:
        return PlannedCall(
            operation_id=operation_id,
            label=label,
            http_method=http_method.upper(),
            path=path,
            kind=kind,
            resource=resource,
            method=str(raw["x-sdk-method"]),
            query=query,
            body=body,
            body_model=body_model,
            result_schema=result_schema,
        )

    calls = [planned(label, dict(example_query), body) for label, body in example_bodies]
    full = planned("all-fields", full_query, full_body)
    if all((c.query, c.body) != (full.query, full.body) for c in calls):
        calls.append(full)
    return calls


def _body_examples(
    operation_id: str,
    content: Mapping[str, Any],
    schema: Mapping[str, Any],
    declared: set[str],
    sampler: _Sampler,
) -> list[tuple[str, dict[str, object] | None]]:
    found: list[tuple[str, Any]] = []
    if "example" in content:
        found.append(("example", content["example"]))
    for name, entry in (content.get("examples") or {}).items():
        if "value" not in entry:
            raise ContractSpecError(f"{operation_id}: request example {name!r} has no inline value")
        found.append((f"example:{name}", entry["value"]))
    if not found:
        # No example in the spec: the smallest valid body (required fields only).
        found.append(("required-only", sampler.sample(schema, full=False)))
    bodies: list[tuple[str, dict[str, object] | None]] = []
    for label, value in found:
        if not isinstance(value, dict):
            raise ContractSpecError(f"{operation_id}: request {label} is not a JSON object")
        undeclared = sorted(set(value) - declared)
        if undeclared:
            # The stub has no parameter for such a field, so the example cannot be sent.
            raise ContractSpecError(
                f"{operation_id}: request {label} uses undeclared properties {undeclared}"
            )
        bodies.append((label, _with_overrides(operation_id, copy.deepcopy(value))))
    return bodies


def _parameter_value(operation_id: str, parameter: Mapping[str, Any], sampler: _Sampler) -> Any:
    name = parameter["name"]
    if (operation_id, name) in OVERRIDES:
        return OVERRIDES[(operation_id, name)]
    if "example" in parameter:
        return parameter["example"]
    if parameter.get("examples"):
        first = next(iter(parameter["examples"].values()))
        return first["value"]
    return sampler.sample(parameter.get("schema", {}), full=True)


def _with_overrides(operation_id: str, body: Any) -> dict[str, object]:
    if not isinstance(body, dict):
        raise ContractSpecError(f"{operation_id}: request body schema is not an object")
    for (op_id, name), value in OVERRIDES.items():
        if op_id == operation_id and name in body:
            body[name] = value
    return body


def _result_schema(operation_id: str, raw: Mapping[str, Any], sampler: _Sampler) -> dict[str, Any]:
    response = raw.get("responses", {}).get("200", {})
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    # anyOf: [success envelope, ErrorEnvelope]: the call is expected to succeed.
    envelope = sampler.resolve(schema.get("anyOf", [schema])[0])
    result = envelope.get("properties", {}).get("result")
    if result is None:
        raise ContractSpecError(f"{operation_id}: the 200 envelope has no 'result' property")
    return dict(result)


class _Sampler:
    """A value that satisfies a JSON schema (the subset the spec uses), deterministic."""

    def __init__(self, schemas: Mapping[str, Any]) -> None:
        self.schemas = schemas

    def ref_name(self, ref: str) -> str:
        if not ref.startswith(REF_PREFIX):
            raise ContractSpecError(f"only local component refs are supported, got {ref!r}")
        return ref[len(REF_PREFIX) :]

    def resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        seen = 0
        while "$ref" in schema:
            schema = self.schemas[self.ref_name(schema["$ref"])]
            seen += 1
            if seen > 20:
                raise ContractSpecError("$ref cycle")
        return schema

    def sample(self, schema: Mapping[str, Any], *, full: bool, file: bool = False) -> Any:
        schema = self.resolve(schema)
        file = file or bool(schema.get("x-topview-file"))
        for key in ("const", "default", "example"):
            if key in schema and schema[key] is not None:
                return copy.deepcopy(schema[key])
        if isinstance(schema.get("examples"), list) and schema["examples"]:
            return copy.deepcopy(schema["examples"][0])
        if schema.get("enum"):
            return next(v for v in schema["enum"] if v is not None)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                branches = [b for b in schema[key] if self.resolve(b).get("type") != "null"]
                return self.sample(branches[0], full=full, file=file)
        if "allOf" in schema:
            raise ContractSpecError("allOf is not supported by the contract sampler")
        kind = schema.get("type", "string")
        if isinstance(kind, list):
            kind = next(k for k in kind if k != "null")
        if kind == "object" or "properties" in schema:
            required = set(schema.get("required", []))
            return {
                name: self.sample(prop, full=full)
                for name, prop in schema.get("properties", {}).items()
                if full or name in required
            }
        if kind == "array":
            item = self.sample(schema.get("items", {}), full=full, file=file)
            return [copy.deepcopy(item) for _ in range(max(1, schema.get("minItems", 1)))]
        if kind in ("integer", "number"):
            low = schema.get("minimum", 1)
            value = min(max(low, 1), schema.get("maximum", max(low, 1)))
            return int(value) if kind == "integer" else float(value)
        if kind == "boolean":
            return True
        if kind == "null":
            return None
        return self._string(schema, file)

    @staticmethod
    def _string(schema: Mapping[str, Any], file: bool) -> str:
        if file:
            return FILE_ID
        if schema.get("format") in ("uri", "url"):
            candidates = ["https://example.com/contract"]
        else:
            candidates = ["contract", "1", FILE_ID, "https://example.com/contract"]
        pattern = schema.get("pattern")
        for candidate in candidates:
            padded = candidate.ljust(schema.get("minLength", 0), "x")
            if pattern is None or re.search(pattern, padded):
                return padded
        raise ContractSpecError(
            f"no sample string matches pattern {pattern!r}: add an example or an OVERRIDES entry"
        )


def wire_json(value: object) -> object:
    """``value`` as JSON would carry it with ``None`` members left out (the SDK drops them)."""
    if isinstance(value, dict):
        return {k: wire_json(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [wire_json(v) for v in value]
    return json.loads(json.dumps(value))


def wire_query(query: Mapping[str, object]) -> dict[str, str]:
    """Query values as the SDK encodes them (``true``/``false`` for booleans)."""
    encoded: dict[str, str] = {}
    for name, value in query.items():
        if value is None:
            continue
        encoded[name] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return encoded
