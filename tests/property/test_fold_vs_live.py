"""Stateful: the fold of the log up to any cycle is the live state at that cycle, and a
restore from that cycle's checkpoint (plus the events it references) is too."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from janus_sim.app.engine import Engine
from janus_sim.app.run_inputs import initial_event, run_generators
from janus_sim.config import Scenario
from janus_sim.core import checkpoint
from janus_sim.core import events as ev
from janus_sim.core.awake import run_day
from janus_sim.core.codec import decode
from janus_sim.core.sleep import sleep_cycle
from janus_sim.core.state import Recorder, SimState, apply, fold
from janus_sim.core.state_rows import checkpoint_fields
from janus_sim.core.world import World
from janus_sim.eventlog import digest_of
from janus_sim.memory_store import MemoryEventStore
from tests.conftest import TINY

_BUFFER_COLUMNS = (
    "ids",
    "states",
    "next_states",
    "actions",
    "rewards",
    "dones",
    "t_ns",
    "dt_ns",
    "ctx",
    "violations",
    "regimes",
)


def signature(state: SimState) -> dict[str, Any]:
    """Every observable part of the state, as plain comparable data."""
    buf, tree = state.require_buffer()
    slots = buf.chronological_slots()
    out: dict[str, Any] = dict(checkpoint_fields(state))
    out.update(
        cycle=state.cycle,
        t_ns=state.t_ns,
        metrics=sorted(state.metrics.items()),
        day_closed=sorted(state.day_closed.items()),
        tree_leaves=tree.leaves.tolist(),
        tree_total=tree.total,
        buffer={name: getattr(buf, name)[slots].tolist() for name in _BUFFER_COLUMNS},
        projection=state.projection,
        anomalies=list(state.anomalies),
    )
    return out


def _scenario(seed: int, capacity: int, days: int) -> Scenario:
    raw = {**TINY, "seed": seed}
    raw["calendar"] = {**TINY["calendar"], "bars_per_day": 16, "end": f"2025-12-{16 + days}"}
    raw["hippocampus"] = {**TINY["hippocampus"], "capacity": capacity}
    raw["replay"] = {"n_replays": 6, "batch_size": 4}
    # Loose gates so schemas are created, updated and pruned within a few nights.
    raw["neocortex"] = {"logic_threshold": 0.0, "recall_threshold": 0.0, "min_points": 3}
    return Scenario.model_validate(raw)


def night(world: World, day: int, rec: Recorder, gens: dict[str, np.random.Generator]) -> None:
    """One day and its night, as ``Engine._simulate`` runs them."""
    run_day(world, day, rec, gens["agent"])
    sleep_cycle(world, day, rec, gens["replay"])
    rec.emit(checkpoint.take(rec.state, gens))


class FoldEqualsLive(RuleBasedStateMachine):
    """Drives the engine's steps one night per rule and checks rebuilds against the live
    state recorded at earlier cycles."""

    @initialize(
        seed=st.integers(0, 2**16),
        capacity=st.sampled_from([10, 24, 200]),  # small ones force evictions
        days=st.integers(2, 5),
    )
    def start(self, seed: int, capacity: int, days: int) -> None:
        self.scenario = _scenario(seed, capacity, days)
        self.world = World.build(self.scenario)
        self.rec = Recorder(SimState())
        self.rec.emit(initial_event(self.scenario, self.world))
        self.events: list[ev.Event] = self.rec.drain()
        self.generators = run_generators(seed)
        self.day = 0
        self.snapshots: dict[int, tuple[int, dict[str, Any]]] = {}  # cycle -> (n_events, sig)

    @precondition(lambda self: self.day < self.world.n_days)
    @rule()
    def sleep(self) -> None:
        night(self.world, self.day, self.rec, self.generators)
        self.events.extend(self.rec.drain())
        self.day += 1
        self.snapshots[self.day] = (len(self.events), signature(self.rec.state))

    @precondition(lambda self: bool(self.snapshots))
    @rule(data=st.data())
    def fold_up_to_a_cycle(self, data: st.DataObject) -> None:
        cycle = data.draw(st.sampled_from(sorted(self.snapshots)))
        n, live = self.snapshots[cycle]
        assert signature(fold(self.events[:n])) == live

    @precondition(lambda self: bool(self.snapshots))
    @rule(data=st.data())
    def restore_from_a_checkpoint(self, data: st.DataObject) -> None:
        cycle = data.draw(st.sampled_from(sorted(self.snapshots)))
        n, live = self.snapshots[cycle]
        cp, started = self.events[n - 1], self.events[0]
        assert isinstance(cp, ev.StateCheckpoint) and cp.cycle == cycle
        assert isinstance(started, ev.RunStarted)
        history = [e for e in self.events[:n] if e.KIND in checkpoint.HISTORY_KINDS]
        restored = checkpoint.restore(started, cp, history)
        assert signature(restored) == live
        # The rest of the log folds onto the restored state exactly as onto the live one.
        for e in self.events[n:]:
            apply(e, restored)
        assert signature(restored) == signature(self.rec.state)


FoldEqualsLive.TestCase.settings = settings(
    max_examples=12,
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestFoldEqualsLive = FoldEqualsLive.TestCase


def test_the_hand_driven_nights_are_the_engines(tiny_scenario: Scenario) -> None:
    """The machine above drives exactly the steps of Engine.run: same events, same digest."""
    store = MemoryEventStore()
    result = Engine(tiny_scenario, store, run_id="r").run()
    world = World.build(tiny_scenario)
    rec = Recorder(SimState())
    rec.emit(initial_event(tiny_scenario, world))
    gens = run_generators(tiny_scenario.seed)
    for day in range(world.n_days):
        night(world, day, rec, gens)
    stored = [decode(r.record) for r in store.read("r").records()]
    assert rec.drain() == stored[:-1] and stored[-1].KIND == "run_finished"
    assert digest_of([store.read("r")]) == result.digest
    assert sum(e.KIND == "state_checkpoint" for e in stored) == world.n_days
