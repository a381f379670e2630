"""The nightly sleep cycle (Algorithm 2): the seam where the five phases plug in.

Phase 1 (prioritized SWR replay, ``replay_phase.py``; the day's anomalies first), the
hippocampus's orthogonality training (eq. 4), phase 2 (gated consolidation into schemas
and the gated policy update, ``consolidation.py``), phase 3 (the aligned map, projector,
clusters: ``map_phase.py``, when the scenario enables it), phase 4's record of the schema
collection and its snapshot (``vector_store_synced``, computed from the state by
``vector_snapshot.py``; the engine writes the collection and the snapshot file outside
the core) and phase 5's metrics. The engine closes each night with a whole-state
checkpoint (``checkpoint.py``).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

import numpy as np

from janus_sim.core import events as ev
from janus_sim.core import scaler, vector_snapshot
from janus_sim.core.consolidation import ConsolidationStats, consolidation_phase
from janus_sim.core.hippocampus import ortho_loss, train_orthogonality
from janus_sim.core.map_phase import ProjectionModel, ProjectionStats, projection_phase
from janus_sim.core.neocortex import Schema
from janus_sim.core.regime_ari import schema_regime_ari
from janus_sim.core.replay_phase import Progress, ReplayStats, replay_phase
from janus_sim.core.state import Recorder

if TYPE_CHECKING:
    from janus_sim.core.world import World


def sleep_cycle(
    world: World,
    day: int,
    rec: Recorder,
    rng: np.random.Generator,
    progress: Progress | None = None,
    projection: ProjectionModel | None = None,
) -> dict[str, float]:
    """Run the night after trading day ``day``; returns the cycle's metrics.

    ``projection`` is the run's phase 3 model (``ProjectionModel``), the same object every
    night; required when the scenario enables projection, ignored otherwise.
    """
    sc = world.scenario
    cycle = day + 1
    if sc.projection.enabled and projection is None:
        raise ValueError("projection is enabled: pass the run's ProjectionModel")
    # Phase 1 consumes the day's anomalies (they get the top priority): count them first.
    anomalies = len(rec.state.anomalies)
    # Phase 4 syncs from the collection as last night left it: the schemas as the day
    # leaves them (no awake event touches a schema), so a resume from a checkpoint agrees.
    synced = dict(rec.state.schemas)
    # The night happens after the day's last bar; sleep events share that instant and are
    # ordered by sequence number.
    t_ns = int(world.bars.t_ns[world.bars.day_slice(day)][-1])
    if rec.state.scaler is None:
        fit_scaler(rec, world, cycle=cycle, t_ns=t_ns)
    stats = replay_phase(
        rec, world.constraints, sc.agent, sc.replay, rng, cycle=cycle, t_ns=t_ns, progress=progress
    )

    hc = sc.hippocampus
    state = rec.state
    before = ortho_loss(state.sep_weights, hc.ortho_lambda)
    weights = train_orthogonality(state.sep_weights, hc.ortho_lambda, hc.ortho_lr, hc.ortho_steps)
    rec.emit(
        ev.SeparationTrained(
            cycle=cycle,
            t_ns=t_ns,
            entity="hippocampus",
            ortho_loss_before=before,
            ortho_loss_after=ortho_loss(weights, hc.ortho_lambda),
            weights=ev.as_matrix(weights),
            bias=tuple(state.sep_bias.tolist()),
        )
    )

    schemas = consolidation_phase(rec, world, day, cycle=cycle, t_ns=t_ns)
    mapped = None
    if sc.projection.enabled and projection is not None:
        mapped = projection_phase(
            rec, projection, cycle=cycle, t_ns=t_ns, memory_cols=world.memory_cols
        )

    vector_store_phase(rec, synced, cycle=cycle, t_ns=t_ns, keep=sc.vector_store.snapshots_keep)
    metrics = cycle_metrics(rec, world, day, stats, schemas)
    if mapped is not None:
        metrics.update(projection_metrics(mapped, anomalies))
        metrics["risk_spans"] = float(rec.state.day_risk_spans)
        metrics["operator_alerts"] = float(rec.state.day_alerts)
    ari = schema_regime_ari(rec.state, world.memory_cols)
    if ari is not None:
        metrics["ari_regime"] = ari
    rec.emit(
        ev.CycleMetrics(
            cycle=cycle,
            t_ns=t_ns,
            entity="metrics",
            date=world.date(day),
            metrics=tuple(metrics.items()),
        )
    )
    return metrics


def vector_store_phase(
    rec: Recorder, synced: dict[str, Schema], *, cycle: int, t_ns: int, keep: int
) -> None:
    """Phase 4: record the collection as of tonight (``vector_store_synced``): the
    snapshot's name and checksum, its size, what the sync upserts and deletes (from
    ``synced``, the schemas it held after last night), and what retention removes."""
    live = rec.state.schemas
    upserted, deleted = vector_snapshot.changes(synced, live)
    rec.emit(
        ev.VectorStoreSynced(
            cycle=cycle,
            t_ns=t_ns,
            entity="vector_store",
            snapshot=vector_snapshot.snapshot_name(cycle),
            checksum=vector_snapshot.snapshot_checksum(live.values()),
            n_points=len(live),
            upserted=upserted,
            deleted=deleted,
            pruned=vector_snapshot.pruned_by(cycle, keep),
        )
    )


def fit_scaler(rec: Recorder, world: World, *, cycle: int, t_ns: int) -> None:
    """The first night: fit the feature scaler on the buffer (the first day's raw states)
    and freeze it (``scaler.py``)."""
    buf, _ = rec.state.require_buffer()
    names = world.scenario.agent.features
    fitted = scaler.fit(buf.states[buf.chronological_slots()], names)
    rec.emit(
        ev.ScalerFitted(
            cycle=cycle,
            t_ns=t_ns,
            entity="scaler",
            feature_names=names,
            mean=tuple(fitted.mean.tolist()),
            scale=tuple(fitted.scale.tolist()),
            n_bars=buf.size,
        )
    )


def cycle_metrics(
    rec: Recorder,
    world: World,
    day: int,
    stats: ReplayStats | None,
    schemas: ConsolidationStats,
) -> dict[str, float]:
    """Phase 5: the night's figures, in a fixed order."""
    state = rec.state
    buf, _ = state.require_buffer()
    closed = state.day_closed[world.date(day)]
    out: dict[str, float] = {
        "transitions": float(closed.n_transitions),
        "buffer_size": float(buf.size),
        "day_pnl": closed.pnl,
        "sat_agg": closed.sat_agg,
    }
    for name, truth in zip(state.constraint_names, closed.constraint_truth, strict=True):
        out[f"sat:{name}"] = truth
    if stats is not None:
        replay = asdict(stats)
        replay.pop("n_transitions")
        before, after = stats.mean_abs_td_before, stats.mean_abs_td_after
        replay["td_improvement"] = (before - after) / before if before > 0 else 0.0
        out.update({k: float(v) for k, v in replay.items()})
    out["ortho_loss"] = ortho_loss(state.sep_weights, world.scenario.hippocampus.ortho_lambda)
    sizes = [s.n_points for s in state.schemas.values()]
    out.update(
        {
            "n_schemas": float(len(sizes)),
            "mean_schema_size": float(np.mean(sizes)) if sizes else 0.0,
            "schemas_created": float(schemas.created),
            "schemas_updated": float(schemas.updated),
            "schemas_pruned": float(schemas.pruned),
            "recall_pass_rate": schemas.recall_passed / schemas.candidates
            if schemas.candidates
            else 0.0,
            "logic_gate": schemas.logic_gate,
            "consolidated": float(schemas.consolidated),
        }
    )
    return out


def projection_metrics(stats: ProjectionStats, anomalies: int) -> dict[str, float]:
    """Phase 3's figures: clusters, the day's anomalies, the projector's error (normalized
    units), the clusters' stability against last night and the trustworthiness of the map
    and of the projector (each when defined)."""
    out = {
        "n_clusters": float(stats.n_clusters),
        "anomalies": float(anomalies),
        "projector_rmse": stats.projector_rmse,
    }
    for name, value in (
        ("cluster_stability", stats.stability),
        ("map_trust", stats.map_trust),
        ("projector_trust", stats.projector_trust),
    ):
        if value is not None:
            out[name] = value
    return out
