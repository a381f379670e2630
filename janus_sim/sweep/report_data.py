"""What the sweep report shows, computed from a sweep's tables (no HTML here).

``build_sweep_report(out)`` reads the folder (``sweep_tables.read_sweep``, the only
I/O) and ``summarize(tables)`` turns the checked tables into a ``SweepReport``
(``sweep_report_model``): counts by status, per (scenario, setting) group the quality
metrics of its finished trials with their summary statistics, nightly bands across
seeds, every numeric swept parameter against the metrics, and the failed trials. It
works on a sweep still running: pending and failed trials are counted and listed, and
only finished ones are measured. The same tables always give the same report.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from janus_sim import __version__
from janus_sim.sweep.columns import PARAM_PREFIX, SUMMARY_COLUMNS
from janus_sim.sweep.report_model import (
    STATUSES,
    Group,
    MetricInfo,
    MetricValues,
    NightBand,
    NightMetric,
    NightSection,
    ParamSensitivity,
    SensitivitySection,
    Stats,
    SweepHeader,
    SweepReport,
    Trial,
)
from janus_sim.sweep.tables import SweepTables, read_sweep

_PROJECTION = "no finished trial had projection enabled, so {} was not measured"
_NOVELTY = (
    "no finished trial had the anomaly monitor watching a market with labelled regimes "
    "(projection enabled, a synthetic market, two days or more){}, so {} was not measured"
)
QUALITY_METRICS: tuple[tuple[str, str, str, str], ...] = (
    ("ari_regime_final", "regime recovery, last night (ARI)",
     "adjusted Rand index of the schema assignment against the true regimes after the last "
     "night (1: regimes recovered exactly, 0: chance)", _PROJECTION.format("regime recovery")),
    ("ari_regime_mean", "regime recovery, mean over nights (ARI)",
     "the same index averaged over the nights", _PROJECTION.format("regime recovery")),
    ("novelty_precision", "novelty precision",
     "share of the anomaly monitor's flags (from day 2) that fell on novel bars: bars whose "
     "true regime was absent from the memory buffer at the day's open (more: fewer false "
     "alarms)", _NOVELTY.format(" and flagged anything", "novelty precision")),
    ("novelty_recall", "novelty recall",
     "share of the novel bars that the anomaly monitor flagged (more: less missed)",
     _NOVELTY.format(" and met a novel bar", "novelty recall")),
    ("familiar_fpr", "familiar-bar false-positive rate",
     "share of the familiar bars (regime already in the buffer at the day's open) that the "
     "anomaly monitor flagged (less: fewer false alarms)",
     _NOVELTY.format("", "the familiar-bar false-positive rate")),
    ("crash_onset_lead_bars", "crash onset lead (bars)",
     "bars from the crash's first novel bar to the monitor's first flag on that day (less: "
     "earlier warning; 0: flagged at once; missing when that day flagged none of it)",
     "no finished trial had a crash that was novel on a day the monitor watched and "
     "flagged on that day, so the crash onset lead was not measured"),
    ("crash_onset_flagged", "crash onset flagged",
     "1 when the monitor flagged the crash on the day it was first novel, 0 when it missed "
     "it (the mean is the share of trials that caught it)",
     "no finished trial had a crash that was novel on a day the monitor watched, so "
     "whether its onset was flagged was not measured"),
    ("td_improvement_mean", "TD-error improvement (mean over nights)",
     "relative drop of the mean |TD error| from each night's replay, averaged over nights",
     "no finished trial recorded a TD-error improvement"),
    ("n_schemas_final", "schemas after the last night", "live schemas at the end of the run",
     "no finished trial recorded its schema count"),
    ("schemas_created_total", "schemas created", "schemas created over the whole run",
     "no finished trial recorded the schemas it created"),
    ("anomalies_total", "anomalies flagged", "anomalies flagged over the whole run",
     _PROJECTION.format("anomaly flagging")),
    ("n_clusters_final", "clusters, last night", "DBSCAN clusters on the last night's map",
     _PROJECTION.format("clustering")),
    ("anomaly_lead_bars", "trough lead (bars; secondary)",
     "bars from the first anomaly flag to the price trough (more: earlier; any early false "
     "alarm lengthens it, so read it beside the novelty figures)",
     "no finished trial had a crash with an anomaly flagged before its trough, so the "
     "anomaly lead was not measured"),
)  # fmt: skip
"""(column, label, meaning, why it may be missing) of each quality metric, in page order."""
assert tuple(m[0] for m in QUALITY_METRICS) == SUMMARY_COLUMNS
NIGHT_METRICS = (
    ("n_schemas", "live schemas"),
    ("td_improvement", "TD-error improvement"),
    ("ari_regime", "regime recovery (ARI)"),
)
"""(cycles.parquet column, label) of the metrics drawn night by night."""
NOT_FINISHED = "no trial has finished yet, so nothing was measured"
NO_NIGHTS = (
    "no nights recorded yet: cycles.parquet has a row per night of each finished trial, "
    "and no trial has finished"
)
NO_PARAMS = (
    "the sweep sets no parameter (every trial ran its scenario's defaults), so there is "
    "nothing to plot against"
)


def quantile(ordered: Sequence[float], p: float) -> float:
    """The ``p`` quantile of the non-empty ascending ``ordered``, interpolating linearly
    between order statistics (numpy's default)."""
    h = (len(ordered) - 1) * p
    lo = math.floor(h)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (h - lo) * (ordered[hi] - ordered[lo])


def stats(values: Iterable[float]) -> Stats:
    """Summary statistics of a non-empty collection of finite values (see ``Stats``)."""
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        raise ValueError("stats of no values")
    mean = math.fsum(ordered) / n
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in ordered) / (n - 1)) if n > 1 else None
    return Stats(
        n=n,
        mean=mean,
        sd=sd,
        median=quantile(ordered, 0.5),
        q1=quantile(ordered, 0.25),
        q3=quantile(ordered, 0.75),
        min=ordered[0],
        max=ordered[-1],
    )


def _first_seen(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _trial(row: dict[str, Any]) -> Trial:
    return Trial(
        trial_id=row["trial_id"],
        index=row["index"],
        scenario_name=row["scenario_name"],
        seed=row["seed"],
        setting=row["setting"],
        status=row["status"],
        attempts=row["attempts"] if row["attempts"] is not None else 0,
        digest=row["digest"],
        n_events=row["n_events"],
        elapsed_s=row["elapsed_s"],
        error=row["error"],
    )


def _group(key: tuple[str, str], rows: list[dict[str, Any]]) -> Group:
    finished = sorted((r for r in rows if r["status"] == "finished"), key=_seed_order)
    metrics = []
    for column in SUMMARY_COLUMNS:
        have = [r for r in finished if r[column] is not None]
        values = [float(r[column]) for r in have]
        metrics.append(
            MetricValues(
                metric=column,
                seeds=[r["seed"] for r in have],
                trial_ids=[r["trial_id"] for r in have],
                values=values,
                missing=len(finished) - len(have),
                stats=stats(values) if values else None,
            )
        )
    count = {s: sum(r["status"] == s for r in rows) for s in STATUSES}
    return Group(
        scenario_name=key[0],
        setting=key[1],
        n_trials=len(rows),
        n_finished=count["finished"],
        n_failed=count["failed"],
        n_pending=count["pending"],
        metrics=metrics,
    )


def _seed_order(row: dict[str, Any]) -> tuple[int, int]:
    return row["seed"], row["index"]


def _metric_infos(finished: list[dict[str, Any]]) -> list[MetricInfo]:
    out = []
    for key, label, meaning, why in QUALITY_METRICS:
        n = sum(r[key] is not None for r in finished)
        note = None if n else (why if finished else NOT_FINISHED)
        out.append(MetricInfo(key=key, label=label, help=meaning, n_values=n, note=note))
    return out


def _nights(tables: SweepTables, order: dict[tuple[str, str], int]) -> NightSection:
    if tables.cycles.height == 0:
        return NightSection([], NO_NIGHTS)
    present = [(m, label) for m, label in NIGHT_METRICS if m in tables.night_metrics]
    out = []
    for metric, label in present:
        cells: dict[tuple[str, str], dict[int, list[float]]] = {}
        rows = tables.cycles.select("scenario_name", "setting", "cycle", metric)
        for scenario, setting, cycle, value in rows.drop_nulls(metric).iter_rows():
            cells.setdefault((scenario, setting), {}).setdefault(cycle, []).append(value)
        bands = []
        for key in sorted(cells, key=lambda k: (order.get(k, len(order)), k)):
            nights = sorted(cells[key])
            summaries = [stats(cells[key][c]) for c in nights]
            bands.append(
                NightBand(
                    scenario_name=key[0],
                    setting=key[1],
                    cycles=nights,
                    n=[s.n for s in summaries],
                    median=[s.median for s in summaries],
                    q1=[s.q1 for s in summaries],
                    q3=[s.q3 for s in summaries],
                )
            )
        if bands:
            out.append(NightMetric(metric=metric, label=label, bands=bands))
    drawn = {m.metric for m in out}
    absent = [m for m, _ in NIGHT_METRICS if m not in drawn]
    note = None
    if absent:
        note = f"not recorded by any finished trial: {', '.join(absent)}"
        if "ari_regime" in absent:
            note += " (ari_regime needs projection enabled and labelled regimes)"
    return NightSection(out, note)


def _sensitivity(tables: SweepTables, finished: list[dict[str, Any]]) -> SensitivitySection:
    if not tables.params:
        return SensitivitySection([], NO_PARAMS)
    if not finished:
        return SensitivitySection([], NOT_FINISHED)
    out = []
    schema = tables.trials.schema
    for param in tables.params:
        column = PARAM_PREFIX + param
        dtype = schema[column]
        if dtype == pl.Boolean or not dtype.is_numeric():
            continue
        points = [r for r in finished if r[column] is not None]
        distinct = len({r[column] for r in points})
        if distinct < 2:
            continue
        metrics = [m for m in SUMMARY_COLUMNS if any(r[m] is not None for r in points)]
        out.append(
            ParamSensitivity(
                param=param,
                n_distinct=distinct,
                trial_ids=[r["trial_id"] for r in points],
                scenario_name=[r["scenario_name"] for r in points],
                seed=[r["seed"] for r in points],
                setting=[r["setting"] for r in points],
                x=[float(r[column]) for r in points],
                metrics=metrics,
                y=[[r[m] for r in points] for m in metrics],
            )
        )
    note = None
    if not out:
        note = (
            "no numeric swept parameter took two or more values among the finished trials "
            f"(swept: {', '.join(tables.params)})"
        )
    return SensitivitySection(out, note)


def summarize(tables: SweepTables) -> SweepReport:
    """The report of checked ``tables`` (pure; see the module docstring)."""
    rows = tables.trials.to_dicts()  # sorted by index
    finished = [r for r in rows if r["status"] == "finished"]
    scenarios = _first_seen(r["scenario_name"] for r in rows)
    settings = _first_seen(r["setting"] for r in rows)
    by_group: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        by_group.setdefault((r["scenario_name"], r["setting"]), []).append(r)
    keys = sorted(by_group, key=lambda k: (scenarios.index(k[0]), settings.index(k[1])))
    trials = [_trial(r) for r in rows]
    header = SweepHeader(
        name=tables.name,
        sweep_hash=tables.sweep_hash,
        n_trials=len(rows),
        counts=[sum(t.status == s for t in trials) for s in STATUSES],
        scenarios=scenarios,
        settings=settings,
        seeds=sorted({r["seed"] for r in rows}),
        params=list(tables.params),
        code_version=__version__,
    )
    return SweepReport(
        header=header,
        metrics=_metric_infos(finished),
        groups=[_group(k, by_group[k]) for k in keys],
        nights=_nights(tables, {k: i for i, k in enumerate(keys)}),
        sensitivity=_sensitivity(tables, finished),
        failed=[t for t in trials if t.status == "failed"],
        trials=trials,
        note=None if finished else NOT_FINISHED,
    )


def build_sweep_report(out: Path) -> SweepReport:
    """Read the sweep folder ``out`` and summarise it; NotFoundError or ConfigError (one
    line naming the file) when its tables are missing or break the contract."""
    return summarize(read_sweep(out))
