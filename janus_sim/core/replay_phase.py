"""Phase 1 of the sleep cycle: sharp-wave-ripple prioritized replay (Algorithm 1/2).

0. The target network: the bootstrap of every TD error tonight reads ``target_params``,
   set to the online parameters at the start of the night (``target_synced``) and, with
   ``replay.target_sync = K > 0``, again every K steps. A regression onto a target that
   moves with every step chases itself (the buffer's TD error rose on most nights); held
   fixed, each night is one fitted-Q regression, and its TD error can fall.
1. TD errors of the whole buffer, priorities p = |delta| + lambda_logic v + lambda_reward |r|
   + eps (eq. 7); transitions flagged as anomalies during the day (eq. 32) and still in
   the buffer get the buffer's highest priority instead -> ``priorities_computed`` (whose
   fold consumes the flags);
2. ``n_replays`` times: a stratified batch drawn with P(i) ~ p^alpha (eq. 8), IS weights with
   beta annealed from beta_start to beta_end (eq. 9-10), replay time compressed by C
   (eq. 12) -> ``replay_batch_sampled``; an importance-weighted policy step on TD + logic
   loss (eq. 11) -> ``policy_updated``; the batch's priorities from its TD errors ->
   ``priorities_updated``.

``mean_abs_td_before`` and ``mean_abs_td_after`` are the buffer's mean |TD| against the
target in force (DQN's TD error): before, online = target = the night's start; after,
the trained online network against the target it was trained towards. Actions that would
break the position limit are masked out of the bootstrap's max (``agent.allowed_actions``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from janus_sim.core import events as ev
from janus_sim.core.agent import (
    ACTION_DELTA,
    allowed_actions,
    buffer_step,
    buffer_transitions,
    td_errors,
)
from janus_sim.core.priorities import beta_at, compute_priorities, draw_batch
from janus_sim.core.state import Recorder, SimState

if TYPE_CHECKING:
    from janus_sim.config import Agent, Replay
    from janus_sim.core.logic import ConstraintSet

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class ReplayStats:
    n_transitions: int
    mean_abs_td_before: float
    mean_abs_td_after: float
    mean_priority: float
    max_priority: float
    mean_is_weight: float
    min_is_weight: float
    unique_fraction: float
    """Distinct transitions replayed / buffer size."""
    td_loss_first: float
    td_loss_last: float
    logic_loss_mean: float
    replay_seconds: float
    """Simulated replay time of all batches, compressed by C."""


def _next_mask(state: SimState, slots: np.ndarray, limit: int) -> np.ndarray:
    buf, _ = state.require_buffer()
    pos = np.rint(buf.ctx[slots, 3]).astype(np.int64)
    return allowed_actions(pos + ACTION_DELTA[buf.actions[slots]], limit)


def buffer_td(state: SimState, agent: Agent) -> tuple[np.ndarray, np.ndarray]:
    """(chronological slots, TD errors) of everything in the buffer, against the target
    network in force (the online parameters when none is)."""
    buf, _ = state.require_buffer()
    slots = buf.chronological_slots()
    td = td_errors(
        state.params,
        *buffer_transitions(state, slots),
        agent.gamma,
        target=state.target_params,
        next_mask=_next_mask(state, slots, agent.position_limit),
    )
    return slots, td


def sync_target(rec: Recorder, *, cycle: int, t_ns: int, iteration: int) -> None:
    """Set the target network to the online parameters (``target_synced``)."""
    rec.emit(
        ev.TargetSynced(
            cycle=cycle,
            t_ns=t_ns,
            entity="policy",
            iteration=iteration,
            params=ev.as_matrix(rec.state.params),
        )
    )


def _raise_anomalies(p: np.ndarray, ids: np.ndarray, flagged: list[int]) -> None:
    """Set the flagged transitions still in the buffer (``ids``, ascending) to max(p)."""
    if not flagged or not len(p):
        return
    f = np.asarray(flagged, dtype=np.int64)
    f = f[(f >= ids[0]) & (f <= ids[-1])]
    pos = np.searchsorted(ids, f)
    p[pos[ids[pos] == f]] = p.max()


def replay_phase(
    rec: Recorder,
    constraints: ConstraintSet,
    agent: Agent,
    cfg: Replay,
    rng: np.random.Generator,
    *,
    cycle: int,
    t_ns: int,
    progress: Progress | None = None,
) -> ReplayStats | None:
    """Run phase 1 on the buffer; ``None`` when the buffer is empty (nothing to replay)."""
    state = rec.state
    buf, tree = state.require_buffer()
    if buf.size == 0:
        return None
    sync_target(rec, cycle=cycle, t_ns=t_ns, iteration=0)
    slots, td = buffer_td(state, agent)
    p = compute_priorities(
        td,
        buf.violations[slots],
        buf.rewards[slots],
        cfg.lambda_logic,
        cfg.lambda_reward,
        cfg.priority_eps,
    )
    _raise_anomalies(p, buf.ids[slots], state.anomalies)
    rec.emit(
        ev.PrioritiesComputed(
            cycle=cycle,
            t_ns=t_ns,
            entity="buffer",
            transition_ids=tuple(buf.ids[slots].tolist()),
            td_errors=tuple(td.tolist()),
            priorities=tuple(p.tolist()),
        )
    )
    n = buf.size
    table = constraints.table(buf.ctx)  # the buffer holds still through the phase
    seen = np.zeros(buf.capacity, dtype=bool)
    weight_sum = 0.0
    weight_min = 1.0
    td_losses: list[float] = []
    logic_losses: list[float] = []
    replay_seconds = 0.0
    for k in range(cfg.n_replays):
        if cfg.target_sync and k and k % cfg.target_sync == 0:
            sync_target(rec, cycle=cycle, t_ns=t_ns, iteration=k)
        beta = beta_at(k, cfg.n_replays, cfg.beta_start, cfg.beta_end)
        batch = draw_batch(tree, n, cfg.batch_size, beta, rng)
        idx = batch.indices
        ids = buf.ids[idx]
        dt_s = buf.dt_ns[idx] / 1e9 / cfg.compression
        rec.emit(
            ev.ReplayBatchSampled(
                cycle=cycle,
                t_ns=t_ns,
                entity="buffer",
                iteration=k,
                beta=float(beta),
                transition_ids=tuple(ids.tolist()),
                weights=tuple(batch.weights.tolist()),
                replay_dt_s=tuple(dt_s.tolist()),
            )
        )
        # The step decays linearly over the night: SGD's last steps then settle near the
        # night's regression optimum instead of jittering around it (which, at a constant
        # rate, left the buffer's TD error a hair above where it started on quiet nights).
        lr = agent.learning_rate * (1.0 - k / cfg.n_replays)
        step = buffer_step(state, idx, batch.weights, constraints, agent, lr, table)
        rec.emit(
            ev.PolicyUpdated(
                cycle=cycle,
                t_ns=t_ns,
                entity="policy",
                iteration=k,
                td_loss=step.td_loss,
                logic_loss=step.logic_loss,
                grad_norm=step.grad_norm,
                params=ev.as_matrix(step.params),
            )
        )
        new_p = compute_priorities(
            step.td,
            buf.violations[idx],
            buf.rewards[idx],
            cfg.lambda_logic,
            cfg.lambda_reward,
            cfg.priority_eps,
        )
        rec.emit(
            ev.PrioritiesUpdated(
                cycle=cycle,
                t_ns=t_ns,
                entity="buffer",
                iteration=k,
                transition_ids=tuple(ids.tolist()),
                priorities=tuple(new_p.tolist()),
            )
        )
        seen[idx] = True
        weight_sum += float(batch.weights.sum())
        weight_min = min(weight_min, float(batch.weights.min()))
        td_losses.append(step.td_loss)
        logic_losses.append(step.logic_loss)
        replay_seconds += float(dt_s.sum())
        if progress is not None:
            progress(k + 1, cfg.n_replays)

    _, td_after = buffer_td(state, agent)
    live = state.priorities[slots]
    return ReplayStats(
        n_transitions=n,
        mean_abs_td_before=float(np.mean(np.abs(td))),
        mean_abs_td_after=float(np.mean(np.abs(td_after))),
        mean_priority=float(np.mean(live)),
        max_priority=float(np.max(live)),
        mean_is_weight=weight_sum / (cfg.n_replays * cfg.batch_size),
        min_is_weight=weight_min,
        unique_fraction=float(seen.sum()) / n,
        td_loss_first=td_losses[0],
        td_loss_last=td_losses[-1],
        logic_loss_mean=float(np.mean(logic_losses)),
        replay_seconds=replay_seconds,
    )
