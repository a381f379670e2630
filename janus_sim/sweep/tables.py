"""Read and check a sweep's tables: ``OUT/trials.parquet``, ``OUT/cycles.parquet`` and
the optional ``OUT/sweep.json`` (the only I/O of the sweep report).

``read_sweep(out)`` returns ``SweepTables`` whose frames hold exactly the contract's
columns with normalised types (text as String, counts as Int64, measures as Float64,
NaN as null), the trials sorted by ``index``. Anything else is one line: a
``NotFoundError`` for a missing folder or table, a ``ConfigError`` naming the file and
what was expected for an unreadable file, a missing or mistyped column, a null where a
value is required, an unknown status, a repeated trial id or a table without trials.
``cycles.parquet`` may be absent only while no trial has finished.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from janus_sim.errors import ConfigError, NotFoundError
from janus_sim.sweep.columns import (
    CYCLES_FILE,
    MANIFEST_FILE,
    PARAM_PREFIX,
    SUMMARY_COLUMNS,
    TRIALS_FILE,
)
from janus_sim.sweep.report_model import STATUSES

TRIAL_COLUMNS: dict[str, str] = {
    "trial_id": "text",
    "index": "integer",
    "scenario": "text",
    "scenario_name": "text",
    "seed": "integer",
    "setting": "text",
    "params": "text",
    "status": "text",
    "attempts": "integer",
    "digest": "text",
    "n_events": "integer",
    "elapsed_s": "number",
    "error": "text",
    "shard": "text",
    **dict.fromkeys(SUMMARY_COLUMNS, "number"),
}
"""The contract's columns of ``trials.parquet`` (besides ``param:*``) and their kind."""
TRIAL_REQUIRED = ("trial_id", "index", "scenario_name", "seed", "setting", "status")
"""Columns of ``trials.parquet`` that may not hold a null."""
CYCLE_KEYS: dict[str, str] = {
    "trial_id": "text",
    "scenario_name": "text",
    "seed": "integer",
    "setting": "text",
    "cycle": "integer",
    "date": "text",
}
"""The key columns of ``cycles.parquet`` (none may be null); every other column is a
nightly metric and must be numeric."""


@dataclass(frozen=True)
class SweepTables:
    """A sweep folder's tables, checked. ``params`` are the swept parameters' dotted
    paths (sorted); ``trials`` has their ``param:<path>`` columns as written;
    ``night_metrics`` the metric columns of ``cycles`` in file order."""

    name: str
    sweep_hash: str | None
    trials: pl.DataFrame
    cycles: pl.DataFrame
    params: list[str]
    night_metrics: list[str]


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _read(path: Path) -> pl.DataFrame:
    try:
        return pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError, ValueError) as e:
        raise ConfigError(str(path), "", f"not a readable Parquet file: {_first_line(e)}") from e


def _kind_ok(dtype: pl.DataType, kind: str) -> bool:
    if dtype == pl.Null:  # a column that is null in every row
        return True
    if kind == "text":
        return dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum)
    if kind == "integer":
        return dtype.is_integer()
    return dtype.is_numeric()


_CAST = {"text": pl.String, "integer": pl.Int64, "number": pl.Float64}
_EXPECTED = {
    "text": "a text (VARCHAR) column",
    "integer": "an integer (BIGINT) column",
    "number": "a numeric (DOUBLE) column",
}


def _conform(path: Path, df: pl.DataFrame, columns: dict[str, str]) -> list[pl.Expr]:
    """Cast expressions for ``columns`` (in that order); ConfigError for the first
    missing or mistyped one."""
    out = []
    for name, kind in columns.items():
        if name not in df.columns:
            raise ConfigError(str(path), "", f"no column {name!r}: expected {_EXPECTED[kind]}")
        if not _kind_ok(df.schema[name], kind):
            raise ConfigError(
                str(path), "", f"column {name!r} is {df.schema[name]}: expected {_EXPECTED[kind]}"
            )
        expr = pl.col(name).cast(_CAST[kind])
        out.append(expr.fill_nan(None) if kind == "number" else expr)
    return out


def _no_nulls(path: Path, df: pl.DataFrame, names: tuple[str, ...] | list[str]) -> None:
    for name in names:
        if df[name].null_count():
            raise ConfigError(
                str(path), "", f"column {name!r} has nulls: expected a value in every row"
            )


def _check_trials(path: Path, raw: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    exprs = _conform(path, raw, TRIAL_COLUMNS)
    params = sorted(c[len(PARAM_PREFIX) :] for c in raw.columns if c.startswith(PARAM_PREFIX))
    trials = raw.select(*exprs, *(pl.col(PARAM_PREFIX + p) for p in params))
    if trials.height == 0:
        raise ConfigError(str(path), "", "no rows: expected one row per trial of the sweep")
    _no_nulls(path, trials, TRIAL_REQUIRED)
    unknown = sorted(set(trials["status"]) - set(STATUSES))
    if unknown:
        raise ConfigError(
            str(path), "", f"status {unknown[0]!r}: expected one of {', '.join(STATUSES)}"
        )
    for key in ("trial_id", "index"):
        dup = trials[key].filter(trials[key].is_duplicated())
        if dup.len():
            raise ConfigError(str(path), "", f"{key} {dup.min()!r} appears twice: expected unique")
    return trials.sort("index"), params


def _check_cycles(path: Path, raw: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    metrics = [c for c in raw.columns if c not in CYCLE_KEYS]
    exprs = _conform(path, raw, {**CYCLE_KEYS, **dict.fromkeys(metrics, "number")})
    cycles = raw.select(exprs)
    _no_nulls(path, cycles, list(CYCLE_KEYS))
    dup = cycles.filter(pl.struct("trial_id", "cycle").is_duplicated())
    if dup.height:
        first = dup.sort("trial_id", "cycle").row(0, named=True)
        raise ConfigError(
            str(path),
            "",
            f"trial {first['trial_id']!r} night {first['cycle']} appears twice: "
            "expected one row per trial and night",
        )
    return cycles.sort("trial_id", "cycle"), metrics


def _empty_cycles() -> pl.DataFrame:
    return pl.DataFrame(schema={k: _CAST[v] for k, v in CYCLE_KEYS.items()})


def _sweep_json(out: Path) -> dict[str, Any]:
    path = out / MANIFEST_FILE
    if not path.exists():
        return {}
    try:
        found = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ConfigError(str(path), "", f"not readable JSON: {_first_line(e)}") from e
    if not isinstance(found, dict):
        raise ConfigError(str(path), "", "expected a JSON object")
    return found


def read_sweep(out: Path) -> SweepTables:
    """The checked tables of the sweep folder ``out`` (see the module docstring). The
    name is ``sweep.json``'s ``name``, else the folder's name."""
    if not out.is_dir():
        what = "is not a directory" if out.exists() else "does not exist"
        raise NotFoundError(f"sweep folder {out} {what}: expected the OUT folder of a sweep")
    tpath, cpath = out / TRIALS_FILE, out / CYCLES_FILE
    if not tpath.is_file():
        raise NotFoundError(
            f"no {TRIALS_FILE} in {out}: expected the table of trials a sweep writes"
        )
    trials, params = _check_trials(tpath, _read(tpath))
    if cpath.is_file():
        cycles, metrics = _check_cycles(cpath, _read(cpath))
    elif (trials["status"] == "finished").any():
        raise NotFoundError(
            f"no {CYCLES_FILE} in {out}: expected the nightly metrics of its finished trials"
        )
    else:
        cycles, metrics = _empty_cycles(), []
    meta = _sweep_json(out)
    name = meta.get("name")
    sweep_hash = meta.get("sweep_hash")
    return SweepTables(
        name=name if isinstance(name, str) and name else out.resolve().name,
        sweep_hash=sweep_hash if isinstance(sweep_hash, str) else None,
        trials=trials,
        cycles=cycles,
        params=params,
        night_metrics=metrics,
    )
