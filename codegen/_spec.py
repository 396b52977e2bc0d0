"""Read the spec into the small intermediate form the templates render.

Everything the stubs need (method names, parameter names and types, return types, whether an
operation is a paid submit) is derived here from the spec and its ``x-`` extensions, so adding an
endpoint means editing only ``openapi/topview.yaml``.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HTTP_METHODS = ("get", "post", "put", "delete", "patch")


class SpecError(Exception):
    """The spec breaks a convention the generator relies on (see docs/ARCHITECTURE.md)."""


def snake_case(name: str) -> str:
    """``productReplaceResultKey`` -> ``product_replace_result_key``.

    ``aiavatarId`` -> ``aiavatar_id``: the API's own inconsistencies survive into Python names.
    """
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    text = text.replace("-", "_").lower()
    if keyword.iskeyword(text) or text in {"format", "type", "id", "list"}:
        # Shadowing builtins inside a method signature is legal but confusing in
        # tracebacks; only hard keywords are renamed.
        return text + "_" if keyword.iskeyword(text) else text
    return text


@dataclass(frozen=True)
class Param:
    wire_name: str
    python_name: str
    annotation: str
    required: bool
    description: str
    location: str  # "query" or "body"
    is_file: bool


@dataclass(frozen=True)
class Op:
    operation_id: str
    method: str
    path: str
    kind: str
    resource: str
    python_method: str
    summary: str
    description: str
    params: tuple[Param, ...]
    body_model: str | None
    result_annotation: str
    task_kind: str | None
    query_operation: str | None
    constant: str
    page_item: str | None = None
    """For ``x-sdk-paginated`` lookups: the model of one item of the page's ``data``."""

    @property
    def list_all_method(self) -> str:
        """``list`` -> ``list_all``, ``list_templates`` -> ``list_all_templates``,
        ``credit_logs`` -> ``list_all_credit_logs``."""
        if self.python_method.startswith("list"):
            return "list_all" + self.python_method.removeprefix("list")
        return "list_all_" + self.python_method

    @property
    def page_param(self) -> Param:
        for param in self.params:
            if param.wire_name == "pageNo":
                return param
        raise SpecError(f"{self.operation_id}: paginated but has no pageNo parameter")

    @property
    def run_method(self) -> str:
        """The name of the submit-and-wait convenience for a submit operation.

        ``submit`` -> ``run``, ``submit_image_replace`` -> ``run_image_replace``,
        ``export`` -> ``export_and_wait``.
        """
        if self.python_method == "submit":
            return "run"
        if self.python_method.startswith("submit_"):
            return "run_" + self.python_method.removeprefix("submit_")
        return self.python_method + "_and_wait"

    @property
    def file_fields(self) -> tuple[str, ...]:
        return tuple(p.wire_name for p in self.params if p.is_file and p.location == "body")


@dataclass
class Resource:
    attribute: str
    class_name: str
    tag: str
    description: str
    operations: list[Op] = field(default_factory=list)

    @property
    def module(self) -> str:
        return self.attribute


@dataclass(frozen=True)
class ErrorCode:
    code: str
    name: str
    message: str
    retryable: bool
    description: str


@dataclass
class Spec:
    resources: list[Resource]
    operations: list[Op]
    error_codes: list[ErrorCode]
    model_names: set[str]


class _Types:
    """Turns JSON schemas into Python annotation text for stub signatures."""

    def __init__(self, schemas: dict[str, Any]) -> None:
        self.schemas = schemas
        self.used_models: set[str] = set()

    def ref_name(self, ref: str) -> str:
        prefix = "#/components/schemas/"
        if not ref.startswith(prefix):
            raise SpecError(f"only local component refs are supported, got {ref!r}")
        return ref[len(prefix) :]

    def is_model(self, schema: dict[str, Any]) -> bool:
        return schema.get("type") == "object" or "properties" in schema

    def annotation(self, schema: dict[str, Any], *, is_file: bool = False) -> str:
        if "$ref" in schema:
            name = self.ref_name(schema["$ref"])
            target = self.schemas[name]
            if self.is_model(target):
                self.used_models.add(name)
                return name
            return self.annotation(target, is_file=is_file)
        if "anyOf" in schema or "oneOf" in schema:
            parts: list[str] = []
            for sub in schema.get("anyOf", schema.get("oneOf")):
                text = self.annotation(sub, is_file=is_file)
                if text not in parts:
                    parts.append(text)
            # A Literal of known values next to plain str is kept (``Literal["Veo 3.1"] | str``):
            # a type checker still accepts any string, and editors complete the known ones.
            return " | ".join(parts)
        if "enum" in schema:
            values = ", ".join(repr(v) for v in schema["enum"])
            return f"Literal[{values}]"
        kind = schema.get("type")
        if isinstance(kind, list):
            return " | ".join(self.annotation({**schema, "type": k}, is_file=is_file) for k in kind)
        if kind == "string":
            return "FileInput" if is_file else "str"
        if kind == "integer":
            return "int"
        if kind == "number":
            return "float"
        if kind == "boolean":
            return "bool"
        if kind == "null":
            return "None"
        if kind == "array":
            item = self.annotation(schema.get("items", {}), is_file=is_file)
            return f"Sequence[{item}]"
        if kind == "object":
            return "dict[str, Any]"
        return "Any"

    def result_annotation(self, schema: dict[str, Any]) -> str:
        """Like :meth:`annotation` but with concrete containers, for return types."""
        text = self.annotation(schema)
        return text.replace("Sequence[", "builtins.list[")


def _doc(text: str | None) -> str:
    return (text or "").strip()


def load(path: Path) -> Spec:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
    types = _Types(schemas)

    resources: dict[str, Resource] = {}
    for tag in document.get("tags", []):
        attribute = tag.get("x-sdk-resource")
        class_name = tag.get("x-sdk-class")
        if not attribute or not class_name:
            raise SpecError(f"tag {tag.get('name')!r} needs x-sdk-resource and x-sdk-class")
        resources[tag["name"]] = Resource(
            attribute=attribute,
            class_name=class_name,
            tag=tag["name"],
            description=_doc(tag.get("description")),
        )

    operations: list[Op] = []
    for path, item in document.get("paths", {}).items():
        shared_params = item.get("parameters", [])
        for method in HTTP_METHODS:
            raw = item.get(method)
            if raw is None or raw.get("x-sdk-skip"):
                continue
            operations.append(_operation(path, method, raw, shared_params, resources, types))

    by_id = {op.operation_id: op for op in operations}
    for op in operations:
        if op.query_operation and op.query_operation not in by_id:
            raise SpecError(f"{op.operation_id}: unknown queryOperation {op.query_operation!r}")

    error_codes = [
        ErrorCode(
            code=str(entry["code"]),
            name=entry["name"],
            message=entry.get("message", ""),
            retryable=bool(entry.get("retryable", False)),
            description=_doc(entry.get("description")),
        )
        for entry in document.get("x-topview-error-codes", [])
    ]
    return Spec(
        resources=[r for r in resources.values() if r.operations],
        operations=operations,
        error_codes=error_codes,
        model_names=types.used_models,
    )


def _operation(
    path: str,
    method: str,
    raw: dict[str, Any],
    shared_params: list[dict[str, Any]],
    resources: dict[str, Resource],
    types: _Types,
) -> Op:
    operation_id = raw.get("operationId")
    if not operation_id:
        raise SpecError(f"{method.upper()} {path} has no operationId")
    tags = raw.get("tags", [])
    if len(tags) != 1 or tags[0] not in resources:
        raise SpecError(f"{operation_id}: needs exactly one declared tag, got {tags!r}")
    kind = raw.get("x-topview-kind")
    if kind not in {"read", "submit", "write"}:
        raise SpecError(f"{operation_id}: x-topview-kind must be read, submit or write")
    python_method = raw.get("x-sdk-method")
    if not python_method:
        raise SpecError(f"{operation_id}: needs x-sdk-method")

    params: list[Param] = []
    for parameter in [*shared_params, *raw.get("parameters", [])]:
        if parameter.get("in") != "query":
            continue
        schema = parameter.get("schema", {})
        params.append(
            Param(
                wire_name=parameter["name"],
                python_name=snake_case(parameter["name"]),
                annotation=types.annotation(schema),
                required=bool(parameter.get("required", False)),
                description=_doc(parameter.get("description") or schema.get("description")),
                location="query",
                is_file=False,
            )
        )

    body_model: str | None = None
    body = raw.get("requestBody")
    if body is not None:
        content = body.get("content", {}).get("application/json")
        if content is None or "$ref" not in content.get("schema", {}):
            raise SpecError(f"{operation_id}: JSON request body must $ref a named schema")
        body_model = types.ref_name(content["schema"]["$ref"])
        types.used_models.add(body_model)
        body_schema = types.schemas[body_model]
        required = set(body_schema.get("required", []))
        for wire_name, prop in body_schema.get("properties", {}).items():
            is_file = bool(prop.get("x-topview-file"))
            params.append(
                Param(
                    wire_name=wire_name,
                    python_name=snake_case(wire_name),
                    annotation=types.annotation(prop, is_file=is_file),
                    required=wire_name in required,
                    description=_doc(prop.get("description")),
                    location="body",
                    is_file=is_file,
                )
            )

    names = [p.python_name for p in params]
    if len(names) != len(set(names)):
        raise SpecError(f"{operation_id}: two parameters map to the same Python name: {names}")

    response = raw.get("responses", {}).get("200", {})
    response_schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    if "$ref" not in response_schema:
        raise SpecError(f"{operation_id}: the 200 response must $ref a named envelope schema")
    envelope = types.schemas[types.ref_name(response_schema["$ref"])]
    result_schema = envelope.get("properties", {}).get("result")
    if result_schema is None:
        raise SpecError(f"{operation_id}: envelope has no 'result' property")
    result_annotation = types.result_annotation(result_schema)

    page_item: str | None = None
    if raw.get("x-sdk-paginated"):
        page_schema = result_schema
        if "$ref" in page_schema:
            page_schema = types.schemas[types.ref_name(page_schema["$ref"])]
        items = page_schema.get("properties", {}).get("data", {}).get("items", {})
        if "$ref" not in items:
            raise SpecError(f"{operation_id}: paginated result needs data: array of $ref")
        page_item = types.ref_name(items["$ref"])
        types.used_models.add(page_item)

    task = raw.get("x-topview-task") or {}
    if kind == "submit" and not task:
        raise SpecError(f"{operation_id}: submits need x-topview-task")
    resource = resources[tags[0]]
    op = Op(
        operation_id=operation_id,
        method=method.upper(),
        path=path,
        kind=kind,
        resource=resource.attribute,
        python_method=python_method,
        summary=_doc(raw.get("summary")),
        description=_doc(raw.get("description")),
        # Required parameters first keeps signatures readable; order is otherwise the spec's.
        params=tuple(sorted(params, key=lambda p: not p.required)),
        body_model=body_model,
        result_annotation=result_annotation,
        task_kind=task.get("kind"),
        query_operation=task.get("queryOperation"),
        constant=snake_case(operation_id).upper(),
        page_item=page_item,
    )
    if any(existing.python_method == python_method for existing in resource.operations):
        raise SpecError(f"{operation_id}: duplicate method {resource.attribute}.{python_method}")
    resource.operations.append(op)
    return op
