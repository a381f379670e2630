"""The membership the schema events record (``schema_created``'s founder, ``schema_updated``
v2's joiners and their distances), checked against the run that wrote it.

* Per night, the founders and joiners are exactly the ``consolidated`` transitions of
  ``consolidation_gated``, none twice (nor on two nights), and every update's count grows
  by its joiners: n_points = n before + points_added, points_added = len(joined).
* The distances are the ones assignment decided on: replaying each schema's joiners in
  their recorded order with ``neocortex.consolidate``, from the schema as it was before
  the night (or as created tonight), gives the logged moments bit for bit, and each
  joiner's distance is the squared Mahalanobis distance to the schema just before it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from janus_sim.app.engine import Engine
from janus_sim.config import Scenario
from janus_sim.core import events as ev
from janus_sim.core.codec import decode
from janus_sim.core.neocortex import _mahalanobis_sq, consolidate
from janus_sim.core.state import SimState, apply
from janus_sim.core.world import World
from janus_sim.memory_store import MemoryEventStore
from tests.conftest import TINY


def _scenario(seed: int, capacity: int, days: int, recall: float) -> Scenario:
    raw = {**TINY, "seed": seed}
    raw["calendar"] = {**TINY["calendar"], "bars_per_day": 16, "end": f"2025-12-{16 + days}"}
    raw["hippocampus"] = {**TINY["hippocampus"], "capacity": capacity}
    raw["replay"] = {"n_replays": 4, "batch_size": 4}
    # Loose logic gate: nights consolidate; a recall threshold > 0 also holds some back.
    raw["neocortex"] = {"logic_threshold": 0.0, "recall_threshold": recall, "min_points": 3}
    return Scenario.model_validate(raw)


def _events(scenario: Scenario) -> list[ev.Event]:
    store = MemoryEventStore()
    Engine(scenario, store, run_id="r").run()
    return [decode(s.record) for s in store.read("r").records()]


def _check_night_counts(events: list[ev.Event]) -> int:
    """The first property; returns how many transitions joined an existing schema."""
    seen: set[int] = set()
    night: list[int] = []
    n_points: dict[str, int] = {}
    gated: dict[int, int] = {}
    joiners = 0
    for e in events:
        if isinstance(e, ev.ConsolidationGated):
            gated[e.cycle] = e.consolidated
            night = []
        elif isinstance(e, ev.SchemaCreated):
            night.append(e.transition_id)
            n_points[e.schema_id] = 1
        elif isinstance(e, ev.SchemaUpdated):
            assert e.membership_known and e.joined is not None
            assert e.joined_mahalanobis_sq is not None
            assert e.points_added == len(e.joined) == len(e.joined_mahalanobis_sq) > 0
            assert e.n_points == n_points[e.schema_id] + len(e.joined)
            assert all(np.isfinite(d) and d >= 0.0 for d in e.joined_mahalanobis_sq)
            n_points[e.schema_id] = e.n_points
            night.extend(e.joined)
            joiners += len(e.joined)
        elif isinstance(e, ev.CycleMetrics) and e.cycle in gated:
            assert len(night) == len(set(night)) == gated[e.cycle], e.cycle
            assert not seen & set(night)  # consolidated once in a run, in one schema
            seen |= set(night)
    assert gated, "no night consolidated: the property is vacuous"
    return joiners


def _replay_joins(events: list[ev.Event], world: World, eta: float) -> None:
    """The second property: fold the log, and at each update replay its joiners."""
    state = SimState()
    for e in events:
        if isinstance(e, ev.SchemaUpdated):
            assert e.joined is not None and e.joined_mahalanobis_sq is not None
            buf, _ = state.require_buffer()
            sch = state.schemas[e.schema_id]  # before tonight, or as created tonight
            for tid, dist in zip(e.joined, e.joined_mahalanobis_sq, strict=True):
                slot = buf.slots_of(np.array([tid]))
                s = state.view(buf.states[slot])[:, world.memory_cols]
                want = _mahalanobis_sq(np.ascontiguousarray(s), sch.chol[None], sch.mean[None])
                assert dist == float(want[0, 0]), (e.schema_id, tid)
                sch = consolidate(sch, s[0], float(buf.rewards[slot[0]]), e.t_ns, eta)
            assert tuple(sch.mean.tolist()) == e.mean and ev.as_matrix(sch.cov) == e.cov
            assert sch.n_points == e.n_points and sch.avg_reward == e.avg_reward
        apply(e, state)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**16),
    capacity=st.sampled_from([24, 40, 200]),
    days=st.integers(2, 4),
    recall=st.sampled_from([0.0, 0.3]),
)
def test_joiners_are_the_consolidated_transitions(
    seed: int, capacity: int, days: int, recall: float
) -> None:
    scenario = _scenario(seed, capacity, days, recall)
    events = _events(scenario)
    _check_night_counts(events)
    _replay_joins(events, World.build(scenario), scenario.neocortex.eta)


def test_the_tiny_run_records_joiners() -> None:
    """The default gates too: the tiny run's schemas gain joiners (not only founders)."""
    scenario = Scenario.model_validate(TINY)
    events = _events(scenario)
    assert _check_night_counts(events) > 0
    _replay_joins(events, World.build(scenario), scenario.neocortex.eta)


def _created_and_updated() -> tuple[SimState, ev.SchemaUpdated]:
    """A state holding the tiny run's first schema as created, and its first update."""
    events = _events(Scenario.model_validate(TINY))
    created = next(e for e in events if isinstance(e, ev.SchemaCreated))
    update = next(
        e for e in events if isinstance(e, ev.SchemaUpdated) and e.schema_id == created.schema_id
    )
    state = SimState()
    for e in events[: events.index(created) + 1]:
        apply(e, state)
    return state, update


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"n_points": 99}, r"n_points 99 is not 1 before \+ \d+ added"),
        ({"joined": (1, 2, 3)}, r"3 joined and \d+ distances for \d+ points added"),
        ({"joined_mahalanobis_sq": None}, r"\d+ joined and -1 distances"),
    ],
    ids=["count", "joined", "distances"],
)
def test_an_inconsistent_update_does_not_fold(changes: dict[str, Any], message: str) -> None:
    state, update = _created_and_updated()
    bad = replace(update, **changes)
    with pytest.raises(ValueError, match=rf"^schema_updated of {update.schema_id} \(cycle 1\): "):
        apply(bad, state)
    with pytest.raises(ValueError, match=message):
        apply(bad, state)
    apply(update, state)  # the real one folds
    assert state.schemas[update.schema_id].n_points == 1 + len(update.joined or ())


def test_an_update_of_unknown_membership_folds_on_its_count() -> None:
    """An upcast v1 update (joined None) is checked on its count only."""
    state, update = _created_and_updated()
    apply(replace(update, joined=None, joined_mahalanobis_sq=None), state)
    assert state.schemas[update.schema_id].n_points == update.n_points
