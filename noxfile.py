"""The single entry point for every check: ``nox -l`` lists the sessions.

``./dev test`` runs the same sessions CI runs; ``./dev demo`` runs the quick start.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.error_on_missing_interpreters = False
nox.options.sessions = [
    "tests",
    "lint",
    "imports",
    "typecheck",
    "doctypes",
    "docs",
    "codegen",
    "spec",
]

ROOT = Path(__file__).parent
PYPROJECT = nox.project.load_toml("pyproject.toml")
DEV = nox.project.dependency_groups(PYPROJECT, "dev")
DOCS = nox.project.dependency_groups(PYPROJECT, "docs")
TOOLS = ROOT / ".tools"
# Pinned so a lint run today and a lint run next month judge the spec by the same rules.
REDOCLY = "@redocly/cli@2.77.0"
PRISM = "@stoplight/prism-cli@5.16.0"


# pytest-xdist workers: two per usable core (at most 8). Much of the suite waits rather than
# computes (timeouts that must expire, child processes starting, simulated latency), and a second
# worker per core fills those waits: on 2 cores, 4 workers took ~75-78 s where 2 took ~90 s and 8
# took ~90 s (each worker collects the whole suite). `loadgroup` keeps the tests of the Temporal
# dev server in one worker (tests/temporal/conftest.py), so a run starts one server.
# `./dev test -- -n0` runs everything in one process again.
_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
PARALLEL = ("-n", str(max(2, min(8, 2 * _CORES))), "--dist", "loadgroup")
# Bytecode for the suite's ~100 child interpreters (CLI, crash, Temporal workers, benchmark
# children). Where PYTHONDONTWRITEBYTECODE is set, as on CI, every child otherwise compiled
# aiohttp, pydantic and the SDK from source again: a quarter of the suite's CPU. The cache lives
# under .nox/, never beside the sources; an empty value switches the variable off.
BYTECODE = {"PYTHONDONTWRITEBYTECODE": "", "PYTHONPYCACHEPREFIX": str(ROOT / ".nox" / "pycache")}


def _install_project(session: nox.Session, extras: str = "testing,fastapi,temporal") -> None:
    session.install("-e", f".[{extras}]", *DEV)


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite (unit, loopback end-to-end, simulator conformance, examples)."""
    _install_project(session)
    session.run("pytest", *PARALLEL, *session.posargs, env=BYTECODE)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff lint and format check."""
    session.install(*[d for d in DEV if d.startswith("ruff")])
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def imports(session: nox.Session) -> None:
    """The layers of the package, kept by import-linter's contracts ([tool.importlinter])."""
    # The imports are read from the source, not run: the package without its dependencies will do.
    session.install("--no-deps", "-e", ".")
    session.install(*[d for d in DEV if d.startswith("import-linter")])
    session.run("lint-imports")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on src/."""
    _install_project(session)
    session.run("mypy", "--strict", "src/topview_async")


@nox.session
def doctypes(session: nox.Session) -> None:
    """mypy --strict on every Python block of README.md and docs/, and on examples/."""
    _install_project(session)
    # posargs are ignored: `./dev test -- -x` hands them to every session, meant for pytest.
    session.run("python", "-m", "tests.docs.blocks")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the site into site/ (``mkdocs build --strict``; ``-- serve`` to preview)."""
    session.install(*DOCS)
    env = {"NO_MKDOCS_2_WARNING": "1"}
    # Other posargs are ignored: `./dev test -- -x` hands them to every session, meant for pytest.
    if session.posargs[:1] == ["serve"]:
        session.run("mkdocs", "serve", "--strict", *session.posargs[1:], env=env)
    else:
        session.run("mkdocs", "build", "--strict", env=env)


@nox.session
def screenshots(session: nox.Session) -> None:
    """Build the site, serve it on loopback, screenshot two pages with headless Chromium."""
    session.install(*DOCS)
    session.run("mkdocs", "build", "--strict", env={"NO_MKDOCS_2_WARNING": "1"})
    session.run("python", "tests/docs/screenshots.py", *session.posargs)


@nox.session
def codegen(session: nox.Session) -> None:
    """Check generated code matches the spec (``nox -s codegen -- --write`` regenerates)."""
    _install_project(session)
    if "--write" in session.posargs:
        session.run("python", "-m", "codegen")
    else:
        session.run("python", "-m", "codegen", "--check")


def _npm_tool(session: nox.Session, package: str, binary: str) -> str:
    """Install an npm CLI into .tools/ (gitignored) once and return its path."""
    path = TOOLS / "node_modules" / ".bin" / binary
    if not path.exists():
        if shutil.which("npm") is None:
            session.error(
                "npm is needed (Node.js 20 or newer; Prism 5.16 asks for 24 but runs on 20)"
            )
        TOOLS.mkdir(exist_ok=True)
        session.run(
            "npm",
            "install",
            "--no-audit",
            "--no-fund",
            "--prefix",
            str(TOOLS),
            package,
            external=True,
        )
    return str(path)


@nox.session(venv_backend="none")
def spec(session: nox.Session) -> None:
    """Lint openapi/topview.yaml with Redocly CLI (zero errors required)."""
    redocly = _npm_tool(session, REDOCLY, "redocly")
    session.run(
        redocly,
        "lint",
        "--config",
        "openapi/redocly.yaml",
        "openapi/topview.yaml",
        external=True,
        env={"REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true"},
    )


@nox.session
def contract(session: nox.Session) -> None:
    """Call every generated operation against Prism, an independent mock, validating requests."""
    prism = _npm_tool(session, PRISM, "prism")
    _install_project(session)
    session.run("python", "tests/contract/run_prism.py", "--prism", prism, *session.posargs)


DEMO_OUT = Path(tempfile.gettempdir()) / "topview-demo"
"""Where ``./dev demo`` writes (``-- --out DIR`` to choose): outside the source tree."""


@nox.session
def live(session: nox.Session) -> None:
    """Read-only check of the spec against the real API (needs TOPVIEW_API_KEY and TOPVIEW_UID;
    spends no credits; not part of CI): every free read's reply validated, verdicts printed."""
    sys.path.insert(0, str(ROOT / "tests" / "live"))
    from _skip import skip_reason

    reason = skip_reason(os.environ)
    if reason is not None:
        session.skip(reason)
    _install_project(session)
    session.run("python", "tests/live/run_live.py", *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """The quick start: upload, submit, follow, download (simulator unless credentials are set).

    Installs only what the demo needs (the package and its ``testing`` extra, for the
    simulator), not the development tools, and writes outside the source tree.
    """
    session.install(".[testing]")
    args = list(session.posargs)
    if not any(arg == "--out" or arg.startswith("--out=") for arg in args):
        args += ["--out", str(DEMO_OUT)]
        session.log(f"the demo writes into {DEMO_OUT}")
    session.run("python", "examples/quickstart.py", *args)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks; writes benchmarks/RESULTS.md (``-- --quick`` for a short run)."""
    _install_project(session)
    session.install("aiohttp", "requests")
    session.run("python", "-m", "benchmarks", *session.posargs, env={"PYTHONPATH": os.fspath(ROOT)})
