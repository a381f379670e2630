"""The polars frames of the notebook API (``janus_sim.api``): one builder per answer, each
with a fixed schema, so that a frame's columns and dtypes do not depend on its rows (an
empty answer has them too).

The rows come from ``app.views`` and ``app.compare``, the same values the command line
prints with ``--json``; these builders only lay them out as columns.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import polars as pl

from janus_sim.app.compare import CompareReport
from janus_sim.app.diff import StateDiff
from janus_sim.eventlog import EventBatch

Columns = dict[str, Any]
"""Column name -> polars dtype, in frame order."""

RUNS: Columns = {
    "run_id": pl.String,
    "scenario_name": pl.String,
    "scenario_source": pl.String,
    "scenario_hash": pl.String,
    "seed": pl.Int64,
    "code_version": pl.String,
    "versions": pl.String,
    "status": pl.String,
    "digest": pl.String,
    "n_events": pl.Int64,
    "started_at": pl.String,
    "finished_at": pl.String,
    "message": pl.String,
}
"""``Store.runs()``: the fields of ``runs --json``; ``versions`` as JSON text."""

SCHEMAS: Columns = {
    "id": pl.String,
    "points": pl.Int64,
    "avg_reward": pl.Float64,
    "created": pl.String,
    "updated": pl.String,
    "mean_norm": pl.Float64,
    "cov_trace": pl.Float64,
    "dominant_regime": pl.String,
    "dominant_share": pl.Float64,
}
"""``Moment.schemas``: the rows of ``at --json`` (times as ISO text, as printed)."""

EVENTS: Columns = {
    "run_id": pl.String,
    "seq": pl.Int64,
    "cycle": pl.Int32,
    "t": pl.Datetime("ns", "UTC"),
    "t_ns": pl.Int64,
    "kind": pl.String,
    "entity": pl.String,
    "version": pl.Int16,
    "payload": pl.String,
}
"""``Run.events()``: the fields of ``events --json``, with ``t`` a UTC datetime and the
payload as its stored JSON text: one kind's fields differ from another's, so no one
struct type fits them all (``pl.col("payload").str.json_path_match("$.date")`` picks a
field; ``json.loads`` decodes a row)."""

CYCLES_FIXED: Columns = {"cycle": pl.Int64, "date": pl.String}
"""``Run.cycles()``: these, then one Float64 column per metric (null where a night
lacks it), in the order the nights first name them."""

DIFF: Columns = {
    "change": pl.String,
    "schema_id": pl.String,
    "points": pl.Int64,
    "points_before": pl.Int64,
    "points_after": pl.Int64,
    "mean_shift": pl.Float64,
    "cov_change": pl.Float64,
    "joined": pl.Int64,
}
"""``Run.diff()``: one row per created, pruned and updated schema (in that order, as the
``diff`` table). ``points`` is the schema's count where it lives: at B for created and
updated ones, at A for pruned ones; ``points_before``/``points_after`` are null where it
does not live; ``joined`` is how many transitions joined it from A to B (null when not
known: across runs, backwards in time, or a pruned schema)."""

DIFF_METRICS: Columns = {"metric": pl.String, "a": pl.Float64, "b": pl.Float64, "delta": pl.Float64}
"""``Run.diff_metrics()``: the latest cycle metrics that differ (NaN where one side has
none)."""

COMPARE: Columns = {
    "cycle": pl.Int64,
    "date_a": pl.String,
    "date_b": pl.String,
    "metric": pl.String,
    "a": pl.Float64,
    "b": pl.Float64,
    "delta": pl.Float64,
    "rtol": pl.Float64,
    "atol": pl.Float64,
    "count": pl.Boolean,
    "ok": pl.Boolean,
}
"""``compare()``: one row per cycle and metric of either run (null where a run lacks it);
``ok`` is the tolerance verdict ``compare`` prints as ok/DIFF."""


def _frame(rows: Sequence[dict[str, Any]], schema: Columns) -> pl.DataFrame:
    columns = {name: [r.get(name) for r in rows] for name in schema}
    return pl.DataFrame(columns, schema=schema)


def runs_frame(runs: Sequence[dict[str, Any]]) -> pl.DataFrame:
    """From ``views.run_dict`` rows."""
    return _frame(
        [{**r, "versions": json.dumps(r["versions"], sort_keys=True)} for r in runs], RUNS
    )


def schemas_frame(rows: Sequence[dict[str, Any]]) -> pl.DataFrame:
    """From ``SchemaView.rows``."""
    return _frame(rows, SCHEMAS)


def events_frame(batch: EventBatch) -> pl.DataFrame:
    """From a read batch, column by column (no per-event decoding)."""
    n = len(batch)
    columns = {
        "run_id": [batch.run_id] * n,
        "seq": batch.seq,
        "cycle": batch.cycle,
        "t": batch.t_ns,
        "t_ns": batch.t_ns,
        "kind": batch.kind,
        "entity": batch.entity,
        "version": batch.version,
        "payload": batch.payload,
    }
    schema: Columns = {**EVENTS, "t": pl.Int64}
    return pl.DataFrame(columns, schema=schema).with_columns(
        pl.col("t").cast(pl.Datetime("ns")).dt.replace_time_zone("UTC")
    )


def cycles_frame(rows: Sequence[dict[str, Any]]) -> pl.DataFrame:
    """From ``views.cycle_rows``."""
    names: dict[str, None] = {}
    for r in rows:
        names.update({k: None for k in r if k not in CYCLES_FIXED})
    schema: Columns = {**CYCLES_FIXED, **{k: pl.Float64 for k in names}}
    return _frame(rows, schema)


def diff_frame(d: StateDiff) -> pl.DataFrame:
    """The schema changes of ``d`` (see ``DIFF``)."""
    joined = d.joined or {}

    def n_joined(sid: str) -> int | None:
        if d.joined is None:
            return None
        j = joined.get(sid)
        return 0 if j is None else j.count

    rows: list[dict[str, Any]] = []
    for sid in d.created:
        n = d.points[sid]
        rows.append({"change": "created", "schema_id": sid, "points": n, "points_after": n})
        rows[-1]["joined"] = n_joined(sid)
    for sid in d.pruned:
        n = d.points[sid]
        rows.append({"change": "pruned", "schema_id": sid, "points": n, "points_before": n})
    for u in d.updated:
        rows.append(
            {
                "change": "updated",
                "schema_id": u.schema_id,
                "points": u.points_after,
                "points_before": u.points_before,
                "points_after": u.points_after,
                "mean_shift": u.mean_shift,
                "cov_change": u.cov_change,
                "joined": n_joined(u.schema_id),
            }
        )
    return _frame(rows, DIFF)


def diff_metrics_frame(d: StateDiff) -> pl.DataFrame:
    """The metric deltas of ``d`` (see ``DIFF_METRICS``)."""
    rows = [{"metric": k, "a": a, "b": b, "delta": b - a} for k, (a, b) in d.metrics.items()]
    return _frame(rows, DIFF_METRICS)


def compare_frame(report: CompareReport) -> pl.DataFrame:
    """Every metric of every cycle of a comparison (see ``COMPARE``)."""
    rows = [
        {
            "cycle": c.cycle,
            "date_a": c.date_a,
            "date_b": c.date_b,
            "metric": m.name,
            "a": m.a,
            "b": m.b,
            "delta": m.delta,
            "rtol": m.rtol,
            "atol": m.atol,
            "count": m.count,
            "ok": m.ok,
        }
        for c in report.cycles
        for m in c.metrics
    ]
    return _frame(rows, COMPARE)
