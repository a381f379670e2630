"""How many L-BFGS iterations does the nightly projector need? (``projector_max_iter``)

Per setting of ``projection.projector_max_iter``, each synthetic scenario (calm_week,
crash_week) runs in memory under seeds drawn at random for this run (``bench_quality``'s
draw: printed with the figures, never hand-picked), each run in its own worker process (two
at a time). Reported per scenario and setting:

* ``projector_trust`` and ``map_trust`` (trustworthiness with 5 neighbours of the
  projector's outputs, and of the map it was fitted to) and ``projector_rmse`` (normalized
  map units): means over every night of every seed, from the runs' cycle metrics;
* the anomaly monitor against the truth, pooled over the seeds by ``app.quality``'s
  ``summarize``: familiar FPR, novelty precision and recall, and the share of crash onsets
  caught within ``ONSET_BARS``;
* ``run_s``: mean wall time of one run (the setting's whole cost, not the projector's).

    python benchmarks/run.py projector_iters                  # 6 seeds, 75/150/300
    python benchmarks/bench_projector_iters.py                # the same
    JANUS_QUALITY_N=8 JANUS_BENCH_ITERS=50,100,300 python benchmarks/bench_projector_iters.py
    JANUS_QUALITY_SEEDS=11,12 python benchmarks/bench_projector_iters.py   # repeat a run
"""

from __future__ import annotations

import json
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from bench_quality import random_seeds

from janus_sim.app.quality import RunQuality

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ("calm_week", "crash_week")
MAP_METRICS = ("projector_trust", "map_trust", "projector_rmse")


def _iters(default: str) -> list[int]:
    return [int(v) for v in os.environ.get("JANUS_BENCH_ITERS", default).split(",") if v.strip()]


def _one(job: tuple[str, int, int]) -> tuple[RunQuality, list[dict[str, float]], float]:
    """One run of scenario ``name`` at ``max_iter`` under ``seed``: its quality, its
    nightly metrics and its wall time."""
    from janus_sim.app.engine import Engine
    from janus_sim.app.quality import run_quality
    from janus_sim.memory_store import MemoryEventStore
    from janus_sim.ports import EventQuery
    from janus_sim.wiring import load_scenario

    name, max_iter, seed = job
    sc = load_scenario(ROOT / "scenarios" / f"{name}.yaml").scenario.with_seed(seed)
    proj = sc.projection.model_copy(update={"projector_max_iter": max_iter})
    sc = sc.model_copy(update={"projection": proj})
    store = MemoryEventStore()
    t0 = time.perf_counter()
    Engine(sc, store, run_id="q").run()
    run_s = time.perf_counter() - t0
    batch = store.read("q", EventQuery(kinds=["cycle_metrics"]))
    nights = [dict(json.loads(p)["metrics"]) for p in batch.payload]
    return run_quality(store, "q"), nights, run_s


def _mean(nights: list[dict[str, float]], key: str) -> float | None:
    vals = [float(m[key]) for m in nights if m.get(key) is not None]
    return statistics.fmean(vals) if vals else None


def _figures(seeds: list[int], iters: list[int]) -> list[dict[str, Any]]:
    from janus_sim.app.quality import summarize

    jobs = [(n, it, s) for n in SCENARIOS for it in iters for s in seeds]
    with ProcessPoolExecutor(max_workers=2, mp_context=get_context("spawn")) as pool:
        results = dict(zip(jobs, pool.map(_one, jobs), strict=True))
    out: list[dict[str, Any]] = []
    for name in SCENARIOS:
        for it in iters:
            runs = [results[(name, it, s)] for s in seeds]
            nights = [m for _, ns, _ in runs for m in ns]
            s = summarize([q for q, _, _ in runs])
            values: dict[str, tuple[object, str]] = {
                k: (_mean(nights, k), "mean over nights") for k in MAP_METRICS
            }
            values |= {
                "familiar_fpr": (s["familiar_fpr"], "flagged / familiar bars"),
                "novelty_precision": (s["novelty_precision"], "flags on novel bars / flags"),
                "novelty_recall": (s["novelty_recall"], "novel bars flagged / novel bars"),
                "crash_onset": (s["crash_onset_share"], "share of seeds"),
                "run_s": (statistics.fmean(r for _, _, r in runs), "s"),
            }
            common = {"scenario": name, "max_iter": it, "seeds": seeds}
            out += [
                {"name": f"projector_iters_{k}", "value": v, "unit": u, **common}
                for k, (v, u) in values.items()
            ]
    return out


def run(quick: bool = False) -> list[dict[str, Any]]:
    """The sweep as benchmark figures: 1 seed and 2 settings with ``quick``."""
    if quick:
        return _figures(random_seeds(1)[:1], [20, 300])
    return _figures(random_seeds(6), _iters("75,150,300"))


def main() -> None:
    for figure in run():
        print(json.dumps(figure), flush=True)


if __name__ == "__main__":
    main()
