"""How many L-BFGS iterations does the nightly projector need? (``projector_max_iter``)

Per setting of ``projection.projector_max_iter``, each synthetic scenario (calm_week,
crash_week) runs in memory under N seeds drawn at random for this run (printed with the
figures, never hand-picked), each run in its own worker process (two at a time). Reported
per scenario and setting, as means over every night of every seed:

* ``projector_trust``: trustworthiness (5 neighbours) of the projector's outputs against
  its standardized inputs, and ``map_trust`` the same for the map it was fitted to;
* ``projector_rmse``: the fit's RMSE in normalized map units;
* the anomaly monitor against the truth (``app.novelty``), pooled over the seeds: familiar
  FPR, novelty precision and recall, and the share of crash onsets caught within 30 bars;
* ``run_s``: mean wall time of one run (the setting's whole cost, not the projector's).

    python benchmarks/run.py projector_iters                  # 6 seeds, 75/150/300
    python benchmarks/bench_projector_iters.py                # the same
    JANUS_BENCH_N=8 JANUS_BENCH_ITERS=50,100,300 python benchmarks/bench_projector_iters.py
    JANUS_BENCH_SEEDS=11,12 python benchmarks/bench_projector_iters.py   # repeat a run
"""

from __future__ import annotations

import json
import os
import random
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ("calm_week", "crash_week")


def _ints(name: str, default: str) -> list[int]:
    return [int(v) for v in os.environ.get(name, default).split(",") if v.strip()]


def _seeds() -> list[int]:
    given = os.environ.get("JANUS_BENCH_SEEDS", "").strip()
    if given:
        return [int(s) for s in given.split(",") if s.strip()]
    draw = random.SystemRandom()
    return [draw.randrange(2**31) for _ in range(int(os.environ.get("JANUS_BENCH_N", "6")))]


def _one(job: tuple[str, int, int]) -> dict[str, Any]:
    """One run of scenario ``name`` at ``max_iter`` under ``seed``: its nightly metrics
    and novelty counts."""
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
    nov = run_quality(store, "q").novelty
    counts = {}
    if nov is not None:
        onset = nov.onset_of("crash")
        counts = {
            "flagged_novel": nov.flagged_novel,
            "flagged_familiar": nov.flagged_familiar,
            "novel": nov.novel,
            "familiar": nov.familiar,
            "onset_scored": onset is not None,
            "onset_caught": onset is not None and onset.lead is not None and onset.lead <= 30,
        }
    return {
        "name": name,
        "max_iter": max_iter,
        "seed": seed,
        "run_s": run_s,
        "nights": nights,
        **counts,
    }


def _mean(rows: list[dict[str, Any]], key: str) -> float | None:
    vals = [float(m[key]) for r in rows for m in r["nights"] if m.get(key) is not None]
    return statistics.fmean(vals) if vals else None


def _ratio(rows: list[dict[str, Any]], num: str, den: str) -> float | None:
    d = sum(int(r.get(den, 0)) for r in rows)
    return sum(int(r.get(num, 0)) for r in rows) / d if d else None


def _figures(seeds: list[int], iters: list[int]) -> list[dict[str, Any]]:
    jobs = [(n, it, s) for n in SCENARIOS for it in iters for s in seeds]
    with ProcessPoolExecutor(max_workers=2, mp_context=get_context("spawn")) as pool:
        results = list(pool.map(_one, jobs))
    out: list[dict[str, Any]] = []
    for name in SCENARIOS:
        for it in iters:
            rows = [r for r in results if r["name"] == name and r["max_iter"] == it]
            scored = [r for r in rows if r.get("onset_scored")]
            flags = [
                {**r, "flags": r.get("flagged_novel", 0) + r.get("flagged_familiar", 0)}
                for r in rows
            ]
            common = {"scenario": name, "max_iter": it, "seeds": seeds}
            values = {
                "projector_trust": (_mean(rows, "projector_trust"), "trustworthiness"),
                "map_trust": (_mean(rows, "map_trust"), "trustworthiness"),
                "projector_rmse": (_mean(rows, "projector_rmse"), "normalized map units"),
                "familiar_fpr": (
                    _ratio(rows, "flagged_familiar", "familiar"),
                    "flagged / familiar bars",
                ),
                "novelty_precision": (
                    _ratio(flags, "flagged_novel", "flags"),
                    "flags on novel bars / flags",
                ),
                "novelty_recall": (_ratio(rows, "flagged_novel", "novel"), "share"),
                "crash_onset": (
                    sum(bool(r["onset_caught"]) for r in scored) / len(scored) if scored else None,
                    "share of seeds",
                ),
                "run_s": (statistics.fmean(r["run_s"] for r in rows), "s"),
            }
            out += [
                {"name": f"projector_iters_{k}", "value": v, "unit": u, **common}
                for k, (v, u) in values.items()
            ]
    return out


def run(quick: bool = False) -> list[dict[str, Any]]:
    """The sweep as benchmark figures: 1 seed and 2 settings with ``quick``."""
    if quick:
        return _figures(_seeds()[:1], [20, 300])
    return _figures(_seeds(), _ints("JANUS_BENCH_ITERS", "75,150,300"))


def main() -> None:
    for figure in run():
        print(json.dumps(figure), flush=True)
