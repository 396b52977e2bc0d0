"""``topview simulator``: the built-in Topview simulator on a local port."""

from __future__ import annotations

import json
from typing import Any


def parse_fault(text: str) -> dict[str, Any]:
    """``"path=/v1/m2v/task/submit,business_code=5003,rate=0.1"`` -> Fault keyword arguments
    (values parsed as JSON when they are JSON: numbers, true/false)."""
    options: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        if not sep:
            raise ValueError(f"fault option {part!r} is not NAME=VALUE")
        try:
            options[name.strip()] = json.loads(value)
        except ValueError:
            options[name.strip()] = value
        if name.strip() == "business_code":
            options["business_code"] = str(value)
    return options


def serve(
    *,
    host: str,
    port: int,
    seed: int,
    time_scale: float,
    media_size: int | None,
    max_unfinished_tasks: int | None,
    credits: float | None,
    faults: list[str],
) -> None:
    import uvicorn

    from ..testing import Fault, Simulator, SimulatorConfig

    config = SimulatorConfig(
        seed=seed,
        time_scale=time_scale,
        max_unfinished_tasks=max_unfinished_tasks,
        faults=[Fault(**parse_fault(text)) for text in faults],
    )
    if media_size is not None:
        config.media_size = media_size
    if credits is not None:
        config.credit = credits
    sim = Simulator(config)
    print(f"Topview simulator on http://{host}:{port}")
    print(f"  TOPVIEW_BASE_URL=http://{host}:{port}")
    print(f"  TOPVIEW_API_KEY={config.api_key}")
    print(f"  TOPVIEW_UID={config.uid}", flush=True)
    uvicorn.run(sim.app, host=host, port=port, log_level="warning", lifespan="on")
