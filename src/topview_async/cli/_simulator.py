"""``topview simulator``: the built-in Topview simulator on a local port.

Its options are those of ``python -m topview_async.testing``: the same parser
(:mod:`topview_async.testing._command`), so the two cannot drift apart.
"""

from __future__ import annotations

from ._options import _UsageProblem

PROG = "topview simulator"


def serve(argv: list[str]) -> None:
    """Parse ``argv`` as the simulator's options and serve (a usage error: ``_UsageProblem``)."""
    from .._exceptions import ConfigurationError
    from ..testing._command import build_parser, configure, serve

    parser = build_parser(PROG, exit_on_error=False)
    try:
        args = parser.parse_args(argv)
        config = configure(args)
    except ConfigurationError:
        raise  # the testing extra is missing: the message says what to install
    except ValueError as exc:  # argparse's words, a bad fault or probability
        raise _UsageProblem(str(exc), PROG) from None
    serve(args, config)


def help_text() -> str:
    """The ``--help`` of ``topview simulator`` (for the generated CLI reference)."""
    from ..testing._command import build_parser

    return build_parser(PROG).format_help()
