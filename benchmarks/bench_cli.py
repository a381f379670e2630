"""The command line's wall time in a fresh process, imports included (issue 18).

Each command runs as ``python -m janus_sim ...`` in a new process, 5 times; the figure is
the median wall time from process start to exit. The store is crash_week with 50 replay
iterations a night, written once beforehand (``run --no-qdrant``): 7 days, about 24,000
events, which is small enough that the time is the command's start (imports, opening the
store), not its work. ``at`` rebuilds the schema state at the end of the run from the log
(goal <= 1 s including imports); the others have no goal of their own and show what the
lazy root group (``janus_sim/cli/main.py``) leaves of their start.
``--quick``: 2 calls per command instead of 5.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from fresh import ROOT, figure, run_python

AT_GOAL_S = 1.0


def _median_wall(args: list[str], calls: int) -> float:
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        run_python(["-m", "janus_sim", *args])
        times.append(time.perf_counter() - start)
    return round(statistics.median(times), 3)


def run(quick: bool = False) -> list[dict[str, Any]]:
    calls = 2 if quick else 5
    with tempfile.TemporaryDirectory(prefix="janus-cli-") as tmp:
        doc = yaml.safe_load((ROOT / "scenarios" / "crash_week.yaml").read_text())
        doc["replay"]["n_replays"] = 50
        scenario = Path(tmp) / "crash_week_50.yaml"
        scenario.write_text(yaml.safe_dump(doc))
        store = str(Path(tmp) / "store")
        run_python(["-m", "janus_sim", "run", str(scenario), "--store", store, "--quiet"])
        commands: list[tuple[str, list[str], float | None]] = [
            ("cli_at", ["at", "--store", store], AT_GOAL_S),
            ("cli_at_json", ["at", "--store", store, "--json"], AT_GOAL_S),
            ("cli_at_help", ["at", "--help"], AT_GOAL_S),
            ("cli_help", ["--help"], None),
            ("cli_runs", ["runs", "--store", store], None),
            ("cli_events", ["events", "--store", store, "--limit", "5"], None),
        ]
        out = []
        for name, args, goal in commands:
            wall = _median_wall(args, calls)
            out.append(
                figure(
                    name,
                    wall,
                    "s",
                    goal,
                    command="janus-sim " + " ".join("STORE" if a == store else a for a in args),
                    calls=calls,
                    stat="median wall, fresh process, imports included",
                )
            )
    return out
