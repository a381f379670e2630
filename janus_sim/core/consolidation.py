"""Phase 2 of the sleep cycle: gated consolidation into Gaussian schemas (Algorithm 2).

For each transition recorded since the last night (oldest first):

* recall gate (eq. 17): g = sigmoid(W_r r_hat + b_r) on the unit-normalized hippocampal
  sparse code r_hat. W_r and b_r are learned each night in closed form, Hebbian-style:
  W_r = k * p, where p is the unit mean of the normalized codes of everything in the
  episodic buffer (what the hippocampus has seen), and b_r = -k * theta. So
  g = sigmoid(k (cos(r, p) - theta)): codes like the buffer's typical pattern (familiar)
  pass, atypical ones (novel) do not. k = ``recall_sharpness``, theta = ``recall_similarity``;
* logic gate (eq. 18): the day's SatAgg over the constraints;
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

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from janus_sim.core import detmath as dm
from janus_sim.core import events as ev
from janus_sim.core.hippocampus import sparse_code
from janus_sim.core.neocortex import (
    NS_PER_DAY,
    SchemaIndex,
    consolidate,
    default_log_tau,
    prunable,
    schema_id,
)
from janus_sim.core.state import Recorder
from janus_sim.core.swr import buffer_step

if TYPE_CHECKING:
    from janus_sim.core.awake import World


@dataclass(frozen=True, slots=True)
class ConsolidationStats:
    candidates: int
    recall_passed: int
    logic_gate: float
    consolidated: int
    created: int
    updated: int
    pruned: int


def _unit_rows(x: np.ndarray) -> np.ndarray:
    norms = dm.row_norms(x)[:, None]
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


def recall_gate(
    codes: np.ndarray, buffer_codes: np.ndarray, sharpness: float, theta: float
) -> tuple[np.ndarray, np.ndarray]:
    """(g_recall per code, the learned prototype p) — see the module docstring."""
    mean = _unit_rows(buffer_codes).mean(axis=0) if len(buffer_codes) else np.zeros(codes.shape[1])
    norm = dm.norm(mean)
    proto = mean / norm if norm > 0 else mean
    cos = dm.matmul(_unit_rows(codes), proto)
    return 1.0 / (1.0 + dm.exp(-sharpness * (cos - theta))), proto


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
    ids = np.arange(max(buf.oldest_id, buf.next_id - state.day_transitions), buf.next_id)
    slots = buf.slots_of(ids)
    states = buf.states[slots]
    codes = sparse_code(state.sep_weights, state.sep_bias, states, rho)
    all_codes = sparse_code(
        state.sep_weights, state.sep_bias, buf.states[buf.chronological_slots()], rho
    )
    g_recall, proto = recall_gate(codes, all_codes, cfg.recall_sharpness, cfg.recall_similarity)
    g_logic = state.day_closed[world.date(day)].sat_agg
    recall_ok = g_recall > cfg.recall_threshold
    logic_ok = g_logic > cfg.logic_threshold
    chosen = np.flatnonzero(recall_ok) if logic_ok else np.zeros(0, dtype=np.int64)
    rec.emit(
        ev.ConsolidationGated(
            cycle=cycle,
            t_ns=t_ns,
            entity="neocortex",
            candidates=len(ids),
            recall_passed=int(recall_ok.sum()),
            logic_gate=float(g_logic),
            logic_passed=bool(logic_ok),
            consolidated=len(chosen),
            prototype=tuple(proto.tolist()),
        )
    )

    if len(chosen) and cfg.eta_sleep > 0:
        _gated_policy_update(
            rec, world, slots[chosen], g_recall[chosen] * g_logic, cycle=cycle, t_ns=t_ns
        )

    log_tau = default_log_tau(states.shape[1], cfg.eps, cfg.tau_quantile)
    index = SchemaIndex(list(state.schemas.values()), states.shape[1])
    regimes = {k: dict(v) for k, v in state.schema_regimes.items()}
    added: dict[str, int] = {}
    before: dict[str, np.ndarray] = {}
    created = 0
    for i in chosen:
        s, slot = states[i], slots[i]
        reward = float(buf.rewards[slot])
        regime = state.regime_names[buf.regimes[slot]]
        k = index.assign(s, log_tau)
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
        added[target.id] = added.get(target.id, 0) + 1
        regimes[target.id][regime] = regimes[target.id].get(regime, 0) + 1

    for sch in index.schemas:  # creation order: deterministic
        if sch.id not in added:
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
                points_added=added[sid],
                mean_shift=dm.norm(sch.mean - before[sid]),
                regime_counts=tuple(sorted(regimes[sid].items())),
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
        logic_gate=float(g_logic),
        consolidated=len(chosen),
        created=created,
        updated=len(added),
        pruned=pruned,
    )
