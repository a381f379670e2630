"""Events for tests and benchmarks that drive the fold directly, without a scenario."""

from __future__ import annotations

from collections.abc import Sequence

from janus_sim.core import events as ev

MINUTE_NS = 60_000_000_000


def run_started(capacity: int, state_dim: int, alpha: float = 0.6) -> ev.RunStarted:
    """A run start with zero policy and separation weights over ``state_dim`` features."""
    return ev.RunStarted(
        cycle=0,
        t_ns=0,
        entity="run",
        scenario_name="test",
        scenario_hash="",
        seed=0,
        feature_names=tuple(f"f{i}" for i in range(state_dim)),
        constraint_names=(),
        capacity=capacity,
        alpha=alpha,
        policy_params=((0.0,) * (state_dim + 1),) * 3,
        sep_weights=((0.0,) * state_dim,),
        sep_bias=(0.0,),
    )


def transition(
    tid: int,
    t_ns: int,
    state: Sequence[float],
    *,
    action: int = 1,
    reward: float = 0.0,
    next_state: Sequence[float] | None = None,
    done: bool = False,
    ctx: Sequence[float] = (0.0, 0.0, 0.0, 0.0),
    violation: float = 0.0,
) -> ev.TransitionRecorded:
    return ev.TransitionRecorded(
        cycle=1,
        t_ns=t_ns,
        entity=f"transition:{tid}",
        transition_id=tid,
        dt_ns=MINUTE_NS,
        state=tuple(state),
        action=action,
        reward=reward,
        next_state=tuple(state if next_state is None else next_state),
        done=done,
        price=100.0,
        regime="calm",
        ctx=tuple(ctx),
        violation=violation,
        position_after=0,
    )


def anomaly(tid: int, t_ns: int, cycle: int = 1) -> ev.AnomalyFlagged:
    """An ``anomaly_flagged`` of transition ``tid`` (the distance and place do not matter)."""
    return ev.AnomalyFlagged(
        cycle=cycle,
        t_ns=t_ns,
        entity=f"transition:{tid}",
        transition_id=tid,
        coords=(0.0, 0.0, 0.0),
        distance=3.0,
        threshold=2.0,
        nearest_cluster=0,
    )
