"""The simulator's command line: one parser for ``python -m topview_async.testing`` and
``topview simulator``, so both take exactly the same options and fault syntax.

Parsing needs no extra (``--help`` works everywhere); serving needs the ``testing`` extra
(Starlette, uvicorn) and says so when it is missing. What is printed on stdout is shell
code: ``export NAME=value`` lines and ``#`` comments, so ``eval`` or ``source`` works on it;
the request log goes to stderr.
"""

from __future__ import annotations

import argparse
import copy
import shlex
from dataclasses import fields
from typing import TYPE_CHECKING, NoReturn

from .._exceptions import ConfigurationError
from ._config import DEFAULT_API_KEY, DEFAULT_UID, TASK_KINDS

if TYPE_CHECKING:
    from ._config import SimulatorConfig
    from ._faults import Fault

__all__ = ["TESTING_EXTRA", "build_parser", "configure", "serve"]

TESTING_EXTRA = "pip install 'topview-async[testing]'"


class _Parser(argparse.ArgumentParser):
    """With ``raise_errors``, every usage error raises ``ValueError`` with argparse's words
    (``topview simulator`` prints it as its one ``error:`` line) instead of exiting."""

    raise_errors = False

    def error(self, message: str) -> NoReturn:
        if self.raise_errors:
            raise ValueError(message)
        super().error(message)


def build_parser(prog: str, *, exit_on_error: bool = True) -> argparse.ArgumentParser:
    """The simulator's options (``prog`` is the command's name in usage and help)."""
    parser = _Parser(
        prog=prog,
        description="Run the Topview simulator on a local port. Prints `export` lines for "
        "TOPVIEW_BASE_URL, TOPVIEW_API_KEY and TOPVIEW_UID (shell code: eval or source it), "
        "then serves until interrupted, logging every request on stderr.",
    )
    parser.raise_errors = not exit_on_error
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random choice")
    parser.add_argument("--time-scale", type=float, default=1.0, help="speed-up of task durations")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY, help="the API key it accepts")
    parser.add_argument("--uid", default=DEFAULT_UID, help="the uid it accepts")
    parser.add_argument("--media-size", type=int, default=None, help="bytes per media file")
    parser.add_argument("--credits", type=float, default=None, help="the account's balance")
    parser.add_argument(
        "--max-unfinished-tasks",
        type=int,
        default=None,
        metavar="N",
        help="answer 4007 beyond N unfinished tasks",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="inject a fault, as comma-separated Fault fields (NAME=VALUE, or NAME alone to "
        "switch a flag on), e.g. 'path=/v1/m2v/task/submit,drop_connection,rate=0.1' or "
        "'path=/_storage/media/*,truncate_body=100000,reset,rate=0.1' (repeatable)",
    )
    parser.add_argument(
        "--chaos",
        type=float,
        default=None,
        metavar="RATE",
        help="fault RATE (0-1) of the requests with a mix of every fault kind",
    )
    parser.add_argument(
        "--failure-probability",
        action="append",
        default=[],
        metavar="[KIND=]P",
        help="chance that a task ends with 'fail': for every kind, or KIND=P (repeatable)",
    )
    parser.add_argument(
        "--log-requests",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="log every request served, on stderr (default: on)",
    )
    return parser


def _require_extra() -> None:
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise ConfigurationError(
            f"the simulator needs the testing extra ({exc.name} is missing): {TESTING_EXTRA}"
        ) from None


def configure(args: argparse.Namespace) -> SimulatorConfig:
    """The simulator's configuration from parsed options.

    Raises ``ValueError`` for a bad fault or failure probability, and
    :class:`~topview_async.ConfigurationError` when the ``testing`` extra is missing.
    """
    _require_extra()
    from ._config import SimulatorConfig
    from ._faults import every_fault, parse_fault

    faults = []
    for spec in args.fault:
        try:
            faults.append(parse_fault(spec))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"--fault {spec!r}: {exc}") from None
    if args.chaos is not None:
        try:
            faults += every_fault(args.chaos)
        except ValueError as exc:
            raise ValueError(f"--chaos {args.chaos}: {exc}") from None
    config = SimulatorConfig(
        api_key=args.api_key,
        uid=args.uid,
        seed=args.seed,
        time_scale=args.time_scale,
        faults=faults,
        failure_probability=_failure_probabilities(args.failure_probability),
        max_unfinished_tasks=args.max_unfinished_tasks,
    )
    if args.media_size is not None:
        config.media_size = args.media_size
    if args.credits is not None:
        config.credit = args.credits
    return config


def serve(args: argparse.Namespace, config: SimulatorConfig) -> None:
    """Print the environment as shell code, then serve until interrupted."""
    import uvicorn

    from ._simulator import Simulator

    sim = Simulator(config)
    base_url = f"http://{args.host}:{args.port}"
    print(f"# Topview simulator on {base_url}; eval or source these lines")
    for name, value in (
        ("TOPVIEW_BASE_URL", base_url),
        ("TOPVIEW_API_KEY", config.api_key),
        ("TOPVIEW_UID", config.uid),
    ):
        print(f"export {name}={shlex.quote(value)}")
    for fault in config.faults:
        print(f"# fault: {_describe(fault)}")
    print(flush=True)
    # uvicorn logs requests on stdout; stdout is shell code here, so every log goes to stderr.
    logging = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    logging["handlers"]["access"]["stream"] = "ext://sys.stderr"
    uvicorn.run(
        sim.app,
        host=args.host,
        port=args.port,
        log_level="info" if args.log_requests else "warning",
        access_log=args.log_requests,
        log_config=logging,
        lifespan="on",
    )


def _failure_probabilities(specs: list[str]) -> dict[str, float]:
    """``["0.1"]`` -> every kind at 0.1; ``["m2v=0.5"]`` -> that kind only."""
    chances: dict[str, float] = {}
    for spec in specs:
        kind, _, value = spec.rpartition("=")
        try:
            chance = float(value)
        except ValueError:
            raise ValueError(f"failure probability {value!r} is not a number") from None
        if not 0 <= chance <= 1:
            raise ValueError(f"failure probability {value} is not between 0 and 1")
        if kind and kind not in TASK_KINDS:
            raise ValueError(f"unknown task kind {kind!r} (known: {', '.join(TASK_KINDS)})")
        for name in [kind] if kind else TASK_KINDS:
            chances[name] = chance
    return chances


def _describe(fault: Fault) -> str:
    from ._faults import Fault

    defaults = Fault()
    changed = {
        f.name: getattr(fault, f.name)
        for f in fields(Fault)
        if f.init and getattr(fault, f.name) != getattr(defaults, f.name)
    }
    return ", ".join(f"{key}={value}" for key, value in changed.items())
