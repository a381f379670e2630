"""Phase 1 (SWR prioritized replay) on a 10,000-transition buffer, and a whole run.

* phase1_10k: 1,000 iterations, batch 64, over 10,000 transitions with the crash_week
  constraints, events emitted and folded as in a live run (goal <= 5 s);
* crash_week_run: ``Engine.run`` of scenarios/crash_week.yaml into a DuckDB store.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from janus_sim.adapters.duckdb_store import open_store
from janus_sim.adapters.scenario_file import load_scenario
from janus_sim.app.engine import Engine
from janus_sim.core.logic import ConstraintSet
from janus_sim.core.state import Recorder, SimState
from janus_sim.core.swr import replay_phase
from tests.factories import MINUTE_NS, run_started, transition

ROOT = Path(__file__).resolve().parents[1]


def _filled_state(n: int, d: int, rng: np.random.Generator) -> Recorder:
    """A full buffer of ``n`` random transitions, built through the fold."""
    rec = Recorder(SimState())
    rec.emit(run_started(n, d))
    states = rng.normal(size=(n + 1, d))
    for i in range(n):
        ctx = (rng.normal(-0.5, 1), rng.random(), rng.random() * 5, float(rng.integers(-4, 5)))
        rec.emit(
            transition(
                i,
                i * MINUTE_NS,
                states[i].tolist(),
                action=i % 3,
                reward=float(rng.normal(0, 0.1)),
                next_state=states[i + 1].tolist(),
                ctx=tuple(float(c) for c in ctx),
                violation=float(rng.random() < 0.1),
            )
        )
    rec.drain()
    return rec


def run(quick: bool = False) -> list[dict[str, Any]]:
    sc, _ = load_scenario(ROOT / "scenarios" / "crash_week.yaml")
    n_iter = 100 if quick else sc.replay.n_replays
    cfg = sc.replay.model_copy(update={"n_replays": n_iter})
    constraints = ConstraintSet.compile(
        sc.logic.constraints, sc.logic.predicates, sc.agent.position_limit
    )
    times = []
    for rep in range(1 if quick else 3):
        rec = _filled_state(10_000, len(sc.agent.features), np.random.default_rng(rep))
        t0 = time.perf_counter()
        replay_phase(
            rec,
            constraints,
            sc.agent,
            cfg,
            np.random.default_rng(100 + rep),
            cycle=1,
            t_ns=10_000 * MINUTE_NS,
        )
        times.append(time.perf_counter() - t0)
        n_events = len(rec.drain())
    figures: list[dict[str, Any]] = [
        {
            "name": "phase1_10k",
            "value": round(float(np.median(times)), 3),
            "unit": "s",
            "iterations": n_iter,
            "batch": cfg.batch_size,
            "transitions": 10_000,
            "events": n_events,
            "goal": "<= 5 s for 1000 iterations",
        }
    ]
    if not quick:
        with tempfile.TemporaryDirectory() as tmp:
            store = open_store(tmp)
            t0 = time.perf_counter()
            result = Engine(sc, store, run_id="bench").run()
            elapsed = time.perf_counter() - t0
            store.close()
        figures.append(
            {
                "name": "crash_week_run",
                "value": round(elapsed, 2),
                "unit": "s",
                "cycles": len(result.metrics),
                "events": result.n_events,
            }
        )
    return figures
