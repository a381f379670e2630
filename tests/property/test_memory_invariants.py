"""Invariants of the memory (issue 13): causal features and scaling, a target held within
its sync period, a recall gate monotone in familiarity, episodes that tile the day, and
schemas that cannot outlive their grace night below min_points."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from janus_sim.app.engine import Engine
from janus_sim.app.run_outcome import Observer
from janus_sim.config import Agent, Predicates, Replay, Scenario
from janus_sim.core import events as ev
from janus_sim.core import features, gates, scaler
from janus_sim.core.logic import ConstraintSet
from janus_sim.core.market import generate_bars
from janus_sim.core.replay_phase import replay_phase
from janus_sim.core.rng import component_rng
from janus_sim.memory_store import MemoryEventStore
from tests.conftest import TINY
from tests.unit.test_replay_phase import _recorder

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@given(
    arrays(np.float64, st.tuples(st.integers(2, 40), st.integers(1, 4)), elements=finite), st.data()
)
def test_expanding_standardization_is_causal(raw: np.ndarray, data: st.DataObject) -> None:
    names = [f"f{j}" for j in range(raw.shape[1])]
    t = data.draw(st.integers(0, raw.shape[0] - 1))
    changed = raw.copy()
    changed[t + 1 :] = data.draw(arrays(np.float64, changed[t + 1 :].shape, elements=finite))
    a, b = scaler.expanding(raw, names), scaler.expanding(changed, names)
    assert np.array_equal(a[: t + 1], b[: t + 1])  # rows <= t never see later rows


def test_market_features_of_a_bar_depend_on_earlier_bars_only() -> None:
    sc = Scenario.model_validate(TINY)
    bars = generate_bars(sc.market, sc.calendar, component_rng(3, "market"))
    t = 50
    later = copy.copy(bars)
    object.__setattr__(later, "close", bars.close.copy())
    object.__setattr__(later, "volume", bars.volume.copy())
    later.close[t + 1 :] *= 1.7
    later.volume[t + 1 :] *= 5.0
    for name in ("log_rv_15", "volume_15", "rv_30", "ret_5", "drawdown", "volume_z_60"):
        a, b = features.market_feature(bars, name), features.market_feature(later, name)
        assert np.array_equal(a[: t + 1], b[: t + 1]), name


@given(arrays(np.float64, st.tuples(st.integers(1, 30), st.integers(1, 4)), elements=finite))
def test_the_scaler_passes_unit_features_and_standardizes_the_rest(raw: np.ndarray) -> None:
    names = ["position", *[f"f{j}" for j in range(raw.shape[1] - 1)]]
    fit = scaler.fit(raw, names)
    out = fit.apply(raw)
    assert np.array_equal(out[:, 0], raw[:, 0])
    assert (fit.scale > 0).all() and np.isfinite(out).all()


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 6), st.integers(5, 15))
def test_the_target_is_constant_within_each_sync_period(period: int, n: int) -> None:
    rec = _recorder(60, 3, 1)
    replay_phase(
        rec,
        ConstraintSet.compile([], Predicates(), 3),
        Agent(),
        Replay(n_replays=n, batch_size=8, target_sync=period),
        np.random.default_rng(0),
        cycle=1,
        t_ns=60,
    )
    out = rec.drain()
    syncs = [e for e in out if isinstance(e, ev.TargetSynced)]
    assert [s.iteration for s in syncs] == list(range(0, n, period))
    online = {e.iteration: e.params for e in out if isinstance(e, ev.PolicyUpdated)}
    for s in syncs[1:]:  # a sync copies the online network as it stood after the last step
        assert s.params == online[s.iteration - 1]


codes = arrays(
    np.float64, st.tuples(st.integers(8, 30), st.just(6)), elements=st.floats(0, 3, allow_nan=False)
)


@settings(deadline=None)
@given(codes, codes)
def test_the_recall_gate_is_monotone_in_recall_strength(
    earlier: np.ndarray, queries: np.ndarray
) -> None:
    g, w_r, _ = gates.recall_gate(queries, earlier, 4.0, 0.2)
    r = gates.recall_strength(queries, earlier)
    assert w_r >= 0
    order = np.argsort(r, kind="stable")
    assert (np.diff(g[order]) >= -1e-15).all()  # more strongly recalled: never less open


@given(st.lists(st.integers(-3, 3), min_size=1, max_size=80), st.integers(1, 40))
def test_episodes_tile_the_day_in_order(positions: list[int], bars: int) -> None:
    pos = np.array(positions)
    for kind in ("day", "window", "trade"):
        ids = gates.episode_ids(kind, pos, bars)
        assert ids[0] == 0 and (np.diff(ids) >= 0).all() and (np.diff(ids) <= 1).all()
    window = gates.episode_ids("window", pos, bars)
    assert (np.bincount(window)[:-1] == bars).all()
    trade = gates.episode_ids("trade", pos, bars)
    starts = np.flatnonzero(np.diff(trade)) + 1
    assert (pos[starts] == 0).all()  # every trade after the first opens flat


class _Live(Observer):
    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.violations: list[str] = []

    def cycle_finished(self, cycle: int, date: str, metrics: dict[str, float]) -> None:
        assert self.engine is not None and self.engine.state is not None
        st_ = self.engine.state
        floor = self.engine.scenario.neocortex.min_points
        for sid, sch in st_.schemas.items():
            if sch.created_ns < st_.t_ns and sch.n_points < floor:
                self.violations.append(f"night {cycle}: {sid} has {sch.n_points} points")


@settings(max_examples=6, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_no_schema_under_min_points_outlives_its_grace_night(seed: int) -> None:
    doc: dict[str, Any] = copy.deepcopy(TINY)
    doc["seed"] = seed
    live = _Live()
    engine = Engine(Scenario.model_validate(doc), MemoryEventStore(), run_id="r", observer=live)
    live.engine = engine
    engine.run()
    assert not live.violations, live.violations
