"""What the HTML report shows, assembled from a run's log (no HTML here).

``build_report(store, run_id)`` reads only through the ``EventStore`` port and returns a
``ReportData`` (``report_model``) with one part per report section. Every part is
present for every run: a part whose events the log lacks (a run written before phase 3
has no ``projection_fitted`` or ``anomaly_flagged`` events; an interrupted run may have
no night) carries empty series and a ``note`` saying why, so the renderer can say so in
place of a plot (the anomaly parts are built in ``data_anomalies``). Long series are
thinned deterministically (``MAX_PRICE_POINTS``, ``MAX_MAP_POINTS``): the same log always
gives the same report.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from janus_sim.app.membership import MEMBERSHIP_KINDS, joined_by_night, with_regimes
from janus_sim.app.timetravel import SCHEMA_KINDS, Moment, schema_rows, state_at
from janus_sim.core import events as ev
from janus_sim.core.codec import decode
from janus_sim.ports import EventQuery, EventStore
from janus_sim.report.data_anomalies import (
    lead_note,
    lead_of,
    novelty_section,
)
from janus_sim.report.model import (
    Anomaly,
    ConstraintSection,
    Header,
    Lead,
    MapSection,
    MapSlice,
    MetricsSection,
    PriceSection,
    PrioritySection,
    ReportData,
    SchemaSection,
    TimelineSection,
)
from janus_sim.report.series import (
    even_sample,
    log_histograms,
    minmax_sample,
    regime_segments,
)
from janus_sim.timefmt import format_ns

MAX_PRICE_POINTS = 4000
"""Price points kept (min/max per bucket beyond this; anomalies are always marked)."""
MAX_MAP_POINTS = 1500
"""Sampled states shown per cycle on the 3-D map (schema centroids always shown)."""
QUALITY_METRICS = (
    "n_clusters",
    "ari_regime",
    "cluster_stability",
    "map_trust",
    "projector_trust",
    "anomalies",
    "risk_spans",
    "operator_alerts",
    "anomaly_lead_bars",
    "mean_abs_td_before",
    "mean_abs_td_after",
    "td_improvement",
    "sat_agg",
    "n_schemas",
)
"""Listed first in the metrics section when the log has them; the rest follow."""
NO_PROJECTION = (
    "This run's log has no projection_fitted events: it was written before phase 3 (the "
    "AlignedUMAP map) existed, or with the projection disabled."
)
NO_NIGHTS = "This run has no completed sleep cycle yet."
Progress = Callable[[str], None]


def _read(store: EventStore, run_id: str, *kinds: str) -> list[Any]:
    query = EventQuery(kinds=list(kinds))
    return [decode(s.record) for s in store.read(run_id, query).records()]


def build_report(store: EventStore, run_id: str, progress: Progress | None = None) -> ReportData:
    """Everything the report shows for run ``run_id`` (NotFoundError if unknown)."""
    say = progress or (lambda _: None)
    info = store.get_run(run_id)
    say("days and metrics")
    life = _read(store, run_id, "run_started", "day_opened", "day_closed", "cycle_metrics")
    started = next((e for e in life if isinstance(e, ev.RunStarted)), None)
    dates = {e.cycle: e.date for e in life if isinstance(e, ev.DayOpened)}
    closed = [e for e in life if isinstance(e, ev.DayClosed)]
    metrics = {e.cycle: e.as_dict() for e in life if isinstance(e, ev.CycleMetrics)}
    nights = sorted(metrics)
    night_dates = [dates.get(c, "") for c in nights]
    say("transitions")
    trans: list[ev.TransitionRecorded] = _read(store, run_id, "transition_recorded")
    bar_of = {t.transition_id: i for i, t in enumerate(trans)}
    regime_of = {t.transition_id: t.regime for t in trans}
    anomalies = [e for e in _read(store, run_id, "anomaly_flagged") if e.transition_id in bar_of]
    say("projections")
    fits = {e.cycle: e for e in _read(store, run_id, "projection_fitted")}
    say("schemas")
    schemas = _schema_section(store, run_id, nights, night_dates, regime_of)
    say("priorities")
    priorities = _priority_section(store, run_id, nights, night_dates)
    lead = lead_of([*trans, *anomalies], bar_of)
    say("novelty and anomaly responses")
    novelty = novelty_section(store, run_id, trans, bool(fits))
    regimes = list(dict.fromkeys(t.regime for t in trans))
    header = Header(
        run_id=run_id,
        scenario_name=info.scenario_name,
        seed=info.seed,
        status=info.status,
        digest=info.digest,
        n_events=store.last_seq(run_id) + 1,
        code_version=info.code_version,
        first_date=dates[min(dates)] if dates else "",
        last_date=dates[max(dates)] if dates else "",
        n_days=len(dates),
        n_nights=len(nights),
        has_projection=bool(fits),
    )
    return ReportData(
        header=header,
        map=_map_section(fits, dates, regime_of, schemas),
        timeline=_timeline_section(store, run_id, nights, night_dates, schemas),
        priorities=priorities,
        constraints=_constraint_section(started, closed),
        price=_price_section(trans, bar_of, anomalies, dates, lead),
        schemas=schemas,
        metrics=_metrics_section(nights, night_dates, metrics, lead, bool(trans)),
        anomalies=novelty,
        regimes=regimes,
    )


def _schema_section(
    store: EventStore,
    run_id: str,
    nights: list[int],
    night_dates: list[str],
    regime_of: dict[int, str],
) -> SchemaSection:
    rows = [
        schema_rows(state_at(store, run_id, Moment(cycle=c), kinds=SCHEMA_KINDS)[0]) for c in nights
    ]
    by_night = joined_by_night(_read(store, run_id, *MEMBERSHIP_KINDS))
    joined = [with_regimes(by_night.get(c, {}), regime_of) for c in nights]
    return SchemaSection(nights, night_dates, rows, joined, None if nights else NO_NIGHTS)


def _timeline_section(
    store: EventStore,
    run_id: str,
    nights: list[int],
    night_dates: list[str],
    schemas: SchemaSection,
) -> TimelineSection:
    batch = store.read(
        run_id, EventQuery(kinds=["schema_created", "schema_updated", "schema_pruned"])
    )
    counts = Counter(zip(batch.kind, batch.cycle.tolist(), strict=True))
    ids = list(dict.fromkeys(str(r["id"]) for rows in schemas.rows for r in rows))
    index = {sid: i for i, sid in enumerate(ids)}
    sizes: list[list[int | None]] = [[None] * len(nights) for _ in ids]
    for c, rows in enumerate(schemas.rows):
        for r in rows:
            sizes[index[str(r["id"])]][c] = int(r["points"])  # type: ignore[call-overload]
    return TimelineSection(
        cycles=nights,
        dates=night_dates,
        created=[counts[("schema_created", c)] for c in nights],
        updated=[counts[("schema_updated", c)] for c in nights],
        pruned=[counts[("schema_pruned", c)] for c in nights],
        live=[len(rows) for rows in schemas.rows],
        schema_ids=ids,
        sizes=sizes,
        note=None if nights else NO_NIGHTS,
    )


def _priority_section(
    store: EventStore, run_id: str, nights: list[int], night_dates: list[str]
) -> PrioritySection:
    computed: dict[int, ev.PrioritiesComputed] = {}
    updates: dict[int, list[ev.PrioritiesUpdated]] = {}
    for e in _read(store, run_id, "priorities_computed", "priorities_updated"):
        if isinstance(e, ev.PrioritiesComputed):
            computed[e.cycle] = e
        else:
            updates.setdefault(e.cycle, []).append(e)
    cycles = [c for c in nights if c in computed]
    before: list[np.ndarray] = []
    after: list[np.ndarray] = []
    for c in cycles:
        ids = np.asarray(computed[c].transition_ids, dtype=np.int64)
        p0 = np.asarray(computed[c].priorities, dtype=np.float64)
        order = np.argsort(ids, kind="stable")
        p1 = p0.copy()
        for u in updates.get(c, []):  # in log order: the last update of an id wins
            uid = np.asarray(u.transition_ids, dtype=np.int64)
            pos = order[np.searchsorted(ids, uid, sorter=order)]
            p1[pos] = np.asarray(u.priorities, dtype=np.float64)
        before.append(p0)
        after.append(p1)
    hist = log_histograms(before + after)
    n = len(cycles)
    return PrioritySection(
        cycles=cycles,
        dates=[night_dates[nights.index(c)] for c in cycles],
        log10_edges=hist.log10_edges,
        before=hist.counts[:n],
        after=hist.counts[n:],
        median_before=[float(np.median(p)) for p in before],
        median_after=[float(np.median(p)) for p in after],
        note=None if cycles else "This run's log has no priorities_computed events yet.",
    )


def _constraint_section(
    started: ev.RunStarted | None, closed: list[ev.DayClosed]
) -> ConstraintSection:
    names = list(started.constraint_names) if started is not None else []
    truth = [[float(d.constraint_truth[k]) for d in closed] for k in range(len(names))]
    note = None
    if not closed:
        note = "No trading day of this run has closed yet."
    elif not names:
        note = "This run's scenario has no constraints."
    return ConstraintSection(
        names=names,
        dates=[d.date for d in closed],
        truth=truth,
        sat_agg=[float(d.sat_agg) for d in closed],
        note=note,
    )


def _price_section(
    trans: list[ev.TransitionRecorded],
    bar_of: dict[int, int],
    anomalies: list[ev.AnomalyFlagged],
    dates: dict[int, str],
    lead: Lead | None,
) -> PriceSection:
    prices = [t.price for t in trans]
    keep = minmax_sample(prices, MAX_PRICE_POINTS)
    day_starts = [i for i, t in enumerate(trans) if i == 0 or trans[i - 1].cycle != t.cycle]
    marks = [
        Anomaly(
            bar=bar_of[a.transition_id],
            price=trans[bar_of[a.transition_id]].price,
            time=format_ns(a.t_ns),
            transition_id=a.transition_id,
            distance=a.distance,
            threshold=a.threshold,
        )
        for a in anomalies
    ]
    note = None if trans else "This run has no recorded transitions."
    if trans and not anomalies:
        note = "No anomaly_flagged events in this run's log: no anomaly is marked."
    return PriceSection(
        n_bars=len(trans),
        bar=keep,
        price=[prices[i] for i in keep],
        time=[format_ns(trans[i].t_ns) for i in keep],
        day_starts=day_starts,
        day_dates=[dates.get(trans[i].cycle, "") for i in day_starts],
        segments=regime_segments([t.regime for t in trans]),
        anomalies=marks,
        lead=lead,
        note=note,
    )


def _map_section(
    fits: dict[int, ev.ProjectionFitted],
    dates: dict[int, str],
    regime_of: dict[int, str],
    schemas: SchemaSection,
) -> MapSection:
    dominant: dict[int, dict[str, str]] = {
        c: {str(r["id"]): str(r["dominant_regime"]) for r in rows}
        for c, rows in zip(schemas.cycles, schemas.rows, strict=True)
    }
    slices = [
        _map_slice(fits[c], dates.get(c, ""), regime_of, dominant.get(c, {})) for c in sorted(fits)
    ]
    return MapSection(slices, None if slices else NO_PROJECTION)


def _map_slice(
    fit: ev.ProjectionFitted, date: str, regime_of: dict[int, str], dominant: dict[str, str]
) -> MapSlice:
    coords = np.asarray(fit.coords, dtype=np.float64).reshape(-1, 3)
    is_schema = [p.startswith("schema:") for p in fit.point_ids]
    schema_pos = [i for i, s in enumerate(is_schema) if s]
    state_pos = [i for i, s in enumerate(is_schema) if not s]
    shown = schema_pos + [state_pos[j] for j in even_sample(len(state_pos), MAX_MAP_POINTS)]
    schema_names = [fit.point_ids[i].split(":", 1)[1] for i in schema_pos]
    nearest: list[str] = [""] * len(fit.point_ids)
    if schema_pos:
        centroids = coords[schema_pos]
        for i in shown:
            d = np.sum((centroids - coords[i]) ** 2, axis=1)
            nearest[i] = schema_names[int(np.argmin(d))]
    regime: list[str] = []
    for i in shown:
        name = fit.point_ids[i].split(":", 1)[1]
        if is_schema[i]:
            regime.append(dominant.get(name, ""))
        else:
            regime.append(regime_of.get(int(name), "") if name.isdigit() else "")
    labels = [int(fit.labels[i]) for i in shown] if len(fit.labels) == len(is_schema) else []
    return MapSlice(
        cycle=fit.cycle,
        date=date,
        method=fit.method,
        n_points=len(fit.point_ids),
        n_clusters=len(fit.centres),
        projector_rmse=float(fit.projector_rmse),
        kind=["schema" if is_schema[i] else "transition" for i in shown],
        ids=[fit.point_ids[i] for i in shown],
        x=[float(coords[i, 0]) for i in shown],
        y=[float(coords[i, 1]) for i in shown],
        z=[float(coords[i, 2]) for i in shown],
        cluster=labels or [-1] * len(shown),
        regime=regime,
        schema=[nearest[i] for i in shown],
    )


def _metrics_section(
    nights: list[int],
    night_dates: list[str],
    metrics: dict[int, dict[str, float]],
    lead: Lead | None,
    has_bars: bool,
) -> MetricsSection:
    seen = list(dict.fromkeys(k for c in nights for k in metrics[c]))
    names = [m for m in QUALITY_METRICS if m in seen] + [
        m for m in seen if m not in QUALITY_METRICS
    ]
    values = [[_finite_or_none(metrics[c].get(m)) for c in nights] for m in names]
    return MetricsSection(
        cycles=nights,
        dates=night_dates,
        names=names,
        values=values,
        lead=lead,
        lead_note=lead_note(lead, has_bars),
        note=None if nights else NO_NIGHTS,
    )


def _finite_or_none(v: float | None) -> float | None:
    return None if v is None or not math.isfinite(v) else float(v)
