"""`at` (schema state as of a moment) in-process, on stores of 1,000,000 and 10,000,000 events.

The store holds crash_week's log repeated end to end as one long run: each copy is
shifted in sequence number, cycle and simulated time, and its schema ids are renamed so
the schema events stay consistent. `at` is timed at the run's last day and at its middle
(median of 5 calls each) through ``state_at(..., kinds=SCHEMA_KINDS)``, as the CLI does.
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
from janus_sim.app.timetravel import SCHEMA_KINDS, Moment, state_at
from janus_sim.eventlog import EventBatch
from janus_sim.memory_store import MemoryEventStore
from janus_sim.ports import RunInfo

ROOT = Path(__file__).resolve().parents[1]
WEEK_NS = 7 * 86_400 * 1_000_000_000
GOAL_S = 0.1  # issue 18: <= 0.1 s of query time at 10M events (the 1M figure shares the anchor)


def _base() -> EventBatch:
    sc, _ = load_scenario(ROOT / "scenarios" / "crash_week.yaml")
    store = MemoryEventStore()
    Engine(sc, store, run_id="base").run()
    return store.read("base")


def _copy(base: EventBatch, k: int, span_ns: int, cycles: int) -> EventBatch:
    n = len(base)
    schema = {i for i, kind in enumerate(base.kind) if kind.startswith("schema_")}
    tag = f"schema-w{k}-"
    return EventBatch(
        run_id="long",
        seq=base.seq + k * n,
        cycle=base.cycle + k * cycles,
        t_ns=base.t_ns + k * span_ns,
        kind=base.kind,
        entity=[e.replace("schema-", tag) if i in schema else e for i, e in enumerate(base.entity)],
        version=base.version,
        payload=[
            p.replace("schema-", tag) if i in schema else p for i, p in enumerate(base.payload)
        ],
    )


def _time_at(store: Any, moment: Moment) -> tuple[float, int]:
    times = []
    n_schemas = 0
    for _ in range(5):
        t0 = time.perf_counter()
        # One session for the whole command, as `janus-sim at` holds it (open_existing).
        with store.session():
            state, _ = state_at(store, "long", moment, kinds=SCHEMA_KINDS)
        times.append(time.perf_counter() - t0)
        n_schemas = len(state.schemas)
    return float(np.median(times)), n_schemas


def run(quick: bool = False) -> list[dict[str, Any]]:
    base = _base()
    span = (int(base.t_ns[-1] - base.t_ns[0]) // WEEK_NS + 1) * WEEK_NS
    cycles = int(base.cycle[-1])
    targets = [100_000] if quick else [1_000_000, 10_000_000]
    figures: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp))
        store.create_run(RunInfo("long", "crash_week", "", "", "", 0, "bench"))
        copies = 0
        for target in targets:
            while copies * len(base) < target:
                store.append(_copy(base, copies, span, cycles))
                copies += 1
            n = copies * len(base)
            last_day = int(base.t_ns[-1]) + (copies - 1) * span
            middle = int(base.t_ns[-1]) + (copies // 2) * span
            for label, t in (("end", last_day), ("middle", middle)):
                seconds, n_schemas = _time_at(store, Moment(t_ns=t, label=label))
                figures.append(
                    {
                        "name": f"at_{label}",
                        "value": round(seconds, 4),
                        "unit": "s",
                        "anchor": GOAL_S,
                        "ratio": round(seconds / GOAL_S, 4),
                        "events": n,
                        "schemas": n_schemas,
                        "goal": "<= 0.1 s at 10M",
                    }
                )
        store.close()
    return figures
