"""A run in a fresh in-memory store, without a vector store: nothing touches the disk.

The one way ``baseline`` and the notebook API's ``simulate`` run a scenario in memory; the
events are those ``janus-sim run`` writes for the same inputs, so the digest is the same.
"""

from __future__ import annotations

from janus_sim.app.engine import Engine
from janus_sim.app.run_outcome import Observer, RunResult
from janus_sim.config import Scenario
from janus_sim.core.market import ObservedBars
from janus_sim.memory_store import MemoryEventStore


def run_in_memory(
    sc: Scenario,
    *,
    run_id: str,
    source: str,
    text: str,
    bars: ObservedBars | None = None,
    observer: Observer | None = None,
) -> tuple[MemoryEventStore, RunResult]:
    """Run ``sc`` as ``run_id`` into a new in-memory store: the store and the result."""
    store = MemoryEventStore()
    engine = Engine(
        sc,
        store,
        run_id=run_id,
        scenario_source=source,
        scenario_text=text,
        observer=observer,
        market_data=bars,
    )
    return store, engine.run()
