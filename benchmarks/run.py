"""Run every benchmark and print one JSON line per figure: name, value, unit (+ context).

Usage: ``python benchmarks/run.py [--quick] [NAME ...]`` from the repository root.
Each ``benchmarks/bench_*.py`` module exposes ``run(quick: bool) -> list[dict]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller workloads (smoke test)")
    parser.add_argument("names", nargs="*", help="only these benchmarks (e.g. per, append)")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE.parent))
    machine = {"machine": platform.machine(), "python": platform.python_version()}
    print(
        json.dumps({"name": "machine", "value": platform.processor() or "", "unit": "", **machine})
    )
    for path in sorted(HERE.glob("bench_*.py")):
        short = path.stem.removeprefix("bench_")
        if args.names and short not in args.names:
            continue
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for figure in module.run(quick=args.quick):
            print(json.dumps(figure), flush=True)


if __name__ == "__main__":
    main()
