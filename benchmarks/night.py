"""One sleep cycle on N transitions, timed phase by phase in a fresh process.

Run as a script (the suite starts it through ``fresh.night``); it prints one JSON object:

    python benchmarks/night.py --transitions 10000 [--replays 1000] [--runs 2]
                               [--warmup] [--profile FILE] [--spec-gates]

The workload is crash_week's scenario (market regimes, agent, constraints, sleep
parameters) cut to one trading day of N + 1 one-second bars (calm, stress, crash,
rebound, a quarter each), with the episodic buffer's capacity raised to N: the night
finds a full buffer of N transitions, all of them the day's. Both consolidation gates
are opened (logic threshold 0, recall similarity -1), so phase 2 consolidates every one
of them — the heaviest night a buffer of N can give. (At the spec's gates such a day's
SatAgg stays under 0.7 and phase 2 consolidates nothing; ``--spec-gates`` keeps them.)
A calendar day holds at most 100,000 bars, so N = 100,000 gives 99,999 transitions; the
output says how many there were.

Each run is a complete ``Engine.run`` into a DuckDB store with the embedded Qdrant
collection (phase 4), exactly as ``janus-sim run`` drives it, with the calls timed from
outside by ``PhaseClock``. ``--runs 2`` runs the same scenario twice in this process
(new run id): the first night carries the one-time costs (numba compiling or loading its
cache, lazy imports, first-touch allocations), the second is warm. ``--warmup`` first runs
a tiny scenario so that every night measured is warm. ``--profile`` writes a cProfile of
the last run's night (``sleep_cycle`` to the end of phase 4) to FILE.

Output: ``import_s`` (importing janus_sim, numba, duckdb and qdrant), ``runs`` (per run:
transitions, the day's and night's record from ``phase_clock.summarize``, ``run_s``,
the digest, the process's peak resident memory before and after the night, schemas),
the functions wrapped per phase, numba's kernels compiled vs loaded from its cache, and
``peak_rss_mb`` (the process's peak resident memory, ``resource.getrusage``, at the end).
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()

import argparse  # noqa: E402
import cProfile  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import yaml  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from phase_clock import PhaseClock, peak_rss_mb, summarize  # noqa: E402

from janus_sim.adapters.duckdb_store import open_store  # noqa: E402
from janus_sim.adapters.qdrant_store import QdrantVectorStore  # noqa: E402
from janus_sim.adapters.snapshot_files import SnapshotFiles  # noqa: E402
from janus_sim.app.engine import Engine  # noqa: E402
from janus_sim.app.run_outcome import RunResult  # noqa: E402
from janus_sim.config import Scenario  # noqa: E402

IMPORT_S = time.perf_counter() - _T0
IMPORT_RSS_MB = peak_rss_mb()

MAX_BARS_PER_DAY = 100_000  # config.Calendar.bars_per_day's bound
NIGHT_DATE = "2025-12-18"


def night_scenario(
    transitions: int, replays: int | None = None, *, open_gates: bool = True
) -> Scenario:
    """crash_week with one day of ``transitions`` + 1 bars and a buffer that holds them;
    with ``open_gates`` every transition passes phase 2's gates."""
    doc: dict[str, Any] = yaml.safe_load((ROOT / "scenarios" / "crash_week.yaml").read_text())
    doc["name"] = f"night_{transitions}"
    doc["calendar"].update(
        start=NIGHT_DATE,
        end=NIGHT_DATE,
        bars_per_day=min(transitions + 1, MAX_BARS_PER_DAY),
        bar_seconds=1,
    )
    quarter = [{"regime": r, "fraction": 0.25} for r in ("calm", "stress", "crash", "rebound")]
    doc["market"]["days"] = [{"date": NIGHT_DATE, "segments": quarter}]
    doc["hippocampus"]["capacity"] = transitions
    if open_gates:
        # Every transition passes both consolidation gates (eq. 20).
        doc["neocortex"] = {"logic_threshold": 0.0, "recall_threshold": 0.0}
    if replays is not None:
        doc["replay"]["n_replays"] = replays
    return Scenario.model_validate(doc)


def run_once(sc: Scenario, root: Path, run_id: str) -> RunResult:
    """``Engine.run`` of ``sc`` into the store and Qdrant folder under ``root``."""
    store = open_store(root)
    vectors = QdrantVectorStore.local(root / "qdrant")
    try:
        engine = Engine(
            sc,
            store,
            run_id=run_id,
            vector_store=vectors,
            snapshots=SnapshotFiles(root / "snapshots"),
        )
        result = engine.run()
        if engine.vector_error is not None:
            raise RuntimeError(f"phase 4 failed: {engine.vector_error}")
    finally:
        vectors.close()
        store.close()
    return result


def numba_report() -> dict[str, Any]:
    """numba's compiled functions in this process, from every loaded module (janus_sim's
    kernels and those of umap-learn and pynndescent behind phase 3): how many were compiled
    here and how many loaded from numba's cache."""
    from numba.core.dispatcher import Dispatcher

    compiled = hits = 0
    seen: set[int] = set()
    for module in list(sys.modules.values()):
        for obj in list(getattr(module, "__dict__", {}).values()):
            if not isinstance(obj, Dispatcher) or id(obj) in seen:
                continue
            seen.add(id(obj))
            hits += sum(obj.stats.cache_hits.values())
            for ov in obj.overloads.values():
                if (getattr(ov, "metadata", None) or {}).get("timers"):
                    compiled += 1
    return {"compiled": compiled, "cache_hits": hits}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transitions", type=int, required=True)
    parser.add_argument("--replays", type=int, default=None, help="n_replays (default 1000)")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--warmup", action="store_true", help="a tiny run first (all warm)")
    parser.add_argument("--profile", type=Path, default=None, help="cProfile the last night")
    parser.add_argument(
        "--spec-gates", action="store_true", help="keep the scenario's consolidation gates"
    )
    args = parser.parse_args()

    clock = PhaseClock()
    clock.install()
    sc = night_scenario(args.transitions, args.replays, open_gates=not args.spec_gates)
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="janus-night-") as tmp:
        root = Path(tmp)
        if args.warmup:
            run_once(night_scenario(200, 20), root, "warmup")
        for k in range(args.runs):
            last = k == args.runs - 1
            clock.profiler = cProfile.Profile() if args.profile and last else None
            n_days = len(clock.days)
            start = time.perf_counter()
            result = run_once(sc, root, f"run{k}")
            elapsed = time.perf_counter() - start
            if clock.profiler is not None and args.profile is not None:
                clock.profiler.dump_stats(str(args.profile))
            (day,) = clock.days[n_days:]
            rss_before, rss_after = clock.rss_mb[-1]
            metrics = result.metrics[1]
            runs.append(
                {
                    "transitions": sc.calendar.bars_per_day - 1,
                    "capacity": sc.hippocampus.capacity,
                    "n_replays": sc.replay.n_replays,
                    "run_s": round(elapsed, 3),
                    "events": result.n_events,
                    "digest": result.digest,
                    "night": summarize(day),
                    "peak_rss_mb_before_night": round(rss_before, 1),
                    "peak_rss_mb_after_night": round(rss_after, 1),
                    "consolidated": int(metrics["consolidated"]),
                    "n_schemas": int(metrics["n_schemas"]),
                }
            )
    print(
        json.dumps(
            {
                "import_s": round(IMPORT_S, 3),
                "import_rss_mb": round(IMPORT_RSS_MB, 1),
                "runs": runs,
                "wrapped": clock.wrapped,
                "numba": numba_report(),
                "peak_rss_mb": round(peak_rss_mb(), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
