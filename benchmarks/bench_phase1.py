"""Phase 1 (SWR prioritized replay) alone, on a 10,000-transition buffer (in-process).

phase1_10k: 1,000 iterations, batch 64, over 10,000 random transitions with the
crash_week constraints, events emitted and folded as in a live run (goal <= 5 s; median
of 3). The whole run is ``bench_crash_week`` (a fresh process, as a user runs it).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from janus_sim.adapters.scenario_file import load_scenario
from janus_sim.core.logic import ConstraintSet
from janus_sim.core.replay_phase import replay_phase
from janus_sim.core.state import Recorder, SimState
from tests.factories import MINUTE_NS, run_started, transition

ROOT = Path(__file__).resolve().parents[1]
GOAL_S = 5.0


def _filled_state(n: int, d: int, limit: int, rng: np.random.Generator) -> Recorder:
    """A full buffer of ``n`` random transitions, built through the fold, at positions
    within ``limit``: the agent never holds more, and a position past it leaves the
    bootstrap no allowed action (a TD error of -inf, which replay refuses)."""
    rec = Recorder(SimState())
    rec.emit(run_started(n, d))
    states = rng.normal(size=(n + 1, d))
    for i in range(n):
        ctx = (
            rng.normal(-0.5, 1),
            rng.random(),
            rng.random() * 5,
            float(rng.integers(-limit, limit + 1)),
        )
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
        rec = _filled_state(
            10_000, len(sc.agent.features), sc.agent.position_limit, np.random.default_rng(rep)
        )
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
    value = round(float(np.median(times)), 3)
    return [
        {
            "name": "phase1_10k",
            "value": value,
            "unit": "s",
            "anchor": GOAL_S,
            "ratio": round(value / GOAL_S, 4),
            "iterations": n_iter,
            "batch": cfg.batch_size,
            "transitions": 10_000,
            "events": n_events,
            "goal": "<= 5 s for 1000 iterations",
        }
    ]
