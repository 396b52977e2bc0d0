"""MkDocs hook: the ``topview`` command reference, from the commands' own ``--help``.

A page that contains ``<!-- cli-reference -->`` gets one section per command in its place at
build time (``topview_async.cli._reference``), so the published reference is the help the code
prints and cannot drift; a command whose help fails to build fails the build.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

SRC = Path(__file__).resolve().parents[2] / "src"
CLI_MARKER = "<!-- cli-reference -->"


def on_page_markdown(markdown: str, **_: Any) -> str:
    if CLI_MARKER not in markdown:
        return markdown
    if str(SRC) not in sys.path:
        sys.path.insert(0, str(SRC))
    from topview_async.cli._reference import reference_markdown

    return markdown.replace(CLI_MARKER, reference_markdown())
