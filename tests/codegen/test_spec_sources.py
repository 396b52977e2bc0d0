"""Every operation names the page its facts were taken from (issue 22): ``externalDocs.url``,
a docs.topview.ai page where one exists, else the Apifox navigation or the official sample
client's script."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import yaml

SPEC = Path(__file__).resolve().parents[2] / "openapi" / "topview.yaml"
SOURCES = {
    "docs.topview.ai": "",
    "apifox.com": "/apidoc/shared/115a0d85-28a5-479d-8b8b-83d7898a7246",
    "github.com": "/topviewai/codex-topview-ai/",
}
"""Host -> path prefix of the sources CORRECTIONS.md accepts ([DOCS], [SEED], [SKILL])."""


def _operations() -> list[dict[str, object]]:
    document = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    return [
        operation
        for item in document["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    ]


def test_every_operation_names_its_source_page() -> None:
    missing, foreign = [], []
    for operation in _operations():
        url = (operation.get("externalDocs") or {}).get("url")  # type: ignore[union-attr]
        if not url:
            missing.append(operation["operationId"])
            continue
        parts = urlsplit(str(url))
        prefix = SOURCES.get(parts.hostname or "")
        if parts.scheme != "https" or prefix is None or not parts.path.startswith(prefix):
            foreign.append((operation["operationId"], url))
    assert missing == []
    assert foreign == []


def test_docs_pages_are_preferred_where_the_spec_cites_one() -> None:
    # An operation whose description cites a [DOCS] page links a docs.topview.ai page.
    for operation in _operations():
        url = str((operation.get("externalDocs") or {}).get("url", ""))  # type: ignore[union-attr]
        description = str(operation.get("description", ""))
        if "[DOCS] `" in description and "[SKILL]" not in description.split("[DOCS]")[0]:
            assert url.startswith("https://docs.topview.ai/"), operation["operationId"]
