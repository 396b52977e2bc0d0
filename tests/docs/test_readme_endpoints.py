"""README.md's endpoint table is equal to ``openapi/topview.yaml``: it cannot drift from the spec.

Issue 12 wants the table (every endpoint, its method, its task kind) in the README, where the
MkDocs hook cannot write it, so this test holds it to the spec instead: every operation appears
once with its method, SDK method, kind and task kind, and no row names anything else.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
HTTP_METHODS = ("get", "post", "put", "patch", "delete")
HEADER = "| method | path | SDK method | kind | task kind |"


def _spec_rows() -> set[tuple[str, str, str, str, str]]:
    spec: dict[str, Any] = yaml.safe_load((ROOT / "openapi" / "topview.yaml").read_text("utf-8"))
    tags = {tag["name"]: tag for tag in spec.get("tags", [])}
    rows = set()
    for path, item in spec["paths"].items():
        for method in HTTP_METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            resource = tags[operation["tags"][0]].get("x-sdk-resource")
            sdk_method = f"{resource}.{operation.get('x-sdk-method')}"
            task = operation.get("x-topview-task") or {}
            rows.add(
                (
                    method.upper(),
                    path,
                    sdk_method,
                    operation.get("x-topview-kind", ""),
                    task.get("kind", ""),
                )
            )
    return rows


def _readme_rows() -> list[tuple[str, str, str, str, str]]:
    lines = (ROOT / "README.md").read_text("utf-8").splitlines()
    start = lines.index(HEADER) + 2  # skip the |---| line
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        method, path, methods, kind, task_kind = cells
        first_method = re.findall(r"`([^`]+)`", methods)[0]
        rows.append((method, path.strip("`"), first_method, kind, task_kind.strip("`")))
    return rows


def test_readme_endpoint_table_is_the_spec() -> None:
    readme = _readme_rows()
    assert len(readme) == len(set(readme)), "a row appears twice"
    spec = _spec_rows()
    assert set(readme) - spec == set(), "README rows that are not in the spec (or differ from it)"
    assert spec - set(readme) == set(), "spec operations missing from README's endpoint table"
