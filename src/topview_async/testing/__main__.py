"""``python -m topview_async.testing``: run the simulator standalone.

Prints the base URL and the test credentials, then serves until interrupted.
"""

from __future__ import annotations

import argparse
import sys

from ._config import DEFAULT_API_KEY, DEFAULT_UID, SimulatorConfig
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
    args = parser.parse_args(argv)
    config = SimulatorConfig(
        api_key=args.api_key, uid=args.uid, seed=args.seed, time_scale=args.time_scale
    )
    if args.media_size is not None:
        config.media_size = args.media_size
    sim = Simulator(config)
    print(f"Topview simulator on http://{args.host}:{args.port}")
    print(f"  TOPVIEW_BASE_URL=http://{args.host}:{args.port}")
    print(f"  TOPVIEW_API_KEY={config.api_key}")
    print(f"  TOPVIEW_UID={config.uid}", flush=True)
    uvicorn.run(sim.app, host=args.host, port=args.port, log_level="info", lifespan="on")
    return 0


if __name__ == "__main__":
    sys.exit(main())
