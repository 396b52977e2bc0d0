"""The Prism contract run covers every generated operation (checked here without Prism).

``nox -s contract`` needs Node and Prism, so it is not part of the default test run; these
tests keep its argument builder honest in the normal suite: a new operation without a usable
contract call, or a spec example the generated models reject, fails here first.
"""

from __future__ import annotations

import copy
import inspect
from typing import Any

import contract_args as plan
import pytest
import run_prism

from topview_async import AsyncTopview
from topview_async._generated import models
from topview_async._generated.operations import OPERATIONS

CALLS = plan.plan_calls()


def test_every_generated_operation_has_a_contract_call() -> None:
    assert {call.operation_id for call in CALLS} == set(OPERATIONS)


def test_every_call_matches_the_generated_operation_and_stub() -> None:
    client = AsyncTopview(api_key="sk-test", uid="uid-test")
    for call in CALLS:
        operation = OPERATIONS[call.operation_id]
        assert (operation.method, operation.path, operation.kind) == (
            call.http_method,
            call.path,
            call.kind,
        ), call.describe()
        method = getattr(getattr(client, call.resource), call.method)
        accepted = set(inspect.signature(method).parameters)
        assert set(call.kwargs) <= accepted, call.describe()


@pytest.mark.parametrize("call", [c for c in CALLS if c.body is not None], ids=lambda c: c.label)
def test_every_planned_body_passes_local_validation(call: plan.PlannedCall) -> None:
    # A body the SDK would refuse locally would never reach Prism; catch it here.
    assert call.body_model is not None
    getattr(models, call.body_model).model_validate(call.body)


def test_bite_requests_are_built_from_the_plan() -> None:
    bites = run_prism.bite_requests(CALLS)
    assert [bite.expected_status for bite in bites] == [422, 422, 401]
    wrong_body = bites[0].options["json"]
    assert wrong_body
    assert all(isinstance(value, dict) for value in wrong_body.values())
    assert "Topview-Uid" not in bites[2].options["headers"]


def _tiny_spec(example: dict[str, Any]) -> dict[str, Any]:
    return {
        "tags": [{"name": "New", "x-sdk-resource": "new_things"}],
        "paths": {
            "/v1/new/submit": {
                "post": {
                    "operationId": "submitNewThing",
                    "tags": ["New"],
                    "x-sdk-method": "submit",
                    "x-topview-kind": "submit",
                    "parameters": [
                        {"name": "pageNo", "in": "query", "schema": {"type": "integer"}},
                    ],
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/NewRequest"},
                                "example": example,
                            }
                        }
                    },
                    "responses": {
                        "200": {
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/NewResponse"}
                                }
                            }
                        }
                    },
                }
            }
        },
        "components": {
            "schemas": {
                "NewRequest": {
                    "type": "object",
                    "required": ["fileId"],
                    "properties": {
                        "fileId": {"type": "string", "x-topview-file": True},
                        "count": {"type": "integer", "minimum": 2, "maximum": 4},
                        "size": {"type": "string", "pattern": "^[0-9]+$"},
                        "style": {"anyOf": [{"enum": ["UGC", "Pro"]}, {"type": "string"}]},
                    },
                },
                "NewResponse": {
                    "type": "object",
                    "properties": {"result": {"type": "boolean"}},
                },
            }
        },
    }


def test_a_new_endpoint_needs_no_hand_kept_list() -> None:
    calls = plan.plan_calls(_tiny_spec({"fileId": "abc"}))
    assert [(c.label, c.body) for c in calls] == [
        ("example", {"fileId": "abc"}),
        (
            "all-fields",
            {"fileId": plan.FILE_ID, "count": 2, "size": "1", "style": "UGC"},
        ),
    ]
    assert calls[1].query == {"pageNo": 1}
    assert calls[1].kwargs["page_no"] == 1
    assert calls[1].kwargs["file_id"] == plan.FILE_ID


def test_an_example_with_an_undeclared_property_is_refused() -> None:
    spec = _tiny_spec({"fileId": "abc", "fileID": "typo"})
    with pytest.raises(plan.ContractSpecError, match="undeclared properties \\['fileID'\\]"):
        plan.plan_calls(spec)


def test_an_unsatisfiable_pattern_asks_for_an_override() -> None:
    spec = copy.deepcopy(_tiny_spec({"fileId": "abc"}))
    spec["components"]["schemas"]["NewRequest"]["properties"]["size"]["pattern"] = "^[a-f]{64}$"
    with pytest.raises(plan.ContractSpecError, match="OVERRIDES"):
        plan.plan_calls(spec)


def test_results_are_checked_against_the_typed_models() -> None:
    schema = {"anyOf": [{"type": "array", "items": {"$ref": "#/components/schemas/Caption"}}]}
    caption = models.Caption.model_validate({"captionId": "c1"})
    schemas = plan.load_spec()["components"]["schemas"]
    assert run_prism.conforms([caption], schema, schemas)
    assert not run_prism.conforms([{"captionId": "c1"}], schema, schemas)
    assert not run_prism.conforms(caption, schema, schemas)
