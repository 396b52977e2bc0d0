"""Every ``x-topview-file`` of a request body, nested ones included, is in the generated
operation table (``Operation.file_fields``): the one place the SDK learns where files go."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from topview_async._generated.operations import OPERATIONS
from topview_async._operation import ResultPath

SPEC = Path(__file__).resolve().parents[2] / "openapi" / "topview.yaml"


def _marked(schemas: dict[str, Any], schema: dict[str, Any], prefix: str) -> set[str]:
    """An independent walk: the wire path of every marked property under ``schema``."""
    if "$ref" in schema:
        return _marked(schemas, schemas[schema["$ref"].rsplit("/", 1)[1]], prefix)
    found: set[str] = set()
    for option in schema.get("anyOf", []) + schema.get("allOf", []) + schema.get("oneOf", []):
        found |= _marked(schemas, option, prefix)
    if "items" in schema:
        return found | _marked(schemas, schema["items"], prefix + "[]")
    for name, prop in schema.get("properties", {}).items():
        path = f"{prefix}.{name}" if prefix else name
        if prop.get("x-topview-file"):
            found.add(path + "[]" if prop.get("type") == "array" else path)
        else:
            found |= _marked(schemas, prop, path)
    return found


def _text(path: ResultPath) -> str:
    return ".".join(step.names[0][0] + ("[]" if step.each else "") for step in path)


def _bodies() -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """JSON request body schema (and the schema table) of every operation, by operationId."""
    document = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    schemas = document["components"]["schemas"]
    found = {}
    for item in document["paths"].values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            content = (operation.get("requestBody") or {}).get("content", {})
            if "application/json" in content:
                found[operation["operationId"]] = (schemas, content["application/json"]["schema"])
    return found


BODIES = _bodies()


@pytest.mark.parametrize("operation_id", sorted(BODIES))
def test_generated_file_fields_are_the_spec_marks(operation_id: str) -> None:
    schemas, schema = BODIES[operation_id]
    generated = {_text(path) for path in OPERATIONS[operation_id].file_fields}
    assert generated == _marked(schemas, schema, "")


def test_nested_file_fields_are_listed() -> None:
    paths = {
        operation_id: {_text(path) for path in operation.file_fields}
        for operation_id, operation in OPERATIONS.items()
    }
    assert paths["submitOmniReferenceTask"] == {"inputImages[].fileId", "inputVideos[].fileId"}
    assert paths["submitAiMusicTask"] == {"referenceAudio.fileId"}
    assert paths["submitStoryboardTask"] == {"referenceFileIds[]"}
    assert paths["submitImageToVideoV2Task"] == {
        "firstFrameFileId",
        "endFrameFileId",
        "referenceImageFileIds[]",
    }
