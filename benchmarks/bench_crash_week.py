"""crash_week end to end in a fresh process, as a user runs it (goal <= 90 s).

Times ``janus-sim run scenarios/crash_week.yaml --store TMP --quiet`` from process start
to exit: imports, seven days and nights (phases 1, 2, 4 with embedded Qdrant, 5; phase 3
once it exists), every event into DuckDB, the final table. ``--quick`` runs the same week
with 50 replay iterations a night instead of 1,000 (a smoke test of the same path).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from fresh import ROOT, figure

GOAL_S = 90.0


def _command() -> list[str]:
    script = Path(sys.executable).parent / "janus-sim"
    return [str(script)] if script.exists() else [sys.executable, "-m", "janus_sim"]


def run(quick: bool = False) -> list[dict[str, Any]]:
    scenario = ROOT / "scenarios" / "crash_week.yaml"
    with tempfile.TemporaryDirectory(prefix="janus-crash-week-") as tmp:
        if quick:
            doc = yaml.safe_load(scenario.read_text())
            doc["replay"]["n_replays"] = 50
            scenario = Path(tmp) / "crash_week_quick.yaml"
            scenario.write_text(yaml.safe_dump(doc))
        cmd = [*_command(), "run", str(scenario), "--store", str(Path(tmp) / "store"), "--quiet"]
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    digest = re.search(r"digest\s+([0-9a-f]{64})", proc.stdout)
    events = re.search(r"events\s+(\d+)", proc.stdout)
    return [
        figure(
            "crash_week_run",
            round(elapsed, 2),
            "s",
            GOAL_S,
            command="janus-sim run scenarios/crash_week.yaml --store TMP --quiet",
            n_replays=50 if quick else 1000,
            events=int(events.group(1)) if events else None,
            digest=digest.group(1) if digest else None,
        )
    ]
