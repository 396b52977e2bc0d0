"""MkDocs hooks: the endpoint tables generated from ``openapi/topview.yaml``; docstring cleanup.

A page that contains ``<!-- endpoint-table -->`` or ``<!-- task-kind-table -->`` gets the table
in its place at build time, and ``<!-- resource-classes -->`` becomes one mkdocstrings entry per
generated resource class, so the published endpoints and resources can never drift from the spec.
Each SDK method is an autorefs link to its reference entry: with ``mkdocs build --strict`` an
operation whose method is missing from the generated resources fails the build.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

SPEC = Path(__file__).resolve().parents[2] / "openapi" / "topview.yaml"
HTTP_METHODS = ("get", "post", "put", "patch", "delete")
ENDPOINT_MARKER = "<!-- endpoint-table -->"
TASK_KIND_MARKER = "<!-- task-kind-table -->"
RESOURCES_MARKER = "<!-- resource-classes -->"


def _operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    tags = {tag["name"]: tag for tag in spec.get("tags", [])}
    rows = []
    for path, item in spec.get("paths", {}).items():
        for method in HTTP_METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            tag = tags[operation["tags"][0]]
            rows.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "operation_id": operation["operationId"],
                    "resource": tag.get("x-sdk-resource"),
                    "class": tag.get("x-sdk-class"),
                    "sdk_method": operation.get("x-sdk-method"),
                    "kind": operation.get("x-topview-kind", ""),
                    "task": operation.get("x-topview-task") or {},
                    "skip": bool(operation.get("x-sdk-skip")),
                    "summary": " ".join(str(operation.get("summary", "")).split()),
                    "source": (operation.get("externalDocs") or {}).get("url", ""),
                }
            )
    return rows


def _module_of(resource: str) -> str:
    return f"topview_async.resources.{resource}"


def _method_link(row: dict[str, Any]) -> str:
    if row["skip"] or not row["sdk_method"]:
        return "*(internal: done by the upload helper)*"
    label = f"`client.{row['resource']}.{row['sdk_method']}`"
    target = f"{_module_of(row['resource'])}.{row['class']}Resource.{row['sdk_method']}"
    return f"[{label}][{target}]"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def endpoint_table(spec: dict[str, Any]) -> str:
    lines = [
        "| method | path | SDK method | kind | task kind | summary | source |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in _operations(spec):
        task_kind = f"`{row['task']['kind']}`" if row["task"].get("kind") else ""
        source = f"[page]({row['source']})" if row["source"] else ""
        lines.append(
            f"| `{row['method']}` | `{row['path']}` | {_method_link(row)} | {row['kind']} "
            f"| {task_kind} | {_cell(row['summary'])} | {source} |"
        )
    return "\n".join(lines)


def task_kind_table(spec: dict[str, Any]) -> str:
    rows = _operations(spec)
    by_id = {row["operation_id"]: row for row in rows}
    lines = [
        "| task kind | submitted by | polled by | callback `bizType` | result files |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        task = row["task"]
        if not task.get("kind"):
            continue
        poller = by_id.get(task.get("queryOperation", ""))
        polled = _method_link(poller) if poller else ""
        biz_types = ", ".join(f"`{value}`" for value in task.get("bizTypes", []))
        files = ", ".join(f"`{value}`" for value in task.get("resultFiles", []))
        lines.append(
            f"| `{task['kind']}` | {_method_link(row)} | {polled} | {biz_types} | {files} |"
        )
    return "\n".join(lines)


def resource_classes(spec: dict[str, Any]) -> str:
    """A mkdocstrings directive per generated resource class, in the spec's tag order."""
    directives = []
    for tag in spec.get("tags", []):
        resource, class_name = tag.get("x-sdk-resource"), tag.get("x-sdk-class")
        if resource and class_name:
            directives.append(f"::: {_module_of(resource)}.{class_name}Resource")
    return "\n\n".join(dict.fromkeys(directives))


def on_page_markdown(markdown: str, **_: Any) -> str:
    markers = (ENDPOINT_MARKER, TASK_KIND_MARKER, RESOURCES_MARKER)
    if not any(marker in markdown for marker in markers):
        return markdown
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    markdown = markdown.replace(ENDPOINT_MARKER, endpoint_table(spec))
    markdown = markdown.replace(RESOURCES_MARKER, resource_classes(spec))
    return markdown.replace(TASK_KIND_MARKER, task_kind_table(spec))


# The SDK's docstrings are written for IDEs and Sphinx habits (``:class:`X```, a paragraph ending
# in ``::`` before an example). mkdocstrings renders them as Markdown, where both would show up
# literally: render the roles as code and the ``::`` the way reStructuredText reads it.
_ROLE = re.compile(r":(?:class|func|meth|attr|mod|data|exc|obj|const):<code>~?([^<]+)</code>")
_LONE_DOUBLE_COLON = re.compile(r"<p>\s*::\s*</p>")
_TRAILING_DOUBLE_COLON = re.compile(r"::</p>")


def _role(match: re.Match[str]) -> str:
    target = match[1]
    label = target.rsplit(".", 1)[-1] if "~" in match[0] else target
    return f"<code>{label}</code>"


def on_page_content(html: str, **_: Any) -> str:
    html = _ROLE.sub(_role, html)
    html = _LONE_DOUBLE_COLON.sub("", html)
    return _TRAILING_DOUBLE_COLON.sub(":</p>", html)
