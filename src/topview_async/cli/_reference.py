"""The ``topview`` command reference, written from the commands' own ``--help``.

The docs build puts :func:`reference_markdown` into ``docs/reference/cli.md``
(``docs/_hooks/cli.py``), so the published reference is the code's help text and cannot drift.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["command_helps", "reference_markdown"]


def command_helps() -> Iterator[tuple[str, str]]:
    """``("topview batch run", its --help text)`` for the command and every subcommand."""
    import typer

    from . import _simulator
    from ._app import app

    def walk(command: Any, parent: Any, name: str) -> Iterator[tuple[str, str]]:
        # As the command line builds it (context settings such as -h included), no parsing.
        context = command.make_context(name, [], parent=parent, resilient_parsing=True)
        path = context.command_path
        if path == _simulator.PROG:
            yield path, _simulator.help_text()  # argparse: the simulator's one parser
            return
        yield path, command.get_help(context)
        if hasattr(command, "list_commands"):  # a group
            for sub_name in command.list_commands(context):
                yield from walk(command.get_command(context, sub_name), context, sub_name)

    yield from walk(typer.main.get_command(app), None, "topview")


def reference_markdown() -> str:
    """One section per command, its help text verbatim."""
    sections = []
    for path, text in command_helps():
        level = "#" * min(2 + path.count(" "), 4)
        sections.append(f"{level} `{path}`\n\n```text\n{text.rstrip()}\n```\n")
    return "\n".join(sections)
