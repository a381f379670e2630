"""Runs with and without phase-3 events, for the report's tests.

``copy_without_projection`` copies a run's log into another store without what phase 3
writes (``projection_fitted``, ``anomaly_flagged`` and the phase-3 cycle metrics): a log
as janus-sim wrote it before phase 3, or with the projection disabled.

``copy_with_projection`` copies it with synthetic phase-3 events in place of any real
ones, following the contract in ``janus_sim.core.events``: a ``projection_fitted`` event
each night (just before its ``cycle_metrics``) embedding the live schema centroids and a
sample of the states recorded so far, an ``anomaly_flagged`` event right after each of
the first ``N_ANOMALIES`` transitions of the crash regime, and quality metrics in
``cycle_metrics``. The coordinates are a fixed linear map of the states plus an offset
per true regime, so the map has one cluster per regime. Known, deterministic content
whatever the real projection does.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from janus_sim.core import events as ev
from janus_sim.core.codec import decode, encode
from janus_sim.eventlog import EventBatch
from janus_sim.ports import EventStore

N_ANOMALIES = 3
SAMPLE = 120
PHASE3_KINDS = ("projection_fitted", "anomaly_flagged")
PHASE3_METRICS = ("n_clusters", "anomalies", "projector_rmse", "ari_regime", "anomaly_lead_bars")


def _without_phase3(store: EventStore, run_id: str) -> list[ev.Event]:
    out: list[ev.Event] = []
    for stored in store.read(run_id).records():
        if stored.record.kind in PHASE3_KINDS:
            continue
        e = decode(stored.record)
        if isinstance(e, ev.CycleMetrics):
            kept = tuple((k, v) for k, v in e.metrics if k not in PHASE3_METRICS)
            e = dataclasses.replace(e, metrics=kept)
        out.append(e)
    return out


def _write(
    source: EventStore, run_id: str, target: EventStore, rid: str, events: list[ev.Event]
) -> None:
    info = source.get_run(run_id)
    target.create_run(dataclasses.replace(info, run_id=rid, digest=None))
    target.append(EventBatch.from_records(rid, 0, [encode(x) for x in events]))
    target.finish_run(rid, info.status, None)


def copy_without_projection(
    source: EventStore, run_id: str, target: EventStore, target_run: str
) -> str:
    """Copy run ``run_id`` of ``source`` into ``target`` as ``target_run`` without its
    phase-3 events and metrics; returns ``target_run``."""
    _write(source, run_id, target, target_run, _without_phase3(source, run_id))
    return target_run


def _coords(vec: tuple[float, ...], regime: str, regimes: list[str]) -> np.ndarray:
    proj = np.random.default_rng(0).normal(size=(len(vec), 3))
    if regime not in regimes:
        regimes.append(regime)
    offset = np.array([4.0 * regimes.index(regime), 0.0, 0.0])
    return np.asarray(vec) @ proj * 3.0 + offset


def copy_with_projection(
    source: EventStore,
    run_id: str,
    target: EventStore,
    target_run: str | None = None,
    *,
    anomalies: bool = True,
) -> str:
    """Copy run ``run_id`` of ``source`` into ``target`` (as ``target_run``, default the
    same id) with synthetic phase-3 events in place of any real ones; returns the new id."""
    rid = target_run or run_id
    events = _without_phase3(source, run_id)
    crash = [
        e.transition_id
        for e in events
        if isinstance(e, ev.TransitionRecorded) and e.regime == "crash"
    ][:N_ANOMALIES]
    flagged = set(crash) if anomalies else set()
    regimes: list[str] = []
    seen: list[ev.TransitionRecorded] = []
    live: dict[str, tuple[tuple[float, ...], str]] = {}
    out: list[ev.Event] = []
    n_flagged = 0
    for e in events:
        if isinstance(e, ev.SchemaCreated):
            live[e.schema_id] = (e.mean, e.regime)
        elif isinstance(e, ev.SchemaUpdated):
            top = max(sorted(dict(e.regime_counts).items()), key=lambda kv: kv[1])[0]
            live[e.schema_id] = (e.mean, top)
        elif isinstance(e, ev.SchemaPruned):
            live.pop(e.schema_id, None)
        if isinstance(e, ev.CycleMetrics):
            fit = _fit(e, live, seen, regimes)
            out.append(fit)
            extra = (
                ("n_clusters", float(len(fit.centres))),
                ("ari_regime", 0.5 + 0.05 * e.cycle),
                ("anomalies", float(n_flagged)),
            )
            n_flagged = 0
            out.append(dataclasses.replace(e, metrics=e.metrics + extra))
            continue
        out.append(e)
        if isinstance(e, ev.TransitionRecorded):
            seen.append(e)
            if e.transition_id in flagged:
                n_flagged += 1
                xyz = _coords(e.state, e.regime, regimes)
                out.append(
                    ev.AnomalyFlagged(
                        cycle=e.cycle,
                        t_ns=e.t_ns,
                        entity=f"transition:{e.transition_id}",
                        transition_id=e.transition_id,
                        coords=tuple(float(v) for v in xyz),
                        distance=2.5,
                        threshold=2.0,
                        nearest_cluster=0,
                    )
                )
    _write(source, run_id, target, rid, out)
    return rid


def _fit(
    metrics: ev.CycleMetrics,
    live: dict[str, tuple[tuple[float, ...], str]],
    seen: list[ev.TransitionRecorded],
    regimes: list[str],
) -> ev.ProjectionFitted:
    step = max(1, len(seen) // SAMPLE)
    sample = seen[::step][:SAMPLE]
    ids = [f"schema:{sid}" for sid in live] + [f"transition:{t.transition_id}" for t in sample]
    pts = [_coords(mean, regime, regimes) for mean, regime in live.values()]
    pts += [_coords(t.state, t.regime, regimes) for t in sample]
    labels = [regimes.index(r) for _, r in live.values()] + [
        regimes.index(t.regime) for t in sample
    ]
    coords = np.asarray(pts, dtype=np.float64).reshape(-1, 3)
    centres = [coords[np.asarray(labels) == k].mean(axis=0) for k in sorted(set(labels))]
    return ev.ProjectionFitted(
        cycle=metrics.cycle,
        t_ns=metrics.t_ns,
        entity="projection",
        method="aligned_umap" if len(ids) > 3 else "fallback",
        params=(("n_components", 3.0), ("alignment_regularisation", 0.1)),
        point_ids=tuple(ids),
        coords=ev.as_matrix(coords),
        labels=tuple(labels),
        centres=ev.as_matrix(np.asarray(centres).reshape(-1, 3)),
        center=tuple(float(v) for v in coords.mean(axis=0)) if len(ids) else (0.0, 0.0, 0.0),
        scale=float(coords.std()) if len(ids) else 1.0,
        projector="",
        projector_rmse=0.01,
    )
