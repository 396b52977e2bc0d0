"""``python -m topview_async.testing``: run the simulator standalone.

Prints the base URL and the test credentials, then serves until interrupted. Faults
(``--fault``, ``--chaos``) and task failures (``--failure-probability``) are chosen here
too, for trying a client against a misbehaving Topview from another process::

    python -m topview_async.testing --time-scale 50 --chaos 0.1 --failure-probability 0.05
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields

from ._config import DEFAULT_API_KEY, DEFAULT_UID, TASK_KINDS, SimulatorConfig
from ._faults import Fault, every_fault, parse_fault
from ._simulator import Simulator


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    parser = argparse.ArgumentParser(
        prog="python -m topview_async.testing", description="Run the Topview simulator."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-scale", type=float, default=1.0, help="speed-up of task durations")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--uid", default=DEFAULT_UID)
    parser.add_argument("--media-size", type=int, default=None, help="bytes per media file")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="inject a fault, as comma-separated Fault fields, e.g. "
        "'path=/_storage/media/*,truncate_body=100000,reset,rate=0.1' or "
        "'name=submitM2vTask,drop_before_handler,times=1' (repeatable)",
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
    args = parser.parse_args(argv)
    try:
        faults = [parse_fault(spec) for spec in args.fault]
        if args.chaos is not None:
            faults += every_fault(args.chaos)
        failures = _failure_probabilities(args.failure_probability)
    except ValueError as exc:
        parser.error(str(exc))
    config = SimulatorConfig(
        api_key=args.api_key,
        uid=args.uid,
        seed=args.seed,
        time_scale=args.time_scale,
        faults=faults,
        failure_probability=failures,
    )
    if args.media_size is not None:
        config.media_size = args.media_size
    sim = Simulator(config)
    print(f"Topview simulator on http://{args.host}:{args.port}")
    print(f"  TOPVIEW_BASE_URL=http://{args.host}:{args.port}")
    print(f"  TOPVIEW_API_KEY={config.api_key}")
    print(f"  TOPVIEW_UID={config.uid}", flush=True)
    for fault in faults:
        print(f"  fault: {_describe(fault)}", flush=True)
    uvicorn.run(sim.app, host=args.host, port=args.port, log_level="info", lifespan="on")
    return 0


def _failure_probabilities(specs: list[str]) -> dict[str, float]:
    """``["0.1"]`` -> every kind at 0.1; ``["m2v=0.5"]`` -> that kind only."""
    chances: dict[str, float] = {}
    for spec in specs:
        kind, _, value = spec.rpartition("=")
        chance = float(value)
        if not 0 <= chance <= 1:
            raise ValueError(f"failure probability {value} is not between 0 and 1")
        if kind and kind not in TASK_KINDS:
            raise ValueError(f"unknown task kind {kind!r} (known: {', '.join(TASK_KINDS)})")
        for name in [kind] if kind else TASK_KINDS:
            chances[name] = chance
    return chances


def _describe(fault: Fault) -> str:
    defaults = Fault()
    changed = {
        f.name: getattr(fault, f.name)
        for f in fields(Fault)
        if f.init and getattr(fault, f.name) != getattr(defaults, f.name)
    }
    return ", ".join(f"{key}={value}" for key, value in changed.items())


if __name__ == "__main__":
    sys.exit(main())
