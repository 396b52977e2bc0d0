"""The simulator charges Topview's documented prices (``x-topview-task.price`` in the spec),
through the same function the job engines' budget reads; only kinds without a documented
price are charged the simulator's own rates."""

from __future__ import annotations

from typing import Any

import pytest

from topview_async._generated.task_kinds import TASK_KINDS
from topview_async._pricing import documented_cost
from topview_async.testing._credits import SIMULATED_FLAT_RATES, task_cost

PRICED = sorted(kind for kind, facts in TASK_KINDS.items() if facts.price is not None)


def _priced_request(kind: str) -> dict[str, Any]:
    """A wire request of ``kind`` naming a priced model, with a count and a duration."""
    price = TASK_KINDS[kind].price
    assert price is not None
    request: dict[str, Any] = {}
    if price.model_field is not None:
        request[price.model_field[0]] = max(price.models, key=lambda m: price.models[m][0])
    if price.count_field is not None:
        request[price.count_field[0]] = 2
    if price.duration_field is not None:
        request[price.duration_field[0]] = 4
    return request


@pytest.mark.parametrize("kind", PRICED)
def test_a_kind_with_a_documented_price_costs_that_price(kind: str) -> None:
    request = _priced_request(kind)
    expected = documented_cost(kind, request)
    assert expected is not None
    assert expected > 0
    assert task_cost(kind, request) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("kind", "request_body", "cost"),
    [
        ("text_to_video", {"model": "Veo 3.1", "duration": 8}, 3.3 * 8),
        ("text_to_video", {"model": "Veo 3.1", "duration": 4, "generatingCount": 2}, 3.3 * 8),
        ("image_to_video_v2", {"model": "Topview Lite", "duration": 5}, 0.1 * 5),
        ("text_to_image", {"model": "GPT Image 1.5", "generateCount": 3}, 2.0 * 3),
        ("m2v_export", {"taskId": "t", "scriptId": 1}, 5.0),  # REFERENCE §1.8
        ("m2v", {"productLink": "https://shop.test/p"}, 5.0),  # a full run pays its export
        ("m2v", {"productLink": "https://shop.test/p", "preview": True}, 0.0),
        ("text_to_speech", {"voiceText": "hi"}, 0.1),
        ("voice_clone", {"originVoiceFileId": "f"}, 1.0),
        # No documented price: the simulator's own rates.
        ("text_to_video", {"model": "a model nobody priced", "duration": 4}, 0.5 * 4),
        ("image_edit", {"model": "a model nobody priced", "generateCount": 2}, 0.5 * 2),
        ("video_avatar", {}, SIMULATED_FLAT_RATES["video_avatar"]),
    ],
)
def test_what_a_task_costs(kind: str, request_body: dict[str, Any], cost: float) -> None:
    assert task_cost(kind, request_body) == pytest.approx(cost)


def test_the_simulators_own_rates_name_only_generated_kinds_without_a_price() -> None:
    assert set(SIMULATED_FLAT_RATES) <= set(TASK_KINDS)
    assert not set(SIMULATED_FLAT_RATES) & set(PRICED)


def test_credit_log_task_types_and_free_failures_come_from_the_spec() -> None:
    from topview_async.testing._credits import FREE_ON_FAILURE, TASK_TYPES

    assert TASK_TYPES["anyshoot"] == "product_anyfit"
    assert {
        kind: facts.credit_task_type
        for kind, facts in TASK_KINDS.items()
        if facts.credit_task_type is not None
    } == TASK_TYPES
    assert {"product_avatar_image_to_video_v2"} == FREE_ON_FAILURE
    assert not TASK_KINDS["product_avatar_image_to_video_v2"].charged_on_failure
