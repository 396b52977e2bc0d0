"""Find the Python code blocks of the documentation, and type-check them with ``mypy --strict``.

Every fenced block opened with three backticks and ``python`` in ``README.md`` and
``docs/**/*.md`` is a complete module: it has its imports and runs as it is, so a reader can
copy it. A block preceded by the HTML comment ``<!-- runnable -->`` (blank lines between are
allowed) is also run as a program against the simulator by ``tests/docs/test_runnable_blocks.py``;
one preceded by ``<!-- runnable pytest -->`` is a test module, run there with pytest.

``python -m tests.docs.blocks [PATH ...]`` (the ``doctypes`` nox session) writes each block to a
file of its own, runs ``mypy --strict`` over them together with every file in ``examples/``, and
reports each error at its line in the Markdown file. ``--pending FILE`` reports a file's errors
without failing (for a file that is being rewritten; the session says which).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SOURCES = ("README.md", "docs", "examples")
BLOCKS_DIR = ROOT / ".mypy_cache" / "doctypes-blocks"
RUNNABLE_MARKERS = {"<!-- runnable -->": "python", "<!-- runnable pytest -->": "pytest"}
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*)$")


@dataclass(frozen=True)
class Block:
    """One Python code block of a Markdown file."""

    path: Path
    line: int
    """1-based line number of the block's first code line in ``path``."""
    code: str
    runner: str | None
    """``"python"`` (a program), ``"pytest"`` (a test module), or ``None`` (type-checked only)."""

    @property
    def runnable(self) -> bool:
        return self.runner is not None

    @property
    def name(self) -> str:
        """A unique, importable module name for the block."""
        stem = re.sub(r"\W", "_", self.path.relative_to(ROOT).with_suffix("").as_posix())
        return f"{stem.strip('_').lower()}_line_{self.line}"

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def _is_python(info: str) -> bool:
    words = info.replace("{", " ").replace("}", " ").replace(".", " ").split()
    return bool(words) and words[0] in ("python", "py")


def blocks_in(path: Path) -> Iterator[Block]:
    """The Python blocks of one Markdown file, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if match is None:
            index += 1
            continue
        indent, fence, info = match["indent"], match["fence"], match["info"]
        start = index + 1
        end = start
        while end < len(lines):
            closing = _FENCE.match(lines[end])
            if closing and closing["fence"].startswith(fence) and not closing["info"].strip():
                break
            end += 1
        if _is_python(info):
            body = [
                line[len(indent) :] if line.startswith(indent) else line
                for line in lines[start:end]
            ]
            yield Block(
                path, start + 1, textwrap.dedent("\n".join(body)) + "\n", _runnable(lines, index)
            )
        index = end + 1


def _runnable(lines: list[str], fence_index: int) -> str | None:
    previous = fence_index - 1
    while previous >= 0 and not lines[previous].strip():
        previous -= 1
    return RUNNABLE_MARKERS.get(lines[previous].strip()) if previous >= 0 else None


def markdown_files(sources: Iterable[str]) -> list[Path]:
    files: list[Path] = []
    for source in sources:
        path = ROOT / source
        if path.is_dir():
            files.extend(sorted(path.rglob("*.md")))
        elif path.suffix == ".md":
            files.append(path)
    return files


def python_files(sources: Iterable[str]) -> list[Path]:
    files: list[Path] = []
    for source in sources:
        path = ROOT / source
        if path.is_dir():
            files.extend(p for p in sorted(path.rglob("*.py")) if "_hooks" not in p.parts)
        elif path.suffix == ".py":
            files.append(path)
    return files


def all_blocks(sources: Iterable[str] = DEFAULT_SOURCES) -> list[Block]:
    return [block for path in markdown_files(sources) for block in blocks_in(path)]


def check(sources: Iterable[str], pending: Iterable[str] = ()) -> int:
    """Run mypy --strict over the blocks and example files; return the process exit status."""
    sources = list(sources)
    blocks = all_blocks(sources)
    examples = python_files(sources)
    pending_paths = {(ROOT / name).resolve() for name in pending}
    # A fixed directory, not a fresh temporary one: mypy's cache replays the errors of an
    # unchanged module with the path it had when cached.
    shutil.rmtree(BLOCKS_DIR, ignore_errors=True)
    BLOCKS_DIR.mkdir(parents=True)
    where: dict[str, Block] = {}
    for block in blocks:
        file = BLOCKS_DIR / f"{block.name}.py"
        file.write_text(block.code, encoding="utf-8")
        where[file.relative_to(ROOT).as_posix()] = block
    command = [
        sys.executable,
        "-m",
        "mypy",
        "--strict",
        "--no-error-summary",
        "--show-error-codes",
        "--cache-dir",
        str(ROOT / ".mypy_cache" / "doctypes"),
        *where,
        *(path.relative_to(ROOT).as_posix() for path in examples),
    ]
    completed = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    if completed.returncode not in (0, 1):
        print(completed.stdout, completed.stderr, file=sys.stderr)
        return completed.returncode
    failing, waived = 0, 0
    for raw in completed.stdout.splitlines():
        line = _relocate(raw, where)
        if (ROOT / line.split(":", 1)[0]).resolve() in pending_paths:
            waived += 1
            print(f"PENDING {line}")
        else:
            failing += ": error:" in line
            print(line)
    checked = f"{len(blocks)} code blocks in {len(markdown_files(sources))} Markdown files"
    checked += f" and {len(examples)} example files"
    print(f"mypy --strict: {checked}: {failing} errors, {waived} in pending files")
    return 1 if failing else 0


def _relocate(line: str, where: dict[str, Block]) -> str:
    """Rewrite ``/tmp/.../block.py:3: error`` as ``docs/x.md:45: error``."""
    for file, block in where.items():
        if line.startswith(file + ":"):
            rest = line[len(file) + 1 :]
            number, _, tail = rest.partition(":")
            if number.isdigit():
                return f"{block.path.relative_to(ROOT)}:{block.line + int(number) - 1}:{tail}"
            return f"{block}: {rest}"
    return line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("sources", nargs="*", default=list(DEFAULT_SOURCES))
    parser.add_argument("--pending", action="append", default=[], metavar="FILE")
    parser.add_argument("--list", action="store_true", help="list the blocks found and exit")
    args = parser.parse_args(argv)
    if args.list:
        for block in all_blocks(args.sources):
            print(f"{block}  ({block.runner})" if block.runner else str(block))
        return 0
    return check(args.sources, args.pending)


if __name__ == "__main__":
    sys.exit(main())
