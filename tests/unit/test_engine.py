"""The engine end to end in memory: determinism, rebuild = live state, failure marking."""

from __future__ import annotations

import numpy as np
import pytest

from janus_sim.app.engine import Engine
from janus_sim.app.run_outcome import Observer, default_run_id
from janus_sim.config import Scenario
from janus_sim.core.codec import decode
from janus_sim.core.state import SimState, fold
from janus_sim.errors import StoreError
from janus_sim.eventlog import digest_of
from janus_sim.memory_store import MemoryEventStore


def _run(sc: Scenario, store: MemoryEventStore | None = None, run_id: str = "r") -> Engine:
    engine = Engine(sc, store or MemoryEventStore(), run_id=run_id, clock=lambda: "t")
    engine.run()
    return engine


def _rebuild(store: MemoryEventStore, run_id: str) -> SimState:
    return fold(decode(e.record) for e in store.read(run_id).records())


def test_same_seed_same_digest_other_seed_other_digest(tiny_scenario: Scenario) -> None:
    a = Engine(tiny_scenario, MemoryEventStore(), run_id="a").run()
    b = Engine(tiny_scenario, MemoryEventStore(), run_id="b").run()
    c = Engine(tiny_scenario.with_seed(8), MemoryEventStore(), run_id="c").run()
    assert a.digest == b.digest  # the run id is not part of the digest
    assert a.digest != c.digest


def test_digest_is_over_the_stored_events(tiny_scenario: Scenario) -> None:
    store = MemoryEventStore()
    result = Engine(tiny_scenario, store, run_id="r").run()
    batch = store.read("r")
    assert len(batch) == result.n_events
    assert batch.seq.tolist() == list(range(result.n_events))  # gap-free from 0
    assert digest_of([batch]) == result.digest
    info = store.get_run("r")
    assert info.status == "finished" and info.digest == result.digest
    assert info.versions["numpy"] == np.__version__


def test_rebuild_from_the_log_is_the_live_state(tiny_scenario: Scenario) -> None:
    store = MemoryEventStore()
    engine = _run(tiny_scenario, store)
    live = engine.state
    assert live is not None
    rebuilt = _rebuild(store, "r")
    lb, lt = live.require_buffer()
    rb, rt = rebuilt.require_buffer()
    assert rb.next_id == lb.next_id and rb.size == lb.size
    for name in (
        "ids",
        "states",
        "next_states",
        "actions",
        "rewards",
        "dones",
        "t_ns",
        "ctx",
        "violations",
    ):
        assert np.array_equal(getattr(rb, name), getattr(lb, name)), name
    assert np.array_equal(rebuilt.priorities, live.priorities)
    assert np.array_equal(rt.leaves, lt.leaves)
    assert np.array_equal(rebuilt.params, live.params)
    assert np.array_equal(rebuilt.sep_weights, live.sep_weights)
    assert rebuilt.metrics == live.metrics and rebuilt.finished


def test_buffer_evicts_when_the_run_outgrows_capacity(tiny_scenario: Scenario) -> None:
    store = MemoryEventStore()
    _run(tiny_scenario, store)
    evicted = store.read("r").kind.count("transition_evicted")
    recorded = store.read("r").kind.count("transition_recorded")
    assert recorded == 3 * 39 and evicted == recorded - tiny_scenario.hippocampus.capacity


def test_phase_one_events_per_night(tiny_scenario: Scenario) -> None:
    store = MemoryEventStore()
    _run(tiny_scenario, store)
    kinds = store.read("r").kind
    n = tiny_scenario.replay.n_replays
    days = 3
    assert kinds.count("priorities_computed") == days
    for k in ("replay_batch_sampled", "policy_updated", "priorities_updated"):
        assert kinds.count(k) == days * n
    assert kinds.count("cycle_metrics") == days
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"


class _Boom(Observer):
    def cycle_finished(self, cycle: int, date: str, metrics: dict[str, float]) -> None:
        if cycle == 2:
            raise RuntimeError("disk on fire")


def test_a_run_that_stops_early_is_marked_failed(tiny_scenario: Scenario) -> None:
    store = MemoryEventStore()
    with pytest.raises(RuntimeError):
        Engine(tiny_scenario, store, run_id="r", observer=_Boom()).run()
    info = store.get_run("r")
    assert info.status == "failed" and info.digest is None
    assert info.message == "RuntimeError: disk on fire"
    assert "run_finished" not in store.read("r").kind


def test_existing_run_id_is_refused(tiny_scenario: Scenario) -> None:
    store = MemoryEventStore()
    _run(tiny_scenario, store)
    with pytest.raises(StoreError, match="run id 'r' already exists"):
        _run(tiny_scenario, store)
    assert default_run_id(store, tiny_scenario) == "tiny-s7"
