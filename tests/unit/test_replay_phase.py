"""Phase 1 on a buffer whose rewards are learnable: replay must cut the TD error."""

from __future__ import annotations

import numpy as np

from janus_sim.config import Agent, Predicates, Replay
from janus_sim.core import events as ev
from janus_sim.core.logic import ConstraintSet
from janus_sim.core.replay_phase import replay_phase
from janus_sim.core.state import Recorder, SimState
from tests.factories import run_started, transition


def _recorder(n: int, d: int, seed: int) -> Recorder:
    """A buffer of ``n`` terminal transitions whose rewards are linear in the state."""
    rng = np.random.default_rng(seed)
    rec = Recorder(SimState())
    rec.emit(run_started(max(n, 1), d))
    true_w = rng.normal(size=(3, d))
    for i in range(n):
        s = rng.normal(size=d)
        a = int(rng.integers(3))
        rec.emit(transition(i, i, s.tolist(), action=a, reward=float(true_w[a] @ s), done=True))
    rec.drain()
    return rec


def test_replay_learns_a_learnable_reward() -> None:
    rec = _recorder(500, 4, 0)
    stats = replay_phase(
        rec,
        ConstraintSet.compile([], Predicates(), 3),
        Agent(learning_rate=0.5, grad_clip=100.0),
        Replay(n_replays=300, batch_size=32, target_sync=25),
        np.random.default_rng(1),
        cycle=1,
        t_ns=500,
    )
    assert stats is not None
    assert stats.mean_abs_td_after < 0.2 * stats.mean_abs_td_before
    assert 0 < stats.min_is_weight <= stats.mean_is_weight <= 1.0
    # 300 batches of 32, each replayed 60 s compressed 15x -> 4 s
    assert stats.replay_seconds == 300 * 32 * 4.0


def test_replay_events_are_consistent() -> None:
    rec = _recorder(50, 3, 2)
    replay_phase(
        rec,
        ConstraintSet.compile([], Predicates(), 3),
        Agent(),
        Replay(n_replays=5, batch_size=7),
        np.random.default_rng(3),
        cycle=1,
        t_ns=50,
    )
    out = rec.drain()
    assert [e.KIND for e in out[:5]] == [
        "target_synced",
        "priorities_computed",
        "replay_batch_sampled",
        "policy_updated",
        "priorities_updated",
    ]
    batches = [e for e in out if isinstance(e, ev.ReplayBatchSampled)]
    updates = [e for e in out if isinstance(e, ev.PrioritiesUpdated)]
    assert [b.iteration for b in batches] == list(range(5))
    assert batches[0].beta == 0.4 and batches[-1].beta == 1.0
    for b, u in zip(batches, updates, strict=True):
        assert len(b.transition_ids) == 7 and b.transition_ids == u.transition_ids
        assert max(b.weights) == 1.0 and min(b.weights) > 0
        assert all(p > 0 for p in u.priorities)


def test_empty_buffer_replays_nothing() -> None:
    rec = _recorder(0, 1, 0)
    assert (
        replay_phase(
            rec,
            ConstraintSet.compile([], Predicates(), 3),
            Agent(),
            Replay(),
            np.random.default_rng(0),
            cycle=1,
            t_ns=0,
        )
        is None
    )
