"""Read the spec into the small intermediate form the templates render.

Everything the stubs need (method names, parameter names and types, return types, whether an
operation is a paid submit) is derived here from the spec and its ``x-`` extensions, so adding an
endpoint means editing only ``openapi/topview.yaml``.
"""

from __future__ import annotations

import dataclasses
import keyword
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HTTP_METHODS = ("get", "post", "put", "delete", "patch")
RESERVED_ARGUMENTS = frozenset(
    {"timeout", "retry", "extra_headers", "extra_query", "extra_body"}
    | {"options", "poll", "on_progress"}
)
"""Python names the generated methods use themselves: the per-call options (the package's
``_options.RESERVED_ARGUMENTS``), the stub's local ``options``, and ``run_*``'s arguments."""


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
    location: str  # "query", "body" or "both" (the same field sent in the query and the body)
    is_file: bool

    @property
    def in_query(self) -> bool:
        return self.location in ("query", "both")

    @property
    def in_body(self) -> bool:
        return self.location in ("body", "both")


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
    file_paths: tuple[str, ...] = ()
    """Every ``x-topview-file`` of the request body, nested ones included, as wire paths
    (``firstFrameFileId``, ``referenceImageFileIds[]``, ``inputImages[].fileId``)."""

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
    def file_steps(self) -> tuple[tuple[ResultStep, ...], ...]:
        """:attr:`file_paths` parsed like ``resultFiles`` paths (generated into operations.py)."""
        return tuple(_result_path(self.operation_id, path) for path in self.file_paths)

    @property
    def file_fields(self) -> tuple[str, ...]:
        return tuple(p.wire_name for p in self.params if p.is_file and p.in_body)


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
    retry: str
    exception: str
    description: str


@dataclass(frozen=True)
class ResultStep:
    """One step of a ``resultFiles`` path: a field (or alternatives) and whether it is a list."""

    names: tuple[tuple[str, str], ...]
    """``(wire name, Python name)`` pairs; the first one present wins."""
    each: bool


@dataclass(frozen=True)
class TaskFacts:
    """Everything the SDK knows about one task kind, from the submit's ``x-topview-task``."""

    kind: str
    submit: Op
    query: Op
    result_model: str
    biz_types: tuple[str, ...]
    status_field: tuple[str, str]
    status_fallbacks: tuple[tuple[str, str], ...]
    result_files: tuple[tuple[ResultStep, ...], ...]
    file_parameters: tuple[str, ...] = ()
    """Python names of the submit's body arguments that take a file (``x-topview-file``)."""
    reconcile: tuple[Op, tuple[tuple[str, str], ...]] | None = None
    """``reconcile``: the list operation and the request fields a listed task shows."""
    price: PriceFacts | None = None
    credit_task_type: str | None = None
    """``creditTaskType``: the ``taskType`` the credit log files this kind's charges under."""
    charged_on_failure: bool = True
    """``chargedOnFailure: false``: a failed task of this kind is not charged."""


@dataclass(frozen=True)
class PriceFacts:
    """``price`` of an ``x-topview-task``: documented prices, the most a task can cost."""

    per: str
    """``second`` (of video), ``item`` (one image) or ``task`` (a flat price)."""
    model_field: tuple[str, str] | None
    duration_field: tuple[str, str] | None
    count_field: tuple[str, str] | None
    models: tuple[tuple[str, float, int | None], ...]
    """``(model, credits per unit, longest duration in seconds or None)``."""
    credits: float | None = None
    """``per: task`` only: what one task costs."""


@dataclass(frozen=True)
class BodyRule:
    """One ``x-sdk-rules`` entry of a request schema, with ``(wire, Python)`` field names."""

    any_of: tuple[tuple[str, str], ...]
    required: tuple[tuple[str, str], ...]
    min_items: tuple[tuple[tuple[str, str], int], ...]
    absent: tuple[tuple[str, str], ...]
    equals: tuple[tuple[tuple[str, str], tuple[object, ...]], ...]
    not_equals: tuple[tuple[tuple[str, str], tuple[object, ...]], ...]
    description: str


@dataclass
class Spec:
    resources: list[Resource]
    operations: list[Op]
    error_codes: list[ErrorCode]
    model_names: set[str]
    task_kinds: list[TaskFacts] = field(default_factory=list)
    upload_formats: dict[str, str] = field(default_factory=dict)
    body_rules: dict[str, list[BodyRule]] = field(default_factory=dict)
    """Request schema name -> its ``x-sdk-rules``, checked."""
    """Upload format -> the Content-Type sent with the storage PUT (``x-topview-content-types``)."""


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
    # The C loader when PyYAML has it: the spec is large and the pure-Python one is slow.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    document = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506
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

    error_codes = [_error_code(entry) for entry in document.get("x-topview-error-codes", [])]
    if len({e.code for e in error_codes}) != len(error_codes):
        raise SpecError("x-topview-error-codes: a code is listed twice")
    return Spec(
        resources=[r for r in resources.values() if r.operations],
        operations=operations,
        error_codes=error_codes,
        model_names=types.used_models,
        task_kinds=_task_facts(document, by_id, types),
        upload_formats=_upload_formats(document),
        body_rules=_body_rules(schemas),
    )


_RETRY_RULES = ("never", "read", "always")


def _error_code(entry: dict[str, Any]) -> ErrorCode:
    code = str(entry["code"])
    retryable = entry.get("retryable")
    retry = entry.get("retry")
    exception = entry.get("exception")
    if not isinstance(retryable, bool) or retry not in _RETRY_RULES:
        raise SpecError(f"error code {code}: needs retryable (bool) and retry (never|read|always)")
    if not retryable and retry != "never":
        raise SpecError(f"error code {code}: retry {retry!r} but retryable is false")
    if not isinstance(exception, str) or not exception.isidentifier():
        raise SpecError(f"error code {code}: needs exception (a class in _exceptions.py)")
    return ErrorCode(
        code=code,
        name=entry["name"],
        message=entry.get("message", ""),
        retryable=retryable,
        retry=retry,
        exception=exception,
        description=_doc(entry.get("description")),
    )


_RULE_KEYS = {"anyOf", "required", "minItems", "when", "description"}
_WHEN_KEYS = {"absent", "equals", "notEquals"}


def _body_rules(schemas: dict[str, Any]) -> dict[str, list[BodyRule]]:
    """The ``x-sdk-rules`` of every schema; unknown keys and unknown fields are errors, so a
    typo cannot silently switch a rule off."""
    found: dict[str, list[BodyRule]] = {}
    for name, schema in schemas.items():
        entries = schema.get("x-sdk-rules")
        if not entries:
            continue
        properties = schema.get("properties", {})

        def field_name(wire: str, name: str = name, properties: Any = properties) -> Any:
            if wire not in properties:
                raise SpecError(f"{name}: x-sdk-rules names unknown field {wire!r}")
            return _wire_and_python(wire)

        def values(value: Any) -> tuple[object, ...]:
            return tuple(value) if isinstance(value, list) else (value,)

        rules: list[BodyRule] = []
        for entry in entries:
            when = entry.get("when", {})
            if set(entry) - _RULE_KEYS or set(when) - _WHEN_KEYS:
                raise SpecError(f"{name}: unknown x-sdk-rules keys in {entry!r}")
            rule = BodyRule(
                any_of=tuple(field_name(f) for f in entry.get("anyOf", [])),
                required=tuple(field_name(f) for f in entry.get("required", [])),
                min_items=tuple(
                    (field_name(f), int(n)) for f, n in entry.get("minItems", {}).items()
                ),
                absent=tuple(field_name(f) for f in when.get("absent", [])),
                equals=tuple((field_name(f), values(v)) for f, v in when.get("equals", {}).items()),
                not_equals=tuple(
                    (field_name(f), values(v)) for f, v in when.get("notEquals", {}).items()
                ),
                description=" ".join(str(entry.get("description", "")).split()),
            )
            if not (rule.any_of or rule.required or rule.min_items):
                raise SpecError(f"{name}: an x-sdk-rules entry demands nothing: {entry!r}")
            rules.append(rule)
        found[name] = rules
    return found


def _wire_and_python(wire_name: str) -> tuple[str, str]:
    return (wire_name, snake_case(wire_name))


def _result_path(operation_id: str, text: str) -> tuple[ResultStep, ...]:
    """``videos[].originVideo.filePath`` -> three steps; ``a|b`` = alternatives of one step."""
    steps: list[ResultStep] = []
    for part in text.split("."):
        each = part.endswith("[]")
        names = part.removesuffix("[]").split("|")
        if not all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) for name in names):
            raise SpecError(f"{operation_id}: bad resultFiles path {text!r}")
        steps.append(ResultStep(tuple(_wire_and_python(n) for n in names), each))
    return tuple(steps)


def _task_facts(document: dict[str, Any], by_id: dict[str, Op], types: _Types) -> list[TaskFacts]:
    """The ``x-topview-task`` objects of the submits, checked (see docs/ARCHITECTURE.md)."""
    facts: list[TaskFacts] = []
    seen_biz: dict[str, str] = {}
    schemas = document.get("components", {}).get("schemas", {})
    credit_task_types = tuple(schemas.get("KnownCreditTaskType", {}).get("enum", ()))
    for item in document.get("paths", {}).values():
        for method in HTTP_METHODS:
            raw = item.get(method)
            if raw is None or raw.get("x-sdk-skip") or not raw.get("x-topview-task"):
                continue
            task = raw["x-topview-task"]
            op = by_id[raw["operationId"]]
            missing = {"kind", "queryOperation", "bizTypes", "statusField", "resultFiles"} - set(
                task
            )
            if missing:
                raise SpecError(f"{op.operation_id}: x-topview-task lacks {sorted(missing)}")
            if not re.fullmatch(r"[a-z][a-z0-9_]*", task["kind"]):
                raise SpecError(f"{op.operation_id}: task kind {task['kind']!r} is not snake_case")
            query = by_id[task["queryOperation"]]
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", query.result_annotation):
                raise SpecError(f"{query.operation_id}: a task query must return one model")
            types.used_models.add(query.result_annotation)
            for biz_type in task["bizTypes"]:
                if biz_type in seen_biz:
                    raise SpecError(f"bizType {biz_type} belongs to {seen_biz[biz_type]} too")
                seen_biz[biz_type] = task["kind"]
            facts.append(
                TaskFacts(
                    kind=task["kind"],
                    submit=op,
                    query=query,
                    result_model=query.result_annotation,
                    biz_types=tuple(str(b) for b in task["bizTypes"]),
                    status_field=_wire_and_python(task["statusField"]),
                    status_fallbacks=tuple(
                        _wire_and_python(name) for name in task.get("statusFieldFallbacks", [])
                    ),
                    result_files=tuple(
                        _result_path(op.operation_id, path) for path in task["resultFiles"]
                    ),
                    file_parameters=tuple(
                        p.python_name for p in op.params if p.is_file and p.in_body
                    ),
                    reconcile=_reconcile(op.operation_id, task.get("reconcile"), by_id),
                    price=_price(op.operation_id, task.get("price")),
                    credit_task_type=_credit_task_type(op.operation_id, task, credit_task_types),
                    charged_on_failure=_charged_on_failure(op.operation_id, task),
                )
            )
    kinds = [f.kind for f in facts]
    if len(kinds) != len(set(kinds)):
        raise SpecError(f"duplicate task kinds: {kinds}")
    return facts


def _credit_task_type(
    operation_id: str, task: dict[str, Any], known: tuple[str, ...]
) -> str | None:
    """``creditTaskType``: one of the documented credit-log ``taskType`` values
    (``KnownCreditTaskType``), so a kind cannot name a value the spec does not know."""
    value = task.get("creditTaskType")
    if value is None:
        return None
    if value not in known:
        raise SpecError(
            f"{operation_id}: creditTaskType {value!r} is not in KnownCreditTaskType {known}"
        )
    return str(value)


def _charged_on_failure(operation_id: str, task: dict[str, Any]) -> bool:
    value = task.get("chargedOnFailure", True)
    if not isinstance(value, bool):
        raise SpecError(f"{operation_id}: chargedOnFailure must be true or false")
    return value


def _reconcile(
    operation_id: str, raw: dict[str, Any] | None, by_id: dict[str, Op]
) -> tuple[Op, tuple[tuple[str, str], ...]] | None:
    """``reconcile: {listOperation, matchFields}``: how a lost submit is found again."""
    if raw is None:
        return None
    missing = {"listOperation", "matchFields"} - set(raw)
    if missing:
        raise SpecError(f"{operation_id}: reconcile lacks {sorted(missing)}")
    listing = by_id.get(raw["listOperation"])
    if listing is None or listing.kind != "read" or listing.page_item is None:
        raise SpecError(f"{operation_id}: reconcile.listOperation must be a paginated read")
    fields = tuple(_wire_and_python(str(name)) for name in raw["matchFields"])
    if not fields:
        raise SpecError(f"{operation_id}: reconcile.matchFields is empty")
    return listing, fields


def _price(operation_id: str, raw: dict[str, Any] | None) -> PriceFacts | None:
    """``price: {per, modelField, durationField?, countField?, models: {name: {credits,
    longest?}}}``, or ``price: {per: task, credits}`` (a flat price per task): documented
    prices (see docs/ARCHITECTURE.md)."""
    if raw is None:
        return None
    per = raw.get("per")
    if per == "task":
        credits = raw.get("credits")
        if not isinstance(credits, int | float) or isinstance(credits, bool) or credits < 0:
            raise SpecError(f"{operation_id}: a price per task needs credits >= 0")
        if set(raw) - {"per", "credits"}:
            raise SpecError(f"{operation_id}: a price per task takes only per and credits")
        return PriceFacts(
            per=per,
            model_field=None,
            duration_field=None,
            count_field=None,
            models=(),
            credits=float(credits),
        )
    if per not in ("second", "item") or "modelField" not in raw or not raw.get("models"):
        raise SpecError(f"{operation_id}: price needs per (second|item|task), modelField, models")
    if per == "second" and "durationField" not in raw:
        raise SpecError(f"{operation_id}: a price per second needs durationField")
    models: list[tuple[str, float, int | None]] = []
    for name, entry in raw["models"].items():
        credits = entry.get("credits") if isinstance(entry, dict) else None
        if not isinstance(credits, int | float) or credits < 0:
            raise SpecError(f"{operation_id}: price of model {name!r} needs credits >= 0")
        longest = entry.get("longest")
        if per == "second" and not isinstance(longest, int):
            raise SpecError(f"{operation_id}: price of model {name!r} needs longest (seconds)")
        models.append((str(name), float(credits), longest))
    return PriceFacts(
        per=per,
        model_field=_wire_and_python(raw["modelField"]),
        duration_field=_wire_and_python(raw["durationField"]) if "durationField" in raw else None,
        count_field=_wire_and_python(raw["countField"]) if "countField" in raw else None,
        models=tuple(models),
    )


def _upload_formats(document: dict[str, Any]) -> dict[str, str]:
    """The one query parameter schema with ``x-topview-content-types`` (the upload format)."""
    found: list[dict[str, Any]] = []
    for item in document.get("paths", {}).values():
        for method in HTTP_METHODS:
            for parameter in (item.get(method) or {}).get("parameters", []):
                schema = parameter.get("schema", {})
                if "x-topview-content-types" in schema:
                    found.append(schema)
    if len(found) != 1:
        raise SpecError("exactly one parameter schema must carry x-topview-content-types")
    schema = found[0]
    content_types = {str(k): str(v) for k, v in schema["x-topview-content-types"].items()}
    formats = [str(v) for v in schema.get("enum", [])]
    if set(content_types) != set(formats):
        raise SpecError("x-topview-content-types must name exactly the enum's formats")
    return {name: content_types[name] for name in formats}


def _success_envelope(operation_id: str, schema: dict[str, Any]) -> dict[str, Any]:
    """``anyOf: [$ref Success, $ref ErrorEnvelope]`` -> the success envelope's ``$ref``.

    Errors arrive as HTTP 200 too; the pipeline raises on their ``code`` before it looks at the
    ``result``, so only the success envelope types a method's return value.
    """
    options = schema.get("anyOf")
    if options is None:
        return schema
    refs = [option.get("$ref", "") for option in options]
    if len(refs) != 2 or not refs[1].endswith("/ErrorEnvelope"):
        raise SpecError(f"{operation_id}: a 200 response is [$ref envelope, $ref ErrorEnvelope]")
    first: dict[str, Any] = options[0]
    return first


def _file_paths(
    types: _Types, schema: dict[str, Any], prefix: str, seen: frozenset[str]
) -> list[str]:
    """Wire paths of every ``x-topview-file`` under ``schema`` (following ``$ref``, arrays and
    ``anyOf``/``oneOf``/``allOf``), in the resultFiles path syntax."""
    if "$ref" in schema:
        name = types.ref_name(schema["$ref"])
        if name in seen:  # a recursive schema: its files are found at the first level
            return []
        return _file_paths(types, types.schemas[name], prefix, seen | {name})
    found: list[str] = []
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            found += [f for f in _file_paths(types, option, prefix, seen) if f not in found]
    if schema.get("type") == "array" or "items" in schema:
        if schema.get("x-topview-file"):
            return [f"{prefix}[]"]
        return found + _file_paths(types, schema.get("items", {}), f"{prefix}[]", seen)
    for wire_name, prop in schema.get("properties", {}).items():
        child = f"{prefix}.{wire_name}" if prefix else wire_name
        if prop.get("x-topview-file"):
            found.append(f"{child}[]" if prop.get("type") == "array" else child)
        else:
            found += _file_paths(types, prop, child, seen)
    return found


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
    file_paths: tuple[str, ...] = ()
    body = raw.get("requestBody")
    if body is not None:
        content = body.get("content", {}).get("application/json")
        if content is None or "$ref" not in content.get("schema", {}):
            raise SpecError(f"{operation_id}: JSON request body must $ref a named schema")
        body_model = types.ref_name(content["schema"]["$ref"])
        types.used_models.add(body_model)
        body_schema = types.schemas[body_model]
        file_paths = tuple(_file_paths(types, body_schema, "", frozenset({body_model})))
        for file_path in file_paths:
            _result_path(operation_id, file_path)  # the same syntax as resultFiles
        required = set(body_schema.get("required", []))
        for wire_name, prop in body_schema.get("properties", {}).items():
            is_file = bool(prop.get("x-topview-file"))
            twin = next((p for p in params if p.wire_name == wire_name), None)
            if twin is not None and twin.location == "query":
                # The same field documented in both places (the notice URL check): one Python
                # argument, sent in both.
                params[params.index(twin)] = dataclasses.replace(twin, location="both")
                continue
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
    reserved = sorted(set(names) & RESERVED_ARGUMENTS)
    if reserved:
        raise SpecError(
            f"{operation_id}: {reserved} would shadow the per-call options every method takes"
        )

    response = raw.get("responses", {}).get("200", {})
    response_schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    response_schema = _success_envelope(operation_id, response_schema)
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
        file_paths=file_paths,
    )
    if any(existing.python_method == python_method for existing in resource.operations):
        raise SpecError(f"{operation_id}: duplicate method {resource.attribute}.{python_method}")
    resource.operations.append(op)
    return op
