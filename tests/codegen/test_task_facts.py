"""Per-kind facts travel from the spec's ``x-topview-task`` to the one generated table."""

from __future__ import annotations

import ast
import copy
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml

from codegen import _render, _spec
from topview_async import AsyncTopview
from topview_async._exceptions import InvalidInputError
from topview_async._generated import models
from topview_async._generated.task_kinds import (
    BIZ_TYPE_KINDS,
    CONTENT_TYPES,
    TASK_KINDS,
    UPLOAD_FORMATS,
    TaskKind,
)
from topview_async.lib._file_inputs import UPLOAD_SUFFIXES
from topview_async.lib._files import ALLOWED_FORMATS
from topview_async.webhooks import KIND_RESULT_MODELS

ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = ROOT / "openapi" / "topview.yaml"
DOCUMENT: dict[str, Any] = yaml.load(
    SPEC_PATH.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
)


def _with_fake_kind(document: dict[str, Any]) -> dict[str, Any]:
    """The spec plus a made-up task kind: a copy of the scraper's submit and query."""
    document = copy.deepcopy(document)
    paths = document["paths"]
    submit = copy.deepcopy(paths["/v1/scraper/task/submit"])
    query = copy.deepcopy(paths["/v1/scraper/task/query"])
    submit["post"].update(operationId="submitFakeTask", **{"x-sdk-method": "submit_fake"})
    submit["post"]["x-topview-task"] = {
        "kind": "fake_kind",
        "queryOperation": "queryFakeTask",
        "bizTypes": ["FAKE_BIZ"],
        "statusField": "fakeStatus",
        "resultFiles": ["outputs[].fileUrl"],
    }
    query["get"].update(operationId="queryFakeTask", **{"x-sdk-method": "query_fake"})
    paths["/v9/fake/task/submit"] = submit
    paths["/v9/fake/task/query"] = query
    return document


def test_a_kind_added_to_the_spec_appears_in_the_generated_table(tmp_path: Path) -> None:
    spec_copy = tmp_path / "topview.yaml"
    spec_copy.write_text(
        yaml.safe_dump(_with_fake_kind(DOCUMENT), sort_keys=False), encoding="utf-8"
    )

    # The generator's own steps, minus the model generator and formatter (the nox codegen
    # session runs the whole thing): quick, and enough to see the table change.
    spec = _spec.load(spec_copy)
    files = _render.render(spec, tmp_path / "pkg")
    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    table = (tmp_path / "pkg" / "_generated" / "task_kinds.py").read_text(encoding="utf-8")
    tree = ast.parse(table)

    literal = next(
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "TaskKind"
    )
    assert "'fake_kind'" in ast.unparse(literal)
    assert '"fake_kind": TaskKindSpec(' in table
    assert "query_operation=_operations.QUERY_FAKE_TASK" in table
    assert '"FAKE_BIZ": "fake_kind"' in table
    assert "status_field=('fakeStatus', 'fake_status')" in table
    assert "ResultStep(names=(('outputs', 'outputs'),), each=True)" in table
    assert 'def get(\n        self, kind: Literal["fake_kind"]' in table
    # The real table does not know it: the test saw the temp copy, not the committed code.
    assert "fake_kind" not in TASK_KINDS


def test_a_kind_missing_a_fact_is_refused(tmp_path: Path) -> None:
    document = _with_fake_kind(DOCUMENT)
    del document["paths"]["/v9/fake/task/submit"]["post"]["x-topview-task"]["bizTypes"]
    spec_copy = tmp_path / "topview.yaml"
    spec_copy.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    with pytest.raises(_spec.SpecError, match="bizTypes"):
        _spec.load(spec_copy)


NO_FILE_KINDS = {"image_translate", "image_mask_drawing"}
"""Kinds whose result is data, not files: translated text, base64 masks ([DOCS])."""


def test_every_kind_has_its_facts() -> None:
    assert set(get_args(TaskKind)) == set(TASK_KINDS)
    for kind, facts in TASK_KINDS.items():
        assert facts.kind == kind
        assert facts.biz_types, kind
        assert bool(facts.result_files) == (kind not in NO_FILE_KINDS), kind
        assert facts.submit_operation.kind == "submit"
        assert facts.query_operation.kind == "read"
        model = facts.result_type
        assert KIND_RESULT_MODELS[kind] is model
        wire_names = {f.alias or name for name, f in model.model_fields.items()}  # type: ignore[attr-defined]
        assert facts.status_field[0] in wire_names, kind
    assert set(BIZ_TYPE_KINDS.values()) == set(TASK_KINDS)


def test_upload_formats_have_one_source() -> None:
    (parameter,) = [
        p
        for p in DOCUMENT["paths"]["/v1/upload/credential"]["get"]["parameters"]
        if p["name"] == "format"
    ]
    assert list(UPLOAD_FORMATS) == parameter["schema"]["enum"]
    assert "avi" in UPLOAD_FORMATS
    assert set(CONTENT_TYPES) == set(UPLOAD_FORMATS) == ALLOWED_FORMATS
    assert {"." + f for f in UPLOAD_FORMATS} == UPLOAD_SUFFIXES


def test_tasks_get_is_typed_per_kind_and_refuses_unknown_kinds() -> None:
    client = AsyncTopview(api_key="k", uid="u", base_url="http://127.0.0.1:9")
    task = client.tasks.get("video_avatar", "a" * 32)
    assert task.kind == "video_avatar"
    assert task.query_operation.operation_id == "queryVideoAvatarTask"
    assert TASK_KINDS["video_avatar"].result_type is models.VideoAvatarTaskResult
    with pytest.raises(InvalidInputError, match=r"unknown task kind 'vidoe_avatar'.*video_avatar"):
        client.tasks.get("vidoe_avatar", "a" * 32)  # type: ignore[call-overload]
