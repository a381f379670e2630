"""Run the benchmarks and print one JSON line per figure.

Usage, from the repository root: ``python benchmarks/run.py [--quick] [NAME ...]``.

Each line is ``{"name", "value", "unit"}`` plus, where the figure has one, ``anchor``
(the goal, or the reference implementation's figure) and ``ratio`` (value / anchor), then
the workload's parameters. The first line describes the machine (CPU model, cores, RAM,
Python and library versions, load average); the last repeats the load average, so a
reader can tell whether the machine was quiet. Each ``benchmarks/bench_NAME.py`` exposes
``run(quick: bool) -> list[dict]``; they run in ``ORDER``, then any others by name (a
file without ``run``, such as ``bench_projector_umap.py``, is a study run on its own).
``--quick`` shrinks every workload to a smoke pass (and skips the 10M-event store).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

ORDER = ("sleep", "scaling", "crash_week", "cli", "per", "phase1", "phase2", "append", "at")
"""Headline first; the slow store-building ``at`` last."""


def _benchmarks() -> list[Path]:
    found = {p.stem.removeprefix("bench_"): p for p in HERE.glob("bench_*.py")}
    ordered = [found.pop(name) for name in ORDER if name in found]
    return ordered + [found[name] for name in sorted(found)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller workloads (smoke test)")
    parser.add_argument("names", nargs="*", help="only these benchmarks (e.g. sleep, per)")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(HERE.parent))
    from machine import describe, load_average

    benches = _benchmarks()
    unknown = set(args.names) - {p.stem.removeprefix("bench_") for p in benches}
    if unknown:
        parser.error(f"no benchmark named {', '.join(sorted(unknown))}")
    print(json.dumps(describe()), flush=True)
    start = time.perf_counter()
    for path in benches:
        short = path.stem.removeprefix("bench_")
        if args.names and short not in args.names:
            continue
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        # Registered under its name, as an import would: dataclasses look their module up
        # there, and a process pool pickles a module's functions by that name.
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        if not hasattr(module, "run"):
            # A study run on its own (python benchmarks/bench_NAME.py), not a suite figure.
            if args.names:
                parser.error(f"{path.name} is a study: run python {path.relative_to(HERE.parent)}")
            continue
        for figure in module.run(quick=args.quick):
            print(json.dumps({**figure, "bench": short}), flush=True)
    print(
        json.dumps(
            {
                "name": "suite_done",
                "value": round(time.perf_counter() - start, 1),
                "unit": "s",
                "load_average": load_average(),
                "quick": args.quick,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
