"""Fixtures for every test folder."""

import pytest

# pytester runs pytest sessions in-process: the simulator plugin is tested the way users use it.
pytest_plugins = ["pytester"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow proofs first: under pytest-xdist the short tests then fill in around them,
    instead of one long proof starting last and running alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
