"""The ``topview`` command: batch jobs and everyday calls from the shell.

``topview --help`` must stay fast, so this package imports only typer at start-up; the SDK,
pydantic, httpx and rich load inside the command that needs them.
"""

from __future__ import annotations

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run the command line (``argv`` defaults to ``sys.argv[1:]``); returns the exit status."""
    from ._app import run

    return run(argv)
