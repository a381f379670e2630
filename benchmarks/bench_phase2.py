"""Phase 2 (gated consolidation into schemas) on 10,000 transitions, d = 32.

The day's 10,000 states are drawn around 80 centres (standardized scale), so the night
ends with about 80 schemas; every transition passes both gates (SatAgg 1.0, recall
similarity -1), the heaviest night there is, and takes the gated policy step (eq. 19).
Timed: ``consolidation_phase`` with its events emitted and folded, as in a live night
(goal <= 5 s).
"""

from __future__ import annotations

import time
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import numpy as np

from janus_sim.config import Agent, Constraint, Hippocampus, Logic, Neocortex, Predicates
from janus_sim.core import events as ev
from janus_sim.core.consolidation import consolidation_phase
from janus_sim.core.hippocampus import init_separation
from janus_sim.core.logic import ConstraintSet
from janus_sim.core.state import Recorder, SimState
from tests.factories import MINUTE_NS, run_started, transition

D, N, CENTRES = 32, 10_000, 80
GOAL_S = 5.0
CONSTRAINTS = (
    Constraint(name="no_new_exposure_in_crash", formula="crash -> not adds_exposure"),
    Constraint(name="respect_position_limit", formula="not exceeds_limit"),
)


def _night(rng: np.random.Generator) -> Recorder:
    rec = Recorder(SimState())
    start = run_started(N, D)
    w, b = init_separation(D, 128, rng)
    rec.emit(
        replace(
            start,
            sep_weights=ev.as_matrix(w),
            sep_bias=tuple(b.tolist()),
        )
    )
    centres = rng.normal(0, 3.0, size=(CENTRES, D))
    states = centres[rng.integers(0, CENTRES, N)] + rng.normal(0, 0.05, size=(N, D))
    for i in range(N):
        rec.emit(transition(i, i * MINUTE_NS, states[i].tolist(), reward=float(rng.normal())))
    rec.emit(
        ev.DayClosed(
            cycle=1,
            t_ns=N * MINUTE_NS,
            entity="day",
            date="2025-12-15",
            n_transitions=N,
            close_price=100.0,
            pnl=0.0,
            sat_agg=1.0,
            constraint_truth=(),
        )
    )
    rec.drain()
    return rec


def run(quick: bool = False) -> list[dict[str, Any]]:
    agent = Agent()
    world = SimpleNamespace(
        scenario=SimpleNamespace(
            # recall_threshold 0: every transition passes, the heaviest night there is
            neocortex=Neocortex(recall_threshold=0.0),
            hippocampus=Hippocampus(),
            agent=agent,
            logic=Logic(),
        ),
        memory_cols=np.arange(D),  # schemas see the whole D-dimensional state
        # The gated policy update (eq. 19) weighs the crash_week constraints.
        constraints=ConstraintSet.compile(CONSTRAINTS, Predicates(), agent.position_limit),
        date=lambda day: "2025-12-15",
    )
    times, schemas, consolidated = [], 0, 0
    for rep in range(1 if quick else 3):
        rec = _night(np.random.default_rng(rep))
        t0 = time.perf_counter()
        stats = consolidation_phase(rec, world, 0, cycle=1, t_ns=N * MINUTE_NS)  # type: ignore[arg-type]
        times.append(time.perf_counter() - t0)
        schemas, consolidated = len(rec.state.schemas), stats.consolidated
    value = round(float(np.median(times)), 3)
    return [
        {
            "name": "phase2_10k_d32",
            "value": value,
            "unit": "s",
            "anchor": GOAL_S,
            "ratio": round(value / GOAL_S, 4),
            "transitions": N,
            "dim": D,
            "consolidated": consolidated,
            "schemas": schemas,
            "goal": "<= 5 s",
        }
    ]
