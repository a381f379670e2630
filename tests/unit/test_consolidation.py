"""Phase 2 through the engine: gates, schema events, and time travel by folding the log."""

from __future__ import annotations

from typing import cast

import numpy as np
import pytest

from janus_sim.app.engine import Engine
from janus_sim.app.run_outcome import Observer
from janus_sim.app.timetravel import Moment, schema_rows, state_at
from janus_sim.config import Scenario
from janus_sim.core import events as ev
from janus_sim.core.agent import policy_step
from janus_sim.core.codec import decode
from janus_sim.core.gates import episode_ids, episode_logic_gate, recall_gate
from janus_sim.core.hippocampus import sparse_code
from janus_sim.core.state import SimState, fold
from janus_sim.core.world import World
from janus_sim.errors import NotFoundError, StoreError
from janus_sim.memory_store import MemoryEventStore


class _Snapshots(Observer):
    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.schemas: dict[int, dict[str, tuple[np.ndarray, np.ndarray, int]]] = {}
        self.whole: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}

    def cycle_finished(self, cycle: int, date: str, metrics: dict[str, float]) -> None:
        assert self.engine is not None and self.engine.state is not None
        self.schemas[cycle] = {
            sid: (s.mean.copy(), s.cov.copy(), s.n_points)
            for sid, s in self.engine.state.schemas.items()
        }
        st = self.engine.state
        buf, _ = st.require_buffer()
        self.whole[cycle] = (
            st.params.copy(),
            st.priorities.copy(),
            buf.ids.copy(),
            st.sep_weights.copy(),
        )


def test_fold_to_each_cycle_equals_the_live_state(tiny_scenario: Scenario) -> None:
    store = MemoryEventStore()
    snaps = _Snapshots()
    engine = Engine(tiny_scenario, store, run_id="r", observer=snaps)
    snaps.engine = engine
    engine.run()
    assert any(snaps.schemas.values()), "the tiny run should create schemas"
    for cycle, live in snaps.schemas.items():
        rebuilt, _ = state_at(store, "r", Moment(cycle=cycle))
        assert list(rebuilt.schemas) == list(live)
        for sid, (mean, cov, n) in live.items():
            got = rebuilt.schemas[sid]
            assert np.array_equal(got.mean, mean) and np.array_equal(got.cov, cov)
            assert got.n_points == n
        params, priorities, ids, sep = snaps.whole[cycle]
        buf, _ = rebuilt.require_buffer()
        assert np.array_equal(rebuilt.params, params)
        assert np.array_equal(rebuilt.priorities, priorities)
        assert np.array_equal(buf.ids, ids) and np.array_equal(rebuilt.sep_weights, sep)


def test_schema_metrics_match_the_schema_events(tiny_scenario: Scenario) -> None:
    store = MemoryEventStore()
    result = Engine(tiny_scenario, store, run_id="r").run()
    kinds = store.read("r").kind
    created = kinds.count("schema_created")
    pruned = kinds.count("schema_pruned")
    assert created == sum(m["schemas_created"] for m in result.metrics.values())
    assert pruned == sum(m["schemas_pruned"] for m in result.metrics.values())
    final, _ = state_at(store, "r", Moment())
    assert len(final.schemas) == created - pruned == result.metrics[3]["n_schemas"]
    rows = schema_rows(final)
    points = sum(cast(int, r["points"]) for r in rows)
    assert points == sum(s.n_points for s in final.schemas.values())


def test_logic_gate_blocks_consolidation_below_threshold(tiny_scenario: Scenario) -> None:
    strict = tiny_scenario.model_copy(
        update={"neocortex": tiny_scenario.neocortex.model_copy(update={"logic_threshold": 1.0})}
    )
    result = Engine(strict, MemoryEventStore(), run_id="r").run()
    for m in result.metrics.values():
        assert m["consolidated"] == 0 and m["n_schemas"] == 0


def test_recall_gate_passes_familiar_codes_and_not_novel_ones() -> None:
    rng = np.random.default_rng(0)
    familiar = np.zeros((200, 64))
    familiar[:, :6] = rng.random((200, 6)) + 1.0  # the buffer's usual active units
    novel = np.zeros((50, 64))
    novel[:, 40:46] = rng.random((50, 6)) + 1.0  # units the buffer never uses
    again = np.zeros((50, 64))
    again[:, :6] = rng.random((50, 6)) + 1.0  # new codes like the old ones
    g_fam, w_r, b_r = recall_gate(again, familiar, 4.0, 0.2)
    g_nov, _, _ = recall_gate(novel, familiar, 4.0, 0.2)
    assert w_r > 0 and np.isfinite(b_r)
    assert (g_fam > 0.3).mean() >= 0.7 and (g_nov < 0.3).all()
    # Nothing earlier: the first night passes everything.
    g_first, w0, b0 = recall_gate(novel, familiar[:0], 4.0, 0.2)
    assert (g_first == 1.0).all() and w0 == 0.0 and b0 == np.inf


def test_a_moment_before_the_run_is_an_error(tiny_scenario: Scenario) -> None:
    store = MemoryEventStore()
    Engine(tiny_scenario, store, run_id="r").run()
    with pytest.raises(NotFoundError, match="2025-12-01 is before run 'r' starts"):
        state_at(store, "r", Moment(t_ns=0, label="2025-12-01"))
    with pytest.raises(NotFoundError, match=r"2030-01-01 is after run 'r' ends \(2025-12-19"):
        state_at(store, "r", Moment(t_ns=1_893_456_000 * 10**9, label="2030-01-01"))


class _BrokenVectors:
    """A vector store whose every write fails, as an unreachable server would."""

    def __init__(self) -> None:
        self.calls = 0

    def recreate(self, name: str, dim: int) -> None:
        self.calls += 1
        raise StoreError("Qdrant at http://example.invalid does not answer (timeout)")

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"unexpected call {name}")


def test_a_failing_vector_store_never_costs_events(tiny_scenario: Scenario) -> None:
    plain = Engine(tiny_scenario, MemoryEventStore(), run_id="r").run()
    broken = _BrokenVectors()
    store = MemoryEventStore()
    engine = Engine(tiny_scenario, store, run_id="r", vector_store=broken)  # type: ignore[arg-type]
    result = engine.run()
    assert result.digest == plain.digest and store.get_run("r").status == "finished"
    assert engine.vector_error is not None and "does not answer" in engine.vector_error
    assert broken.calls == 1  # after the first failure the engine stops trying


def _loose(sc: Scenario, **neocortex: float) -> Scenario:
    """Gates that let consolidation happen on the tiny run's nights."""
    nc = sc.neocortex.model_copy(
        update={"logic_threshold": 0.0, "recall_threshold": 0.0, **neocortex}
    )
    return sc.model_copy(update={"neocortex": nc})


def _code(state: SimState, cols: np.ndarray, rho: float, raw: np.ndarray) -> np.ndarray:
    """The hippocampal codes of raw states, as phase 2 computes them."""
    return sparse_code(state.sep_weights, state.sep_bias, state.view(raw)[:, cols], rho)


def test_gated_policy_update_is_eq_19_over_the_gated_transitions(
    tiny_scenario: Scenario,
) -> None:

    sc = _loose(tiny_scenario, eta_sleep=0.05)
    store = MemoryEventStore()
    Engine(sc, store, run_id="r").run()
    events = [decode(r.record) for r in store.read("r").records()]
    consolidated = [i for i, e in enumerate(events) if isinstance(e, ev.PolicyConsolidated)]
    assert consolidated, "loose gates must let the policy consolidate"

    world = World.build(sc)
    for i in consolidated:
        e = events[i]
        assert isinstance(e, ev.PolicyConsolidated) and e.eta == 0.05
        gated = events[i - 1]
        assert isinstance(gated, ev.ConsolidationGated) and e.n_transitions == gated.consolidated
        # Recompute eq. 19 from the state just before the update, by brute force.
        state = fold(events[:i])
        buf, _ = state.require_buffer()
        day_start = buf.next_id - state.day_transitions
        waiting = [t for t in state.held_back if buf.oldest_id <= t < day_start]
        ids = np.concatenate([np.array(waiting, dtype=np.int64), np.arange(day_start, buf.next_id)])
        slots = buf.slots_of(ids)
        cols = world.memory_cols
        rho = sc.hippocampus.sparsity

        earlier = _code(
            state, cols, rho, buf.states[buf.slots_of(np.arange(buf.oldest_id, day_start))]
        )
        skip = np.concatenate(
            [
                np.array(waiting, dtype=np.int64) - buf.oldest_id,
                np.full(len(ids) - len(waiting), -1),
            ]
        )
        g_recall, _, _ = recall_gate(
            _code(state, cols, rho, buf.states[slots]),
            earlier,
            sc.neocortex.recall_sharpness,
            sc.neocortex.recall_quantile,
            skip=skip,
        )
        today = slots[len(waiting) :]
        lg = sc.logic
        g_logic = np.concatenate(
            [
                np.ones(len(waiting)),
                episode_logic_gate(
                    world.constraints,
                    buf.ctx[today],
                    buf.actions[today],
                    episode_ids(lg.episode, np.rint(buf.ctx[today, 3]), lg.episode_bars),
                    lg.p_episode,
                    lg.p_sat_agg,
                ),
            ]
        )
        gates = g_recall * g_logic  # every candidate passes the loose gates
        step = policy_step(
            state.params,
            state.view(buf.states[slots]),
            buf.actions[slots],
            buf.rewards[slots],
            state.view(buf.next_states[slots]),
            buf.dones[slots],
            buf.ctx[slots],
            gates,
            world.constraints,
            gamma=sc.agent.gamma,
            learning_rate=0.05,
            logic_weight=sc.agent.logic_loss_weight,
            temperature=sc.agent.policy_temperature,
            grad_clip=sc.agent.grad_clip,
            target=state.target_params,
            position_limit=sc.agent.position_limit,
        )
        assert np.array_equal(np.array(e.params), step.params)
        assert e.mean_gate == pytest.approx(float(gates.mean()), rel=1e-12)
        assert not np.array_equal(step.params, state.params)


def test_no_gated_policy_update_when_eta_sleep_is_zero_or_the_gate_is_shut(
    tiny_scenario: Scenario,
) -> None:
    for sc in (
        _loose(tiny_scenario, eta_sleep=0.0),
        _loose(tiny_scenario, logic_threshold=1.0),  # SatAgg never exceeds 1
    ):
        store = MemoryEventStore()
        Engine(sc, store, run_id="r").run()
        assert "policy_consolidated" not in store.read("r").kind
