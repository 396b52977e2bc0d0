"""``python -m benchmarks [--quick | --smoke] [--only 1,6] [--output PATH]``.

Runs the sections, prints each as it finishes, and writes ``benchmarks/RESULTS.md`` (full and
quick mode; ``--smoke`` writes nothing unless ``--output`` is given, so the test suite never
overwrites the committed results). Exits 1 if a section's harness code failed; an SDK API
that is missing is not a failure, it is reported as "not available".
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from . import (
    _cold,
    _download,
    _engines,
    _flat,
    _imports,
    _jobs,
    _polling,
    _report,
    _sync,
    _throughput,
    _upload,
)
from ._common import MODES, Mode, Section

SECTIONS: dict[int, tuple[str, Callable[[Mode], Section]]] = {
    1: ("Call throughput under concurrency", _throughput.run),
    2: ("Download", _download.run),
    3: ("Upload", _upload.run),
    4: ("Polling efficiency", _polling.run_polling),
    5: ("Scale", _polling.run_scale),
    6: ("Import time", _imports.run),
    7: ("Job runner", _jobs.run),
    8: ("Cold start", _cold.run),
    9: ("Sync client", _sync.run),
    10: ("Job engines: local runner vs Temporal", _engines.run),
    11: ("Flat cost: 1,000 to 100,000 jobs", _flat.run),
}
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "RESULTS.md"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="a small run, under two minutes")
    size.add_argument("--smoke", action="store_true", help="seconds; checks the harness works")
    parser.add_argument("--only", help="comma-separated section numbers, e.g. 1,6")
    parser.add_argument("--output", type=Path, help=f"results file (default {DEFAULT_OUTPUT})")
    args = parser.parse_args(argv)

    mode = MODES["smoke" if args.smoke else "quick" if args.quick else "full"]
    chosen = sorted(SECTIONS) if not args.only else sorted(int(n) for n in args.only.split(","))
    output = args.output or (None if args.smoke else DEFAULT_OUTPUT)

    print(f"topview-async benchmarks, {mode.name} mode, sections {chosen}")
    for key, value in _report.machine():
        print(f"  {key}: {value}")
    print(flush=True)

    started = time.perf_counter()
    sections: list[Section] = []
    failed = False
    for number in chosen:
        title, run = SECTIONS[number]
        print(f"running {number}. {title} ...", flush=True)
        section_started = time.perf_counter()
        try:
            section = run(mode)
        except Exception:
            failed = True
            traceback.print_exc()
            section = Section(number, title, notes=["the harness failed; see the traceback"])
        section.notes.append(f"section took {time.perf_counter() - section_started:.1f} s")
        sections.append(section)
        print(_report.console(section), flush=True)

    elapsed = time.perf_counter() - started
    if output is not None:
        output.write_text(_report.markdown(sections, mode, argv, elapsed))
        print(f"wrote {output}")
    print(f"done in {elapsed:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
