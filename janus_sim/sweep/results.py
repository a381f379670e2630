"""The sweep's two tables, built from its trials and their outcomes.

``trials``: one row per trial in sweep order - its parameters (``params`` as canonical
JSON and one ``param:<field>`` column per swept field), status, attempts, digest, the
last error, and the quality summaries of ``sweep_trial.summarize``. ``cycles``: one row
per finished trial and night, every nightly metric a Float64 column (null where a
trial's scenario lacks it). ``elapsed_s`` is the only column that depends on the machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from janus_sim.sweep.columns import PARAM_PREFIX, SUMMARY_COLUMNS
from janus_sim.sweep.plan import Trial
from janus_sim.sweep.spec import Scalar
from janus_sim.sweep.trial import TrialOutcome, TrialStatus


@dataclass
class TrialRecord:
    """What the sweep knows of one trial so far."""

    trial: Trial
    status: TrialStatus = "pending"
    attempts: int = 0
    error: str | None = None
    outcome: TrialOutcome | None = None


def _param_dtype(values: Sequence[Scalar | None]) -> pl.DataType:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return pl.Boolean()
    numbers = [v for v in present if isinstance(v, int | float) and not isinstance(v, bool)]
    if len(numbers) == len(present):
        return pl.Float64() if any(isinstance(v, float) for v in numbers) else pl.Int64()
    return pl.String()


def trials_frame(records: Sequence[TrialRecord], fields: Sequence[str]) -> pl.DataFrame:
    rows: dict[str, list[Any]] = {
        k: []
        for k in (
            "trial_id", "index", "scenario", "scenario_name", "seed", "setting", "params",
            "status", "attempts", "digest", "n_events", "elapsed_s", "error", "shard",
        )
    }  # fmt: skip
    params: dict[str, list[Scalar | None]] = {f: [] for f in fields}
    summaries: dict[str, list[float | None]] = {k: [] for k in SUMMARY_COLUMNS}
    for rec in records:
        t, out = rec.trial, rec.outcome
        done = out is not None and rec.status == "finished"
        values = dict(t.setting)
        for f in fields:
            params[f].append(values.get(f))
        for key, value in (
            ("trial_id", t.trial_id), ("index", t.index), ("scenario", t.scenario_path),
            ("scenario_name", t.scenario_name), ("seed", t.seed), ("setting", t.label),
            ("params", t.params), ("status", rec.status), ("attempts", rec.attempts),
            ("digest", out.digest if done and out else None),
            ("n_events", out.n_events if done and out else None),
            ("elapsed_s", out.elapsed_s if done and out else None),
            ("error", rec.error), ("shard", f"shards/{t.trial_id}"),
        ):  # fmt: skip
            rows[key].append(value)
        for k in SUMMARY_COLUMNS:
            summaries[k].append(out.summary.get(k) if done and out else None)
    schema: dict[str, pl.DataType] = {
        "trial_id": pl.String(), "index": pl.Int64(), "scenario": pl.String(),
        "scenario_name": pl.String(), "seed": pl.Int64(), "setting": pl.String(),
        "params": pl.String(), "status": pl.String(), "attempts": pl.Int64(),
        "digest": pl.String(), "n_events": pl.Int64(), "elapsed_s": pl.Float64(),
        "error": pl.String(), "shard": pl.String(),
    }  # fmt: skip
    columns: list[pl.Series] = [pl.Series(k, rows[k], dtype=schema[k]) for k in rows]
    for f in fields:
        dtype = _param_dtype(params[f])
        vals = params[f] if dtype != pl.String() else [_text(v) for v in params[f]]
        columns.append(pl.Series(PARAM_PREFIX + f, vals, dtype=dtype))
    columns += [pl.Series(k, summaries[k], dtype=pl.Float64()) for k in SUMMARY_COLUMNS]
    return pl.DataFrame(columns)


def _text(v: Scalar | None) -> str | None:
    return None if v is None else str(v)


def cycles_frame(records: Sequence[TrialRecord]) -> pl.DataFrame:
    names: list[str] = []  # first-seen order: the scenarios' own metric order
    seen: set[str] = set()
    finished = [r for r in records if r.status == "finished" and r.outcome is not None]
    for rec in finished:
        assert rec.outcome is not None
        for night in rec.outcome.cycles:
            for name, _ in night.metrics:
                if name not in seen:
                    seen.add(name)
                    names.append(name)
    keys: dict[str, list[Any]] = {
        k: [] for k in ("trial_id", "scenario_name", "seed", "setting", "cycle", "date")
    }
    values: dict[str, list[float | None]] = {n: [] for n in names}
    for rec in finished:
        assert rec.outcome is not None
        t = rec.trial
        for night in rec.outcome.cycles:
            m = dict(night.metrics)
            for k, v in (
                ("trial_id", t.trial_id), ("scenario_name", t.scenario_name), ("seed", t.seed),
                ("setting", t.label), ("cycle", night.cycle), ("date", night.date),
            ):  # fmt: skip
                keys[k].append(v)
            for n in names:
                values[n].append(m.get(n))
    dtypes: dict[str, pl.DataType] = {"seed": pl.Int64(), "cycle": pl.Int64()}
    columns = [pl.Series(k, v, dtype=dtypes.get(k, pl.String())) for k, v in keys.items()]
    columns += [pl.Series(n, values[n], dtype=pl.Float64()) for n in names]
    return pl.DataFrame(columns)
