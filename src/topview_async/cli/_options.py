"""Options more than one command shares, declared once (typer only: ``--help`` stays quick)."""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["ResubmitOption", "TaskIdOption", "check_one_decision"]


class _UsageProblem(Exception):
    """A usage error found outside click's parser (``topview simulator``'s argparse): the
    command prints ``error: MESSAGE (see 'COMMAND --help')`` and exits 2."""

    def __init__(self, message: str, command: str) -> None:
        super().__init__(message)
        self.message = message
        self.command = command


TaskIdOption = Annotated[
    str | None, typer.Option(help="The task this job's submit created (found by you).")
]
ResubmitOption = Annotated[
    bool, typer.Option("--resubmit", help="Allow one more submit (may charge again).")
]


def check_one_decision(task_id: str | None, resubmit: bool) -> None:
    """A job waiting on you gets exactly one decision: a task id, or a new submit."""
    if (task_id is None) == (not resubmit):
        raise typer.BadParameter("give exactly one of --task-id and --resubmit")
