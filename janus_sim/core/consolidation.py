"""Phase 2 of the sleep cycle: gated consolidation into Gaussian schemas (Algorithm 2).

For each transition recorded since the last night (oldest first), in the schemas' space
(the scaled ``neocortex.features`` of its state, ``scaler.py``):

* recall gate (eq. 17): g = sigmoid(W_r r_hat + b_r) on the hippocampal sparse code,
  refitted each night so that experience like the earlier days' passes and novel
  experience is held back (``gates.recall_gate``: what W_r and b_r are);
* logic gate (eq. 18): SatAgg of the rules over the episode containing the transition
  (``gates.episode_logic_gate``; a 30-bar window by default);
* update only if g_recall > tau_recall and g_logic > tau_logic (eq. 20); then the
  maximum-likelihood schema absorbs the state (eq. 16, 21-22), or a new schema is created
  when the best log-density is below tau_schema (``neocortex.default_log_tau``).

Only the day's new transitions are consolidated: the buffer still holds earlier days,
which were consolidated on their own night. After consolidation, schemas with fewer than
``min_points`` points or older than ``max_age_days`` are pruned (eq. 34) — except those
created tonight, which get one night to gather points before the count can prune them.
The gated policy update (eq. 19): the transitions that pass both gates also take one
policy step of ``eta_sleep`` on their TD + logic loss, each weighted by its gate product
g_recall * g_logic (``agent.policy_step`` with those as the per-transition weights; the
gradient is averaged over them and clipped like phase 1's). Phase 1 replays everything by
priority; this step is the consolidation's own, smaller, familiarity-weighted nudge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from janus_sim.core import detmath as dm
from janus_sim.core import events as ev
from janus_sim.core.agent import buffer_step
from janus_sim.core.gates import episode_ids, episode_logic_gate, recall_gate
from janus_sim.core.hippocampus import sparse_code
from janus_sim.core.neocortex import (
    SchemaIndex,
    consolidate,
    default_log_tau,
    prunable,
    schema_id,
)
from janus_sim.core.state import Recorder
from janus_sim.timefmt import NS_PER_DAY

if TYPE_CHECKING:
    from janus_sim.core.world import World


@dataclass(frozen=True, slots=True)
class ConsolidationStats:
    candidates: int
    recall_passed: int
    logic_gate: float
    consolidated: int
    created: int
    updated: int
    pruned: int


def _gated_policy_update(
    rec: Recorder,
    world: World,
    slots: np.ndarray,
    gates: np.ndarray,
    *,
    cycle: int,
    t_ns: int,
) -> None:
    """Eq. 19: one step of eta_sleep, each transition weighted by its gate product."""
    eta = world.scenario.neocortex.eta_sleep
    step = buffer_step(rec.state, slots, gates, world.constraints, world.scenario.agent, eta)
    rec.emit(
        ev.PolicyConsolidated(
            cycle=cycle,
            t_ns=t_ns,
            entity="policy",
            n_transitions=len(slots),
            eta=eta,
            mean_gate=float(np.mean(gates)),
            td_loss=step.td_loss,
            logic_loss=step.logic_loss,
            grad_norm=step.grad_norm,
            params=ev.as_matrix(step.params),
        )
    )


def consolidation_phase(
    rec: Recorder, world: World, day: int, *, cycle: int, t_ns: int
) -> ConsolidationStats:
    state = rec.state
    buf, _ = state.require_buffer()
    cfg = world.scenario.neocortex
    rho = world.scenario.hippocampus.sparsity
    day_start = max(buf.oldest_id, buf.next_id - state.day_transitions)
    waiting = np.array(
        [t for t in state.held_back if buf.oldest_id <= t < day_start], dtype=np.int64
    )
    today = np.arange(day_start, buf.next_id)
    ids = np.concatenate([waiting, today])
    slots = buf.slots_of(ids)
    cols = world.memory_cols
    states = np.ascontiguousarray(state.view(buf.states[slots])[:, cols])  # what schemas see
    codes = sparse_code(state.sep_weights, state.sep_bias, states, rho)
    earlier_ids = np.arange(buf.oldest_id, day_start)
    earlier = np.ascontiguousarray(state.view(buf.states[buf.slots_of(earlier_ids)])[:, cols])
    earlier_codes = sparse_code(state.sep_weights, state.sep_bias, earlier, rho)
    # A waiting transition is itself earlier experience: it is not its own recall.
    own = np.concatenate([waiting - buf.oldest_id, np.full(len(today), -1)]).astype(np.int64)
    g_recall, w_r, b_r = recall_gate(
        codes, earlier_codes, cfg.recall_sharpness, cfg.recall_quantile, skip=own
    )
    logic = world.scenario.logic
    # Episodes are judged on the day they happened: a waiting transition keeps its verdict
    # (it waits only because it passed the logic gate).
    tslots = slots[len(waiting) :]
    episodes = episode_ids(logic.episode, np.rint(buf.ctx[tslots, 3]), logic.episode_bars)
    g_today = episode_logic_gate(
        world.constraints,
        buf.ctx[tslots],
        buf.actions[tslots],
        episodes,
        logic.p_episode,
        logic.p_sat_agg,
    )
    g_logic = np.concatenate([np.ones(len(waiting)), g_today])
    recall_ok = g_recall > cfg.recall_threshold
    logic_ok = g_logic > cfg.logic_threshold
    chosen = np.flatnonzero(recall_ok & logic_ok)
    held = ids[logic_ok & ~recall_ok]
    mean_logic = float(np.mean(g_logic)) if len(g_logic) else 1.0
    rec.emit(
        ev.ConsolidationGated(
            cycle=cycle,
            t_ns=t_ns,
            entity="neocortex",
            candidates=len(ids),
            recall_passed=int(recall_ok.sum()),
            logic_gate=mean_logic,
            logic_passed=int(logic_ok.sum()),
            consolidated=len(chosen),
            recall_calibration=(w_r, b_r) if math.isfinite(b_r) else (),
            held_back=tuple(held.tolist()),
        )
    )

    if len(chosen) and cfg.eta_sleep > 0:
        _gated_policy_update(
            rec, world, slots[chosen], g_recall[chosen] * g_logic[chosen], cycle=cycle, t_ns=t_ns
        )

    log_tau = default_log_tau(states.shape[1], cfg.eps, cfg.tau_quantile)
    index = SchemaIndex(list(state.schemas.values()), states.shape[1])
    regimes = {k: dict(v) for k, v in state.schema_regimes.items()}
    # Per schema updated tonight: who joined, in order, and each one's squared distance
    # to the schema just before it joined (the distance ``assign_scored`` chose it by).
    joined: dict[str, list[int]] = {}
    distances: dict[str, list[float]] = {}
    before: dict[str, np.ndarray] = {}
    created = 0
    for i in chosen:
        s, slot = states[i], slots[i]
        reward = float(buf.rewards[slot])
        regime = state.regime_names[buf.regimes[slot]]
        k, maha_sq = index.assign_scored(s, log_tau)
        if k is None:
            sid = schema_id(cycle, created)
            created += 1
            rec.emit(
                ev.SchemaCreated(
                    cycle=cycle,
                    t_ns=t_ns,
                    entity=f"schema:{sid}",
                    schema_id=sid,
                    mean=tuple(s.tolist()),
                    reward=reward,
                    eps=cfg.eps,
                    regime=regime,
                    transition_id=int(ids[i]),
                )
            )
            index.put(len(index.schemas), state.schemas[sid])
            regimes[sid] = {regime: 1}
            continue
        target = index.schemas[k]
        before.setdefault(target.id, target.mean)
        index.put(k, consolidate(target, s, reward, t_ns, cfg.eta))
        joined.setdefault(target.id, []).append(int(ids[i]))
        distances.setdefault(target.id, []).append(maha_sq)
        regimes[target.id][regime] = regimes[target.id].get(regime, 0) + 1

    for sch in index.schemas:  # creation order: deterministic
        if sch.id not in joined:
            continue
        sid = sch.id
        rec.emit(
            ev.SchemaUpdated(
                cycle=cycle,
                t_ns=t_ns,
                entity=f"schema:{sid}",
                schema_id=sid,
                mean=tuple(sch.mean.tolist()),
                cov=ev.as_matrix(sch.cov),
                n_points=sch.n_points,
                avg_reward=sch.avg_reward,
                points_added=len(joined[sid]),
                mean_shift=dm.norm(sch.mean - before[sid]),
                regime_counts=tuple(sorted(regimes[sid].items())),
                joined=tuple(joined[sid]),
                joined_mahalanobis_sq=tuple(distances[sid]),
            )
        )

    pruned = 0
    max_age = round(cfg.max_age_days * NS_PER_DAY)
    for sid, sch in list(state.schemas.items()):
        if sch.created_ns == t_ns:  # born tonight: one night's grace
            continue
        if prunable(sch, t_ns, cfg.min_points, max_age):
            reason = "too few points" if sch.n_points < cfg.min_points else "too old"
            rec.emit(
                ev.SchemaPruned(
                    cycle=cycle,
                    t_ns=t_ns,
                    entity=f"schema:{sid}",
                    schema_id=sid,
                    reason=reason,
                    n_points=sch.n_points,
                    age_days=(t_ns - sch.created_ns) / NS_PER_DAY,
                )
            )
            pruned += 1
    return ConsolidationStats(
        candidates=len(ids),
        recall_passed=int(recall_ok.sum()),
        logic_gate=mean_logic,
        consolidated=len(chosen),
        created=created,
        updated=len(joined),
        pruned=pruned,
    )
