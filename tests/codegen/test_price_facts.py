"""``x-topview-task.price``: the forms the generator accepts, and the ones it refuses."""

from __future__ import annotations

import pytest

from codegen import _spec
from topview_async._generated.task_kinds import TASK_KINDS
from topview_async._pricing import documented_cost


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"per": "task"}, "needs credits"),
        ({"per": "task", "credits": -1}, "needs credits"),
        ({"per": "task", "credits": True}, "needs credits"),
        ({"per": "task", "credits": 1, "modelField": "model"}, "only per and credits"),
        ({"per": "minute", "modelField": "model", "models": {"m": {"credits": 1}}}, "per"),
        ({"per": "second", "modelField": "model", "models": {"m": {"credits": 1}}}, "duration"),
    ],
)
def test_a_malformed_price_is_refused(raw: dict[str, object], message: str) -> None:
    with pytest.raises(_spec.SpecError, match=message):
        _spec._price("submitX", raw)


def test_a_flat_price_per_task_is_generated_and_read() -> None:
    facts = _spec._price("submitX", {"per": "task", "credits": 5})
    assert facts is not None
    assert facts.credits == 5.0
    assert facts.model_field is None
    # The documented flat prices (REFERENCE §1.8) reach the generated table and the one
    # pricing function, whatever the request carries.
    expected = {"m2v_export": 5.0, "text_to_speech": 0.1, "voice_clone": 1.0}
    for kind, credits in expected.items():
        price = TASK_KINDS[kind].price
        assert price is not None
        assert price.per == "task"
        assert documented_cost(kind, {}) == credits
        assert documented_cost(kind, {"model": "anything", "generatingCount": 9}) == credits


def test_a_credit_task_type_must_be_a_documented_one() -> None:
    known = ("m2v", "voice_clone")
    assert _spec._credit_task_type("submitX", {"creditTaskType": "m2v"}, known) == "m2v"
    assert _spec._credit_task_type("submitX", {}, known) is None
    with pytest.raises(_spec.SpecError, match="KnownCreditTaskType"):
        _spec._credit_task_type("submitX", {"creditTaskType": "m2v_video"}, known)
    with pytest.raises(_spec.SpecError, match="chargedOnFailure"):
        _spec._charged_on_failure("submitX", {"chargedOnFailure": "no"})
