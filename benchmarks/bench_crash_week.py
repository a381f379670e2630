"""crash_week end to end in a fresh process, as a user runs it: the first run, then warm.

Times ``janus-sim run scenarios/crash_week.yaml --store TMP`` from process start to exit:
imports, seven days and nights (phases 1 to 5, embedded Qdrant), every event into DuckDB,
the final table. Two runs, in a fresh ``git clone`` of this commit (so no byte-code and
no numba cache of this checkout is reused) with ``NUMBA_CACHE_DIR`` on a new empty folder:

* ``crash_week_first_run``: the cache is empty, numba compiles every kernel (the first
  run after an install; goal <= 25 s, issue 18). Its stderr must hold the one-line
  compile notice exactly once (``notice_lines``);
* ``crash_week_run``: the same command again, the cache now filled: every later run
  (goal <= 8 s, issue 18; it was 90 s before). It must print no notice.

Both runs must give the same digest. ``--quick`` runs only the warm run, in this checkout
on numba's usual cache, with 50 replay iterations a night instead of 1,000 (a smoke test
of the same path).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from fresh import ROOT, figure

FIRST_RUN_GOAL_S = 25.0
WARM_GOAL_S = 8.0
COMMAND = "janus-sim run scenarios/crash_week.yaml --store TMP"


def _timed_run(
    tree: Path, scenario: Path, store: Path, env: dict[str, str]
) -> tuple[float, subprocess.CompletedProcess[str]]:
    cmd = [sys.executable, "-m", "janus_sim", "run", str(scenario), "--store", str(store)]
    start = time.perf_counter()
    proc = subprocess.run(
        cmd, cwd=tree, env={**os.environ, **env}, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    return elapsed, proc


def _context(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    from janus_sim.cli.compile_notice import NOTICE

    digest = re.search(r"digest\s+([0-9a-f]{64})", proc.stdout)
    events = re.search(r"events\s+(\d+)", proc.stdout)
    return {
        "events": int(events.group(1)) if events else None,
        "digest": digest.group(1) if digest else None,
        "notice_lines": proc.stderr.count(NOTICE),
    }


def run(quick: bool = False) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="janus-crash-week-") as tmp:
        base = Path(tmp)
        if quick:
            doc = yaml.safe_load((ROOT / "scenarios" / "crash_week.yaml").read_text())
            doc["replay"]["n_replays"] = 50
            scenario = base / "crash_week_quick.yaml"
            scenario.write_text(yaml.safe_dump(doc))
            elapsed, proc = _timed_run(ROOT, scenario, base / "store", {})
            return [
                figure(
                    "crash_week_run",
                    round(elapsed, 2),
                    "s",
                    WARM_GOAL_S,
                    command=COMMAND,
                    n_replays=50,
                    **_context(proc),
                )
            ]
        tree, cache = base / "clone", base / "numba-cache"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(tree)], check=True)
        cache.mkdir()
        env = {"NUMBA_CACHE_DIR": str(cache), "PYTHONPATH": str(tree)}
        scenario = tree / "scenarios" / "crash_week.yaml"
        cold_s, cold = _timed_run(tree, scenario, base / "store-1", env)
        warm_s, warm = _timed_run(tree, scenario, base / "store-2", env)
    cold_ctx, warm_ctx = _context(cold), _context(warm)
    if cold_ctx["digest"] != warm_ctx["digest"]:
        raise AssertionError("the first and the second run gave different digests")
    return [
        figure(
            "crash_week_first_run",
            round(cold_s, 2),
            "s",
            FIRST_RUN_GOAL_S,
            command=COMMAND,
            process="fresh clone, numba cache empty",
            n_replays=1000,
            **cold_ctx,
        ),
        figure(
            "crash_week_run",
            round(warm_s, 2),
            "s",
            WARM_GOAL_S,
            command=COMMAND,
            process="fresh process, numba cache filled",
            n_replays=1000,
            **warm_ctx,
        ),
    ]
