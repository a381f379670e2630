"""Profile one sleep cycle (cProfile) and print where its time goes.

Usage, from the repository root::

    python benchmarks/profile_sleep.py [--transitions 10000] [--top 30] [--out night.prof]

Runs ``night.py --warmup --profile`` in a fresh process (the night of ``bench_sleep``:
a full buffer of N transitions, all of them the day's), so the profile covers one warm
night from ``sleep_cycle`` to the end of phase 4 (the checkpoint and the night's log
append included), then prints the phase record and the functions with the most
cumulative and the most own time. Profiling slows numpy-heavy Python by about 1.5-2x;
read the shares, not the seconds. Keep ``--out`` to browse it (``python -m pstats FILE``).
"""

from __future__ import annotations

import argparse
import io
import json
import pstats
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from fresh import night  # noqa: E402


def report(path: Path, top: int) -> str:
    """The ``top`` functions by cumulative and by own time, as pstats prints them."""
    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out).strip_dirs()
    for key in ("cumulative", "tottime"):
        stats.sort_stats(key).print_stats(top)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transitions", type=int, default=10_000)
    parser.add_argument("--replays", type=int, default=None)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--out", type=Path, default=None, help="keep the profile here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.out or Path(tmp) / "night.prof"
        result = night(args.transitions, replays=args.replays, warmup=True, profile=path)
        (run,) = result["runs"]
        print(json.dumps(run["night"], indent=1))
        print(report(path, args.top))


if __name__ == "__main__":
    main()
