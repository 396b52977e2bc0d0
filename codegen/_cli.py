"""Generate everything from the spec; ``--check`` compares instead of writing."""

from __future__ import annotations

import argparse
import difflib
import subprocess
import sys
import tempfile
from pathlib import Path

from codegen import _readme, _render, _spec, _split

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi" / "topview.yaml"
PACKAGE = ROOT / "src" / "topview_async"
GENERATED_DIRS = (PACKAGE / "_generated", PACKAGE / "resources", PACKAGE / "types")
README = ROOT / "README.md"
"""Not generated as a whole: codegen owns the endpoint table between its markers."""


def _models_source(spec_path: Path) -> str:
    """Run datamodel-code-generator with the ``[tool.datamodel-codegen]`` config of pyproject."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "models.py"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "datamodel_code_generator",
                "--input",
                str(spec_path),
                "--output",
                str(out),
            ],
            cwd=ROOT,
            check=True,
        )
        return out.read_text(encoding="utf-8")


def _ruff(path: Path, source: str) -> str:
    """Lint-fix and format as if the file lived at ``path``, so project config applies."""
    relative = path.relative_to(ROOT).as_posix()
    ruff = [sys.executable, "-m", "ruff"]
    for command in (
        [*ruff, "check", "--fix", "--exit-zero", "--quiet", "--stdin-filename", relative, "-"],
        [*ruff, "format", "--quiet", "--stdin-filename", relative, "-"],
    ):
        done = subprocess.run(
            command, input=source, capture_output=True, text=True, cwd=ROOT, check=False
        )
        if done.returncode != 0:
            raise SystemExit(f"ruff failed on generated {relative}:\n{done.stderr}")
        source = done.stdout
    return source


def generate(spec_path: Path = SPEC) -> dict[Path, str]:
    """Every generated file's path and content, formatted exactly as committed."""
    spec = _spec.load(spec_path)
    files = _render.render(spec, PACKAGE)
    models = _models_source(spec_path)
    split = _split.split(_render.HEADER, models, _render.resource_models(spec))
    for module, source in split.items():
        files[PACKAGE / "_generated" / "models" / f"{module}.py"] = source
    files[PACKAGE / "types" / "__init__.py"] = _render.render_types(models)
    generated = {path: _ruff(path, source) for path, source in sorted(files.items())}
    table = _readme.endpoint_table(spec_path, spec)
    generated[README] = _readme.with_table(README.read_text(encoding="utf-8"), table)
    return generated


def _existing() -> dict[Path, str]:
    found: dict[Path, str] = {}
    for directory in GENERATED_DIRS:
        for path in sorted(directory.rglob("*.py")):
            found[path] = path.read_text(encoding="utf-8")
    found[README] = README.read_text(encoding="utf-8")
    return found


def check(expected: dict[Path, str]) -> list[str]:
    """Readable differences between what the spec generates and what is on disk."""
    problems: list[str] = []
    existing = _existing()
    for path, content in expected.items():
        name = path.relative_to(ROOT).as_posix()
        current = existing.get(path)
        if current is None:
            problems.append(f"missing generated file: {name}")
        elif current != content:
            diff = difflib.unified_diff(
                current.splitlines(keepends=True),
                content.splitlines(keepends=True),
                fromfile=f"{name} (committed)",
                tofile=f"{name} (from spec)",
            )
            problems.append("".join(diff))
    problems.extend(
        "file in a generated folder that the spec does not produce: "
        + path.relative_to(ROOT).as_posix()
        for path in sorted(existing.keys() - expected.keys())
    )
    return problems


def write(expected: dict[Path, str]) -> None:
    for path in _existing().keys() - expected.keys():
        path.unlink()
    for path, content in expected.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            path.write_text(content, encoding="utf-8")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m codegen", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if committed code differs")
    parser.add_argument("--spec", type=Path, default=SPEC, help="the OpenAPI document")
    args = parser.parse_args(argv)
    expected = generate(args.spec)
    if args.check:
        problems = check(expected)
        if problems:
            print("Generated code differs from openapi/topview.yaml:\n", file=sys.stderr)
            for problem in problems:
                print(problem, file=sys.stderr)
            print("\nRun `python -m codegen` and commit the result.", file=sys.stderr)
            return 1
        print(f"codegen: {len(expected)} generated files match the spec")
        return 0
    write(expected)
    print(f"codegen: wrote {len(expected)} files from {args.spec.relative_to(ROOT)}")
    return 0
