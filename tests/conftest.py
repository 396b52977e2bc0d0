"""Fixtures for every test folder."""

# pytester runs pytest sessions in-process: the simulator plugin is tested the way users use it.
pytest_plugins = ["pytester"]
