"""The quick start stays quick and clean; the CLI reference is the commands' help (issue 20.5)."""

from __future__ import annotations

import importlib.util
import re
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from topview_async.cli import main
from topview_async.cli._reference import command_helps, reference_markdown

ROOT = Path(__file__).resolve().parents[2]


class _Session:
    """What the demo session asks nox to do, recorded."""

    def __init__(self, posargs: list[str]) -> None:
        self.posargs = posargs
        self.installs: list[tuple[str, ...]] = []
        self.runs: list[tuple[str, ...]] = []

    def install(self, *args: str, **_: Any) -> None:
        self.installs.append(args)

    def run(self, *args: str, **_: Any) -> None:
        self.runs.append(args)

    def log(self, *_: object) -> None:
        pass


def _noxfile(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``noxfile.py`` imported with a stand-in for nox (the test environment has none)."""
    import tomllib

    fake = types.ModuleType("nox")
    fake.options = types.SimpleNamespace()  # type: ignore[attr-defined]
    fake.Session = _Session  # type: ignore[attr-defined]
    fake.session = lambda *a, **k: a[0] if a and callable(a[0]) else (lambda f: f)  # type: ignore[attr-defined]
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    fake.project = types.SimpleNamespace(  # type: ignore[attr-defined]
        load_toml=lambda _: pyproject,
        dependency_groups=lambda data, name: list(data["dependency-groups"][name]),
    )
    monkeypatch.setitem(sys.modules, "nox", fake)
    spec = importlib.util.spec_from_file_location("topview_noxfile", ROOT / "noxfile.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_demo_installs_only_what_it_needs_and_writes_outside_the_tree(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    noxfile = _noxfile(monkeypatch)
    session = _Session([])
    noxfile.demo(session)
    installed = [arg for args in session.installs for arg in args]
    assert installed == [".[testing]"]  # no dev tools (mypy, ruff, pytest, codegen...)
    (run,) = session.runs
    out = Path(run[run.index("--out") + 1])
    assert not out.resolve().is_relative_to(ROOT)
    chosen = _Session(["--out", "mine"])
    noxfile.demo(chosen)
    assert chosen.runs[0][-2:] == ("--out", "mine")


def test_the_cli_reference_has_every_command_with_its_help(
    capsys: pytest.CaptureFixture[str],
) -> None:
    helps = dict(command_helps())
    for path in ("topview", "topview batch run", "topview batch status", "topview simulator"):
        assert path in helps
    assert "--json" in helps["topview batch status"]
    assert "--failure-probability" in helps["topview simulator"]
    # Each is what the command itself prints.
    assert main(["batch", "status", "--help"]) == 0
    assert capsys.readouterr().out.strip() == helps["topview batch status"].strip()
    page = reference_markdown()
    assert len(re.findall(r"^#+ `topview", page, flags=re.MULTILINE)) == len(helps)


def test_the_docs_build_writes_the_cli_page_from_the_code() -> None:
    text = (ROOT / "mkdocs.yml").read_text()
    assert "docs/_hooks/cli.py" in text
    for page in ("reference/cli.md", "reference/jobs.md", "reference/temporal.md"):
        assert page in text
        assert (ROOT / "docs" / page).exists()
    assert "<!-- cli-reference -->" in (ROOT / "docs" / "reference" / "cli.md").read_text()
