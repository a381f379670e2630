"""Phase 1 behaviour the older tests left open (found by mutation testing, QUALITY.md):
every figure of ``ReplayStats`` is what the night's events say, each policy step is the
one eq. 11 prescribes (importance weights, the decaying step size, the target in force),
and the target is synced every ``target_sync`` steps."""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import pytest

from janus_sim.config import Agent, Constraint, Predicates, Replay
from janus_sim.core import events as ev
from janus_sim.core.agent import ACTION_DELTA, allowed_actions, buffer_step, td_errors
from janus_sim.core.logic import ConstraintSet
from janus_sim.core.priorities import compute_priorities
from janus_sim.core.replay_phase import ReplayStats, replay_phase
from janus_sim.core.state import Recorder, SimState, apply
from tests.factories import run_started, transition

RULES = ConstraintSet.compile(
    [
        Constraint(name="c1", formula="crash -> not adds_exposure", weight=1.5),
        Constraint(name="c2", formula="not exceeds_limit"),
    ],
    Predicates(),
    3,
)
AGENT = Agent(learning_rate=0.3, grad_clip=50.0)
REPLAY = Replay(n_replays=7, batch_size=5, target_sync=3, compression=10.0)
N = 40


def _start() -> SimState:
    """A buffer of ``N`` non-terminal transitions with rewards, positions and violations."""
    rng = np.random.default_rng(11)
    state = SimState()
    apply(run_started(64, 3), state)
    for i in range(N):
        s = rng.normal(size=3)
        ctx = (float(rng.normal(scale=2.0)), 1.0, 0.5, float(rng.integers(-3, 4)))
        apply(
            transition(
                i,
                i,
                s.tolist(),
                action=int(rng.integers(3)),
                reward=float(rng.normal()),
                next_state=rng.normal(size=3).tolist(),
                ctx=ctx,
                violation=float(rng.uniform(0.0, 1.0)) if i % 3 == 0 else 0.0,
            ),
            state,
        )
    return state


@pytest.fixture(scope="module")
def night() -> tuple[list[ev.Event], ReplayStats, list[tuple[int, int]]]:
    rec = Recorder(_start())
    calls: list[tuple[int, int]] = []
    stats = replay_phase(
        rec,
        RULES,
        AGENT,
        REPLAY,
        np.random.default_rng(5),
        cycle=1,
        t_ns=N,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert stats is not None
    return rec.drain(), stats, calls


E = TypeVar("E", bound=ev.Event)


def _of(events: list[ev.Event], kind: type[E]) -> list[E]:
    return [e for e in events if isinstance(e, kind)]


def test_the_stats_are_what_the_events_say(
    night: tuple[list[ev.Event], ReplayStats, list[tuple[int, int]]],
) -> None:
    events, stats, _ = night
    (computed,) = _of(events, ev.PrioritiesComputed)
    batches = _of(events, ev.ReplayBatchSampled)
    steps = _of(events, ev.PolicyUpdated)
    live = dict(zip(computed.transition_ids, computed.priorities, strict=True))
    for u in _of(events, ev.PrioritiesUpdated):
        live.update(zip(u.transition_ids, u.priorities, strict=True))
    weights = [w for b in batches for w in b.weights]
    assert stats.n_transitions == N
    assert stats.mean_abs_td_before == float(np.mean(np.abs(computed.td_errors)))
    assert stats.mean_priority == float(np.mean(list(live.values())))
    assert stats.max_priority == max(live.values())
    assert stats.mean_is_weight == pytest.approx(sum(weights) / len(weights), rel=1e-12)
    assert stats.min_is_weight == min(weights) < 1.0
    seen = {t for b in batches for t in b.transition_ids}
    assert stats.unique_fraction == len(seen) / N
    assert (stats.td_loss_first, stats.td_loss_last) == (steps[0].td_loss, steps[-1].td_loss)
    assert stats.logic_loss_mean == pytest.approx(np.mean([s.logic_loss for s in steps]))
    assert stats.logic_loss_mean > 0.0
    dts = [d for b in batches for d in b.replay_dt_s]
    assert dts == [60.0 / REPLAY.compression] * len(dts)  # a minute's bar, compressed
    assert stats.replay_seconds == pytest.approx(sum(dts), rel=1e-12)


def test_progress_is_reported_after_every_step(
    night: tuple[list[ev.Event], ReplayStats, list[tuple[int, int]]],
) -> None:
    _, _, calls = night
    assert calls == [(k + 1, REPLAY.n_replays) for k in range(REPLAY.n_replays)]


def test_the_target_is_synced_at_the_start_and_every_target_sync_steps(
    night: tuple[list[ev.Event], ReplayStats, list[tuple[int, int]]],
) -> None:
    events, _, _ = night
    syncs = _of(events, ev.TargetSynced)
    assert [s.iteration for s in syncs] == [0, 3, 6]
    assert all(s.entity == "policy" for s in syncs)
    # Each sync copies the online parameters in force: those of the step before.
    steps = {s.iteration: s.params for s in _of(events, ev.PolicyUpdated)}
    assert [syncs[1].params, syncs[2].params] == [steps[2], steps[5]]


def test_every_step_is_eq_11_with_the_decaying_step_size(
    night: tuple[list[ev.Event], ReplayStats, list[tuple[int, int]]],
) -> None:
    events, _, _ = night
    state = _start()
    batch: ev.ReplayBatchSampled | None = None
    for e in events:
        if isinstance(e, ev.ReplayBatchSampled):
            batch = e
            assert e.entity == "buffer" and e.beta == pytest.approx(
                REPLAY.beta_start + (REPLAY.beta_end - REPLAY.beta_start) * e.iteration / 6
            )
        if isinstance(e, ev.PolicyUpdated):
            assert batch is not None and e.entity == "policy"
            buf, _ = state.require_buffer()
            slots = buf.slots_of(np.array(batch.transition_ids))
            lr = AGENT.learning_rate * (1.0 - e.iteration / REPLAY.n_replays)
            step = buffer_step(state, slots, np.array(batch.weights), RULES, AGENT, lr)
            assert np.array_equal(np.array(e.params), step.params)
            assert (e.td_loss, e.logic_loss, e.grad_norm) == (
                step.td_loss,
                step.logic_loss,
                step.grad_norm,
            )
            expected = compute_priorities(
                step.td,
                buf.violations[slots],
                buf.rewards[slots],
                REPLAY.lambda_logic,
                REPLAY.lambda_reward,
                REPLAY.priority_eps,
            )
        if isinstance(e, ev.PrioritiesUpdated):
            assert e.entity == "buffer" and e.priorities == tuple(expected.tolist())
        apply(e, state)


def _buffer_td(state: SimState, target: np.ndarray) -> np.ndarray:
    """DQN's TD error of the whole buffer against ``target``, the bootstrap's max over the
    actions that keep the position after the transition within the limit."""
    buf, _ = state.require_buffer()
    slots = buf.chronological_slots()
    after = np.rint(buf.ctx[slots, 3]).astype(np.int64) + ACTION_DELTA[buf.actions[slots]]
    return td_errors(
        state.params,
        state.view(buf.states[slots]),
        buf.actions[slots],
        buf.rewards[slots],
        state.view(buf.next_states[slots]),
        buf.dones[slots],
        AGENT.gamma,
        target=target,
        next_mask=allowed_actions(after, AGENT.position_limit),
    )


def test_td_before_and_after_are_against_the_target_in_force(
    night: tuple[list[ev.Event], ReplayStats, list[tuple[int, int]]],
) -> None:
    events, stats, _ = night
    start = _start()
    (computed,) = _of(events, ev.PrioritiesComputed)
    assert computed.entity == "buffer"
    assert computed.td_errors == tuple(_buffer_td(start, start.params).tolist())
    end = _start()
    for e in events:
        apply(e, end)
    last_target = np.array(_of(events, ev.TargetSynced)[-1].params)
    after = _buffer_td(end, last_target)
    assert stats.mean_abs_td_after == float(np.mean(np.abs(after)))
    assert all(s.cycle == 1 for s in _of(events, ev.TargetSynced))
    n = REPLAY.n_replays
    assert [u.iteration for u in _of(events, ev.PrioritiesUpdated)] == list(range(n))
    assert [u.iteration for u in _of(events, ev.PolicyUpdated)] == list(range(n))


def test_anomalies_still_in_the_buffer_get_the_highest_priority() -> None:
    state = _start()
    state.anomalies = [3, 17, 1000]  # 1000 is not in the buffer
    rec = Recorder(state)
    replay_phase(
        rec,
        RULES,
        AGENT,
        Replay(n_replays=1, batch_size=2),
        np.random.default_rng(0),
        cycle=1,
        t_ns=N,
    )
    (computed,) = _of(rec.drain(), ev.PrioritiesComputed)
    p = dict(zip(computed.transition_ids, computed.priorities, strict=True))
    plain = compute_priorities(
        np.array(computed.td_errors),
        state.require_buffer()[0].violations[:N],
        state.require_buffer()[0].rewards[:N],
        2.0,
        0.5,
        1e-6,
    )
    top = float(plain.max())
    assert p[3] == p[17] == top
    others = [i for i in range(N) if i not in (3, 17)]
    assert [p[i] for i in others] == [float(plain[i]) for i in others]
