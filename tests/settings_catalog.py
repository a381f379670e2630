"""The catalogue of the settings-liveness test (``tests/unit/test_settings_live.py``):
a small scenario, one perturbation per numeric setting and the events each must change.

A field added to the models later needs an entry in ``PERTURB`` and one in ``EXPECTED``
(or in ``janus_sim.config.liveness.INERT``). Runs are compared event record by event
record, field by field (``changed``); the fields that merely report a setting (``ECHO``:
the scenario hash, the map's parameters, an anomaly's threshold...) never count.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from janus_sim.app.engine import Engine
from janus_sim.config import Scenario
from janus_sim.memory_store import MemoryEventStore
from tests.conftest import TINY

BASE: dict[str, Any] = {
    **copy.deepcopy(TINY),
    "name": "settings_live",
    "logic": {
        "constraints": [
            *TINY["logic"]["constraints"],
            {"name": "calm_down", "formula": "high_vol and deep_drawdown -> not adds_exposure"},
        ]
    },
    # Finer schemas than the default's: three are created, one is pruned, and two live
    # side by side (so the map's weight between schemas has pairs to weigh).
    "neocortex": {"eps": 0.3},
    # The map on, but tiny: a fitted projector and a monitor that flags, in well under 1 s.
    "projection": {
        "sample_size": 40,
        "n_neighbors": 5,
        "n_epochs": 20,
        "projector_max_iter": 20,
        "tau_anomaly": 0.3,
    },
}
"""Three days of 40 bars, a crash afternoon, the map on: every phase acts in it (schemas
created, updated and pruned, anomalies flagged, risk raised, operators alerted)."""

PERTURB: dict[str, Mapping[str, object]] = {
    "seed": {"seed": 8},
    "calendar.bars_per_day": {"calendar.bars_per_day": 30},
    "calendar.bar_seconds": {"calendar.bar_seconds": 120},
    "market.start_price": {"market.start_price": 50.0},
    "market.regimes.*.drift": {"market.regimes.crash.drift": 0.002},
    "market.regimes.*.vol": {"market.regimes.calm.vol": 0.002},
    "market.regimes.*.jump_rate": {"market.regimes.crash.jump_rate": 0.3},
    "market.regimes.*.jump_mean": {"market.regimes.crash.jump_mean": 0.01},
    "market.regimes.*.jump_std": {"market.regimes.crash.jump_std": 0.02},
    "market.regimes.*.volume_mean": {"market.regimes.calm.volume_mean": 3000.0},
    "market.regimes.*.volume_sigma": {"market.regimes.calm.volume_sigma": 1.0},
    "market.days.*.segments.*.fraction": {
        "market.days.0.segments.0.fraction": 0.2,
        "market.days.0.segments.1.fraction": 0.8,
    },
    "agent.epsilon": {"agent.epsilon": 0.5},
    "agent.gamma": {"agent.gamma": 0.5},
    "agent.learning_rate": {"agent.learning_rate": 0.5},
    "agent.grad_clip": {"agent.grad_clip": 0.01},
    "agent.logic_loss_weight": {"agent.logic_loss_weight": 10.0},
    "agent.policy_temperature": {"agent.policy_temperature": 0.1},
    "agent.position_limit": {"agent.position_limit": 1},
    "agent.max_position": {"agent.max_position": 3},
    "agent.cost_bps": {"agent.cost_bps": 50.0},
    "logic.predicates.crash_return_pct": {"logic.predicates.crash_return_pct": 0.2},
    "logic.predicates.high_vol_pct": {"logic.predicates.high_vol_pct": 0.05},
    "logic.predicates.deep_drawdown_pct": {"logic.predicates.deep_drawdown_pct": 0.5},
    "logic.predicates.sharpness": {"logic.predicates.sharpness": 1.0},
    "logic.constraints.*.weight": {"logic.constraints.0.weight": 5.0},
    "logic.p_forall": {"logic.p_forall": 6.0},
    "logic.p_exists": {"logic.p_exists": 6.0},
    "logic.p_sat_agg": {"logic.p_sat_agg": 6.0},
    "logic.episode_bars": {"logic.episode_bars": 5},
    "logic.p_episode": {"logic.p_episode": 1.0},
    "hippocampus.capacity": {"hippocampus.capacity": 100},
    "hippocampus.hidden_dim": {"hippocampus.hidden_dim": 16},
    "hippocampus.sparsity": {"hippocampus.sparsity": 0.15},
    "hippocampus.ortho_lambda": {"hippocampus.ortho_lambda": 1.0},
    "hippocampus.ortho_lr": {"hippocampus.ortho_lr": 0.5},
    "hippocampus.ortho_steps": {"hippocampus.ortho_steps": 5},
    "replay.n_replays": {"replay.n_replays": 10},
    "replay.batch_size": {"replay.batch_size": 4},
    "replay.alpha": {"replay.alpha": 0.1},
    "replay.beta_start": {"replay.beta_start": 0.9},
    "replay.beta_end": {"replay.beta_end": 0.5},
    "replay.lambda_logic": {"replay.lambda_logic": 20.0},
    "replay.lambda_reward": {"replay.lambda_reward": 5.0},
    "replay.priority_eps": {"replay.priority_eps": 0.5},
    "replay.compression": {"replay.compression": 2.0},
    "replay.target_sync": {"replay.target_sync": 3},
    "neocortex.eps": {"neocortex.eps": 2.0},
    "neocortex.eta": {"neocortex.eta": 0.5},
    "neocortex.tau_quantile": {"neocortex.tau_quantile": 0.5},
    "neocortex.recall_threshold": {"neocortex.recall_threshold": 0.9},
    "neocortex.logic_threshold": {"neocortex.logic_threshold": 0.3},
    "neocortex.recall_sharpness": {"neocortex.recall_sharpness": 0.5},
    "neocortex.recall_quantile": {"neocortex.recall_quantile": 0.9},
    "neocortex.min_points": {"neocortex.min_points": 1},
    "neocortex.max_age_days": {"neocortex.max_age_days": 1.0},
    "neocortex.eta_sleep": {"neocortex.eta_sleep": 0.5},
    "projection.sample_size": {"projection.sample_size": 10},
    "projection.n_neighbors": {"projection.n_neighbors": 10},
    "projection.min_dist": {"projection.min_dist": 1.0},
    "projection.n_epochs": {"projection.n_epochs": 40},
    "projection.lambda_align": {"projection.lambda_align": 5.0},
    "projection.weight_same_schema": {"projection.weight_same_schema": 0.5},
    "projection.weight_other": {"projection.weight_other": 0.9},
    "projection.cluster_eps": {"projection.cluster_eps": 0.05},
    "projection.cluster_min_samples": {"projection.cluster_min_samples": 2},
    "projection.tau_cluster": {"projection.tau_cluster": 0.05},
    "projection.tau_anomaly": {"projection.tau_anomaly": 0.1},
    "projection.anomaly_persistence": {"projection.anomaly_persistence": 1},
    "projection.projector_max_iter": {"projection.projector_max_iter": 5},
    "projection.projector_umap_weight": {"projection.projector_umap_weight": 1.0},
    "responses.risk_span_bars": {"responses.risk_span_bars": 5},
    "responses.risk_position_limit": {"responses.risk_position_limit": 0},
    "responses.alert_anomalies": {"responses.alert_anomalies": 2},
    "responses.alert_window_bars": {"responses.alert_window_bars": 5},
    "vector_store.snapshots_keep": {"vector_store.snapshots_keep": 1},
}
"""Per field, the concrete paths set (a list index or mapping key in place of ``*``) and
their new values: valid for the validators and far enough from BASE to matter."""


def _e(*entries: str) -> frozenset[str]:
    return frozenset(entries)


EXPECTED: dict[str, frozenset[str]] = {
    # the market and the calendar: the bars, hence the transitions
    "seed": _e("day_opened.open_price", "transition_recorded.state", "replay_batch_sampled"),
    "calendar.bars_per_day": _e("day_opened.n_bars", "transition_recorded.#"),
    "calendar.bar_seconds": _e("transition_recorded.t_ns", "transition_recorded.dt_ns"),
    "market.start_price": _e("day_opened.open_price", "transition_recorded.price"),
    "market.regimes.*.drift": _e("transition_recorded.price", "transition_recorded.state"),
    "market.regimes.*.vol": _e("transition_recorded.price", "transition_recorded.state"),
    "market.regimes.*.jump_rate": _e("transition_recorded.price"),
    "market.regimes.*.jump_mean": _e("transition_recorded.price"),
    "market.regimes.*.jump_std": _e("transition_recorded.price"),
    "market.regimes.*.volume_mean": _e("transition_recorded.state"),
    "market.regimes.*.volume_sigma": _e("transition_recorded.state"),
    "market.days.*.segments.*.fraction": _e("transition_recorded.regime"),
    # the agent, awake and in its replay step
    "agent.epsilon": _e("transition_recorded.action"),
    "agent.gamma": _e("policy_updated", "priorities_updated"),
    "agent.learning_rate": _e("policy_updated"),
    "agent.grad_clip": _e("policy_updated"),
    "agent.logic_loss_weight": _e("policy_updated"),
    "agent.policy_temperature": _e("policy_updated"),
    "agent.position_limit": _e("transition_recorded.position_after"),
    "agent.cost_bps": _e("transition_recorded.reward"),
    # the logic: the rules' truth awake, the logic gate at night
    "logic.predicates.crash_return_pct": _e("transition_recorded.violation"),
    "logic.predicates.high_vol_pct": _e("transition_recorded.violation"),
    "logic.predicates.deep_drawdown_pct": _e("transition_recorded.violation"),
    "logic.predicates.sharpness": _e("transition_recorded.violation"),
    "logic.constraints.*.weight": _e("transition_recorded.violation"),
    "logic.p_forall": _e("day_closed.constraint_truth", "day_closed.sat_agg"),
    "logic.p_sat_agg": _e("day_closed.sat_agg", "consolidation_gated.logic_gate"),
    "logic.episode_bars": _e("consolidation_gated.logic_gate"),
    "logic.p_episode": _e("consolidation_gated.logic_gate"),
    # the hippocampus: the buffer and the sparse codes the recall gate compares
    "hippocampus.capacity": _e("transition_evicted.#"),
    "hippocampus.hidden_dim": _e("separation_trained", "consolidation_gated.recall_calibration"),
    "hippocampus.sparsity": _e("consolidation_gated.recall_calibration"),
    "hippocampus.ortho_lambda": _e("separation_trained"),
    "hippocampus.ortho_lr": _e("separation_trained"),
    "hippocampus.ortho_steps": _e("separation_trained"),
    # phase 1: prioritized replay
    "replay.n_replays": _e("replay_batch_sampled.#", "policy_updated.#"),
    "replay.batch_size": _e("replay_batch_sampled.transition_ids"),
    "replay.alpha": _e("priorities_computed", "replay_batch_sampled.weights"),
    "replay.beta_start": _e("replay_batch_sampled.beta", "replay_batch_sampled.weights"),
    "replay.beta_end": _e("replay_batch_sampled.beta", "replay_batch_sampled.weights"),
    "replay.lambda_logic": _e("priorities_computed", "priorities_updated"),
    "replay.lambda_reward": _e("priorities_computed", "priorities_updated"),
    "replay.priority_eps": _e("priorities_computed", "priorities_updated"),
    "replay.target_sync": _e("target_synced.#", "policy_updated"),
    # phase 2: the gates, the schemas, the gated policy update
    "neocortex.eps": _e("schema_created.#", "schema_updated.cov"),
    "neocortex.eta": _e("schema_updated.mean", "schema_updated.cov"),
    "neocortex.tau_quantile": _e("schema_created.#"),
    "neocortex.recall_threshold": _e("consolidation_gated.recall_passed"),
    "neocortex.logic_threshold": _e("consolidation_gated.logic_passed"),
    "neocortex.recall_sharpness": _e(
        "consolidation_gated.recall_calibration", "consolidation_gated.recall_passed"
    ),
    "neocortex.recall_quantile": _e(
        "consolidation_gated.recall_calibration", "consolidation_gated.recall_passed"
    ),
    "neocortex.min_points": _e("schema_pruned"),
    "neocortex.max_age_days": _e("schema_pruned"),
    "neocortex.eta_sleep": _e("policy_consolidated.params"),
    # phase 3: the map, its projector and clusters, the awake monitor
    "projection.sample_size": _e("projection_fitted.point_ids"),
    "projection.n_neighbors": _e("projection_fitted.coords"),
    "projection.min_dist": _e("projection_fitted.coords"),
    "projection.n_epochs": _e("projection_fitted.coords"),
    "projection.lambda_align": _e("projection_fitted.coords"),
    "projection.weight_same_schema": _e("projection_fitted.coords"),
    "projection.weight_other": _e("projection_fitted.coords"),
    "projection.cluster_eps": _e("projection_fitted.labels"),
    "projection.cluster_min_samples": _e("projection_fitted.labels"),
    "projection.tau_cluster": _e("projection_fitted.members"),
    "projection.tau_anomaly": _e("anomaly_flagged.#"),
    "projection.anomaly_persistence": _e("anomaly_flagged.#"),
    "projection.projector_max_iter": _e("projection_fitted.projector"),
    "projection.projector_umap_weight": _e("projection_fitted.projector"),
    # the responses to anomalies
    "responses.risk_span_bars": _e("risk_restored.n_bars"),
    "responses.risk_position_limit": _e("transition_recorded.position_after"),
    "responses.alert_anomalies": _e("operator_alerted.n_anomalies"),
    "responses.alert_window_bars": _e("operator_alerted.first_transition_id"),
    # phase 4: retention removes older nights' snapshots, which the event names
    "vector_store.snapshots_keep": _e("vector_store_synced.pruned"),
}
"""Per live field, the ``kind`` (any field of it), ``kind.field`` or ``kind.#`` (the
number of records) entries it must change: what it acts on first, not all it reaches."""

ECHO = frozenset(
    {
        "run_started.scenario_hash",
        "run_started.config",  # the resolved configuration itself (run metadata)
        "projection_fitted.params",
        "anomaly_flagged.threshold",
        "risk_raised.position_limit",
        "risk_raised.span_bars",
        "operator_alerted.window_bars",
        "policy_consolidated.eta",
    }
)
"""Event fields that report a setting's value: a change there alone is no effect."""


ISOLATING: Mapping[str, object] = {"replay.alpha": 0.0}
ISOLATED = frozenset({"replay.lambda_logic", "replay.lambda_reward", "replay.priority_eps"})
"""Fields checked on BASE with ``ISOLATING`` instead: at alpha = 0 the priorities steer
no sampling, so a change shows in the priority events alone, and the nightly priority
update cannot hide behind the initial priorities (a run that ignores the setting in the
update still changes ``priorities_computed``, and through it everything sampled)."""


def set_path(doc: dict[str, Any], path: str, value: object) -> None:
    *parents, leaf = path.split(".")
    node: Any = doc
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
    node[int(leaf) if isinstance(node, list) else leaf] = value


def get(doc: Mapping[str, Any], path: str) -> object:
    node: Any = doc
    for key in path.split("."):
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def scenario_doc(*settings: Mapping[str, object]) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    for sets in settings:
        for path, value in sets.items():
            set_path(doc, path, value)
    return doc


Records = dict[str, list[dict[str, Any]]]


def records(doc: Mapping[str, Any]) -> Records:
    """The run's events by kind, each a dict of its payload fields, ``t_ns`` and
    ``entity``; a night's metrics one entry per metric (``cycle_metrics.NAME``)."""
    store = MemoryEventStore()
    Engine(Scenario.model_validate(doc), store, run_id="r").run()
    batch = store.read("r")
    out: Records = {}
    for kind, t_ns, entity, payload in zip(
        batch.kind, batch.t_ns, batch.entity, batch.payload, strict=True
    ):
        fields = json.loads(payload)
        if kind == "cycle_metrics":
            fields.update((name, value) for name, value in fields.pop("metrics"))
        out.setdefault(kind, []).append({**fields, "t_ns": int(t_ns), "entity": entity})
    return out


def changed(
    base: Mapping[str, list[dict[str, Any]]], other: Mapping[str, list[dict[str, Any]]]
) -> frozenset[str]:
    """The ``kind.field`` entries that differ between two runs' records (``kind.#`` for
    a different number of records; records are paired in order), less ``ECHO``."""
    out: set[str] = set()
    for kind in set(base) | set(other):
        a, b = base.get(kind, []), other.get(kind, [])
        if len(a) != len(b):
            out.add(f"{kind}.#")
        for ra, rb in zip(a, b, strict=False):
            out.update(
                f"{kind}.{f}" for f in set(ra) | set(rb) if ra.get(f, None) != rb.get(f, None)
            )
    return frozenset(out - ECHO)


def missing(expected: frozenset[str], diff: frozenset[str]) -> list[str]:
    """The entries of ``expected`` that ``diff`` does not show (a bare kind is shown by
    any entry of that kind)."""
    return sorted(
        e for e in expected if e not in diff and not any(d.startswith(e + ".") for d in diff)
    )
