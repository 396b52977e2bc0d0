"""``python -m topview_async.testing``: run the simulator standalone.

Prints the base URL and the test credentials as ``export`` lines, then serves until
interrupted. Faults (``--fault``, ``--chaos``) and task failures (``--failure-probability``)
are chosen here too, for trying a client against a misbehaving Topview from another process::

    python -m topview_async.testing --time-scale 50 --chaos 0.1 --failure-probability 0.05

``topview simulator`` is the same command (one parser: :mod:`._command`).
"""

from __future__ import annotations

import sys

from .._exceptions import ConfigurationError
from ._command import build_parser, configure, serve


def main(argv: list[str] | None = None) -> int:
    parser = build_parser("python -m topview_async.testing")
    args = parser.parse_args(argv)
    try:
        config = configure(args)
    except ConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        parser.error(str(exc))
    serve(args, config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
