"""A sweep of 8 trials on this machine: serially, on the local executor and on Ray.

The sweep is crash_week with seeds 0-7 (``--quick``: the same week with 50 replay
iterations a night and projection off). Each executor runs it as a user would, a fresh
``janus-sim sweep`` process into a fresh folder, timed from start to exit:

- ``inline``: one trial after another in one process (the serial baseline);
- ``local``: ``--workers`` processes (default: every core);
- ``ray``: a local Ray started by the command, ``--workers`` CPUs.

Figures: the wall time of each, the speedup over serial, and the per-trial overhead:
(wall x workers - the trials' own run time) / trials, where a trial's run time is the
``elapsed_s`` its worker measured around the run itself. The overhead is what
parallelism costs per trial: process start and imports, Ray's scheduling, reading the
results back, idle workers at the end. All three must give the same digests.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl
import yaml
from fresh import ROOT, figure

TRIALS = 8


def _command() -> list[str]:
    script = Path(sys.executable).parent / "janus-sim"
    return [str(script)] if script.exists() else [sys.executable, "-m", "janus_sim"]


def _sweep_file(tmp: Path, quick: bool) -> Path:
    scenario = ROOT / "scenarios" / "crash_week.yaml"
    if quick:
        doc = yaml.safe_load(scenario.read_text())
        doc["replay"]["n_replays"] = 50
        doc["projection"] = {"enabled": False}
        scenario = tmp / "crash_week_quick.yaml"
        scenario.write_text(yaml.safe_dump(doc))
    path = tmp / "bench_sweep.yaml"
    path.write_text(
        yaml.safe_dump({"name": "bench", "scenarios": [str(scenario)], "seeds": {"count": TRIALS}})
    )
    return path


def _one(sweep: Path, out: Path, executor: str, workers: int) -> tuple[float, pl.DataFrame]:
    cmd = [*_command(), "sweep", str(sweep), "--out", str(out), "--quiet"]
    cmd += ["--executor", executor] + (["--workers", str(workers)] if executor != "inline" else [])
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    return wall, pl.read_parquet(out / "trials.parquet")


def _run_time(trials: pl.DataFrame) -> float:
    """The trials' own run time, in seconds, as their workers measured it."""
    return float(trials["elapsed_s"].cast(pl.Float64).sum())


def run(quick: bool = False) -> list[dict[str, Any]]:
    workers = os.cpu_count() or 1
    out: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="janus-bench-sweep-") as tmp_name:
        tmp = Path(tmp_name)
        sweep = _sweep_file(tmp, quick)
        serial_wall, serial = _one(sweep, tmp / "inline", "inline", 1)
        digests = serial["digest"].to_list()
        context: dict[str, Any] = {
            "trials": TRIALS,
            "quick": quick,
            "workload": "crash_week seeds 0-7",
        }
        out.append(
            figure(
                "sweep_serial",
                round(serial_wall, 1),
                "s",
                per_trial_overhead_s=round((serial_wall - _run_time(serial)) / TRIALS, 2),
                **context,
            )
        )
        for executor in ("local", "ray"):
            try:
                wall, df = _one(sweep, tmp / executor, executor, workers)
            except RuntimeError as e:
                if executor == "ray" and "Ray is not installed" in str(e):
                    continue  # the optional extra is absent: no Ray figure
                raise
            if df["digest"].to_list() != digests:
                raise RuntimeError(f"{executor} gave other digests than the serial sweep")
            overhead = (wall * workers - _run_time(df)) / TRIALS
            out.append(
                figure(
                    f"sweep_{executor}",
                    round(wall, 1),
                    "s",
                    workers=workers,
                    speedup=round(serial_wall / wall, 2),
                    per_trial_overhead_s=round(overhead, 2),
                    trial_run_s_mean=round(_run_time(df) / TRIALS, 2),
                    **context,
                )
            )
    return out
