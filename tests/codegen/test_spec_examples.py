"""Every example in openapi/topview.yaml validates against the schema it illustrates (JSON Schema
2020-12), including the original docs' M2V query example (issue 11.13)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi" / "topview.yaml"
SPEC: dict[str, Any] = yaml.load(
    SPEC_PATH.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
)
URI = "urn:topview-openapi"
REGISTRY: Registry[Any] = Registry().with_resource(
    URI, Resource.from_contents(SPEC, default_specification=DRAFT202012)
)


def _absolute(schema: Any) -> Any:
    """The schema with its local ``#/...`` refs pointed at the registered spec."""
    if isinstance(schema, dict):
        return {
            key: URI + value if key == "$ref" and value.startswith("#") else _absolute(value)
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_absolute(item) for item in schema]
    return schema


def _media_examples(where: str, content: dict[str, Any]) -> Iterator[tuple[str, Any, Any]]:
    media = content.get("application/json")
    if not media:
        return
    if "example" in media:
        yield where, media["schema"], media["example"]
    for name, example in media.get("examples", {}).items():
        yield f"{where}:{name}", media["schema"], example["value"]


def _examples() -> Iterator[tuple[str, Any, Any]]:
    operations = [
        (op["operationId"], op)
        for item in [*SPEC["paths"].values(), *SPEC.get("webhooks", {}).values()]
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    ]
    for operation_id, op in operations:
        body = op.get("requestBody", {}).get("content", {})
        yield from _media_examples(f"{operation_id} request", body)
        for status, response in op.get("responses", {}).items():
            content = response.get("content", {})
            yield from _media_examples(f"{operation_id} {status}", content)
    for name, schema in SPEC["components"]["schemas"].items():
        if "example" in schema:
            yield f"components.{name}", {"$ref": f"#/components/schemas/{name}"}, schema["example"]


EXAMPLES = list(_examples())


def test_there_are_examples_and_the_docs_m2v_query_example_is_one() -> None:
    names = [name for name, _, _ in EXAMPLES]
    assert len(names) >= 40
    assert "queryM2vTask 200:docs" in names
    assert "queryM2vTask 200:videoNotReady" in names


@pytest.mark.parametrize(("name", "schema", "example"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_example_validates_against_its_schema(name: str, schema: Any, example: Any) -> None:
    validator = Draft202012Validator(_absolute(schema), registry=REGISTRY)
    errors = sorted(validator.iter_errors(example), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])
