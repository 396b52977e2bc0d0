"""The simulator's per-kind behaviour (durations, failure chances) is keyed by the spec's kinds."""

from __future__ import annotations

import pytest

from topview_async import ConfigurationError
from topview_async._generated.task_kinds import TASK_KINDS
from topview_async.testing import SimulatorConfig
from topview_async.testing._config import DEFAULT_TASK_DURATIONS


def test_every_generated_kind_has_a_default_duration_and_no_other() -> None:
    assert set(DEFAULT_TASK_DURATIONS) == set(TASK_KINDS)


@pytest.mark.parametrize("field", ["task_durations", "failure_probability"])
def test_a_misspelt_kind_is_refused_naming_the_known_ones(field: str) -> None:
    with pytest.raises(ConfigurationError, match=r"scrapper.*known: m2v"):
        SimulatorConfig(**{field: {"scrapper": 1.0}})


def test_known_kinds_are_accepted() -> None:
    config = SimulatorConfig(task_durations={"scraper": 3.0}, failure_probability={"m2v": 0.5})
    assert config.duration("scraper") == 3.0
