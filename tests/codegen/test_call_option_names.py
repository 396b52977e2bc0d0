"""The per-call option names are reserved: a spec parameter cannot shadow them."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from codegen import _spec
from topview_async._options import RESERVED_ARGUMENTS

SPEC = Path(__file__).resolve().parents[2] / "openapi" / "topview.yaml"


def test_codegen_reserves_every_per_call_option() -> None:
    assert RESERVED_ARGUMENTS <= _spec.RESERVED_ARGUMENTS
    assert {"poll", "on_progress", "options"} <= _spec.RESERVED_ARGUMENTS


@pytest.mark.parametrize("wire_name", ["timeout", "extraHeaders", "retry"])
def test_a_spec_parameter_named_like_an_option_is_refused(wire_name: str, tmp_path: Path) -> None:
    document: dict[str, Any] = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    changed = copy.deepcopy(document)
    operation = changed["paths"]["/v1/voice/query"]["get"]
    operation.setdefault("parameters", []).append(
        {"name": wire_name, "in": "query", "schema": {"type": "integer"}}
    )
    spec_copy = tmp_path / "topview.yaml"
    spec_copy.write_text(yaml.safe_dump(changed, sort_keys=False), encoding="utf-8")
    with pytest.raises(_spec.SpecError, match="per-call options"):
        _spec.load(spec_copy)
