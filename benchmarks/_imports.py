"""Section 6: ``import topview_async`` in a fresh interpreter, beside httpx and openai."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

from . import _sdk
from ._common import Mode, Section, Table, at_most, child_env, fmt, median, ratio

_TIMER = (
    "import time, importlib\n"
    "started = time.perf_counter()\n"
    "importlib.import_module({name!r})\n"
    "print(time.perf_counter() - started)\n"
)


def _import_seconds(name: str) -> float:
    done = subprocess.run(
        [sys.executable, "-c", _TIMER.format(name=name)],
        capture_output=True,
        text=True,
        timeout=60,
        env=child_env(),
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError((done.stderr.strip().splitlines() or ["import failed"])[-1])
    return float(done.stdout.strip().splitlines()[-1])


def _heaviest_imports(name: str, count: int = 5) -> str:
    """Where the import time goes, from one ``-X importtime`` run: the packages pulled in
    (cumulative ms) and the SDK's own slowest modules (self ms)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {name}"],
        capture_output=True,
        text=True,
        timeout=60,
        env=child_env(),
        check=False,
    )
    entries: list[tuple[str, float, float]] = []  # (module, self ms, cumulative ms)
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            self_us = parts[0].rsplit(":", 1)[-1].strip()
            if self_us.isdigit():
                entries.append((parts[2].strip(), int(self_us) / 1000, int(parts[1]) / 1000))
    packages: dict[str, float] = {}
    own: list[tuple[str, float]] = []
    for module, self_ms, cumulative_ms in entries:
        top = module.split(".")[0]
        if top == name:
            own.append((module, self_ms))
        elif "." not in module and not module.startswith("_"):
            packages[top] = max(packages.get(top, 0.0), cumulative_ms)
    heavy = sorted(packages.items(), key=lambda item: -item[1])[:count]
    slow = sorted(own, key=lambda item: -item[1])[:3]
    return (
        "packages (cumulative): "
        + ", ".join(f"{module} {ms:.0f} ms" for module, ms in heavy)
        + f"; slowest {name} modules (self): "
        + ", ".join(f"{module} {ms:.0f} ms" for module, ms in slow)
    )


def run(mode: Mode) -> Section:
    section = Section(6, "Import time")
    names = [_sdk.IMPORT_NAME, "httpx"]
    if importlib.util.find_spec("openai") is not None:
        names.append("openai")
    else:
        section.notes.append("openai is not installed in this environment; not measured")
    times: dict[str, list[float]] = {name: [] for name in names}
    errors: dict[str, str] = {}
    for _ in range(mode.import_runs):
        for name in names:  # interleaved, so drift on the machine hits all alike
            if name in errors:
                continue
            try:
                times[name].append(_import_seconds(name) * 1000)
            except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
                errors[name] = str(exc)

    table = Table(["module", "median import ms", "min ms", "vs httpx"])
    httpx_ms = median(times["httpx"])
    for name in names:
        value = median(times[name])
        table.rows.append(
            [
                name,
                fmt(value, ".1f"),
                fmt(min(times[name]) if times[name] else None, ".1f"),
                fmt(ratio(value, httpx_ms), ".2f", "x"),
            ]
        )
    section.tables.append(table)
    sdk_ms = median(times[_sdk.IMPORT_NAME])
    section.targets.append(at_most(f"import {_sdk.IMPORT_NAME} <= 150 ms", sdk_ms, 150.0, " ms"))
    for name, error in errors.items():
        section.notes.append(f"{name}: not available ({error})")
    if sdk_ms is not None:
        section.notes.append(
            f"{mode.import_runs} fresh interpreters per module, timed around the import only. "
            "One -X importtime run (which inflates times) for orientation: "
            + _heaviest_imports(_sdk.IMPORT_NAME)
        )
    return section
