"""Synthetic sweep folders for the sweep report's tests, written to the table contract
(``trials.parquet``, ``cycles.parquet``, ``sweep.json``) without running any trial.

``trial(...)`` is one trials row with every contract column; ``write_sweep`` writes the
tables with the contract's types; ``standard_sweep`` is a small mixed sweep: two
scenarios (``crash_week`` with projection, ``calm_month`` without: no ARI, no novelty
figures, no leads) x two ``replay.alpha`` settings x three seeds, one failed and one
pending trial.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

QUALITY = (
    "ari_regime_final", "ari_regime_mean", "novelty_precision", "novelty_recall",
    "familiar_fpr", "crash_onset_lead_bars", "crash_onset_flagged", "td_improvement_mean",
    "n_schemas_final", "schemas_created_total", "anomalies_total", "n_clusters_final",
    "anomaly_lead_bars",
)  # fmt: skip
TRIAL_SCHEMA: dict[str, Any] = {
    "trial_id": pl.String, "index": pl.Int64, "scenario": pl.String,
    "scenario_name": pl.String, "seed": pl.Int64, "setting": pl.String, "params": pl.String,
    "param:replay.alpha": pl.Float64, "status": pl.String, "attempts": pl.Int64,
    "digest": pl.String, "n_events": pl.Int64, "elapsed_s": pl.Float64, "error": pl.String,
    "shard": pl.String, **dict.fromkeys(QUALITY, pl.Float64),
}  # fmt: skip
CYCLE_KEYS: dict[str, Any] = {
    "trial_id": pl.String, "scenario_name": pl.String, "seed": pl.Int64,
    "setting": pl.String, "cycle": pl.Int64, "date": pl.String,
}  # fmt: skip
NIGHTLY = ("transitions", "day_pnl", "n_schemas", "td_improvement", "ari_regime")


def trial(
    index: int,
    scenario_name: str,
    seed: int,
    alpha: float | None,
    status: str = "finished",
    **metrics: float | None,
) -> dict[str, Any]:
    """One trials row; quality metrics default to null, a finished trial gets a digest."""
    setting = "defaults" if alpha is None else f"replay.alpha={alpha}"
    params = "{}" if alpha is None else json.dumps({"replay.alpha": alpha})
    digest = f"{index:04d}" + "ab" * 30 if status == "finished" else None
    row: dict[str, Any] = {
        "trial_id": f"{scenario_name}-s{seed}-{index:08x}",
        "index": index,
        "scenario": f"scenarios/{scenario_name}.yaml",
        "scenario_name": scenario_name,
        "seed": seed,
        "setting": setting,
        "params": params,
        "param:replay.alpha": alpha,
        "status": status,
        "attempts": 0 if status == "pending" else 1,
        "digest": digest,
        "n_events": 1000 + index if status == "finished" else None,
        "elapsed_s": 1.5 + index / 10 if status == "finished" else None,
        "error": "ValueError: boom" if status == "failed" else None,
        "shard": f"shards/{index:04d}",
    }
    row.update(dict.fromkeys(QUALITY))
    row.update(metrics)
    return row


def trials_frame(rows: Sequence[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=TRIAL_SCHEMA, orient="row")


def cycles_frame(rows: Sequence[dict[str, Any]], metrics: Sequence[str] = NIGHTLY) -> pl.DataFrame:
    schema = {**CYCLE_KEYS, **dict.fromkeys(metrics, pl.Float64)}
    return pl.DataFrame([{k: r.get(k) for k in schema} for r in rows], schema=schema, orient="row")


def night(t: dict[str, Any], cycle: int, **metrics: float | None) -> dict[str, Any]:
    """One cycles row of trial row ``t``."""
    keys = {k: t[k] for k in ("trial_id", "scenario_name", "seed", "setting")}
    return {**keys, "cycle": cycle, "date": f"2025-12-{16 + cycle:02d}", **metrics}


def write_sweep(
    out: Path,
    trials: pl.DataFrame,
    cycles: pl.DataFrame | None,
    meta: dict[str, Any] | None = None,
) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    trials.write_parquet(out / "trials.parquet")
    if cycles is not None:
        cycles.write_parquet(out / "cycles.parquet")
    if meta is not None:
        (out / "sweep.json").write_text(json.dumps(meta))
    return out


def standard_rows() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(trials rows, cycles rows) of the standard sweep, in trial order."""
    trials: list[dict[str, Any]] = []
    nights: list[dict[str, Any]] = []
    index = 0
    for scenario in ("crash_week", "calm_month"):
        for alpha in (0.2, 0.6):
            for seed in (1, 2, 3):
                status = "finished"
                if (scenario, alpha, seed) == ("crash_week", 0.6, 3):
                    status = "failed"
                if (scenario, alpha, seed) == ("calm_month", 0.6, 3):
                    status = "pending"
                crash = scenario == "crash_week"
                done = status == "finished"
                m: dict[str, float | None] = {}
                if done:
                    m = {
                        "ari_regime_final": 0.3 + alpha / 2 + seed / 20 if crash else None,
                        "ari_regime_mean": 0.2 + alpha / 2 + seed / 30 if crash else None,
                        "novelty_precision": 0.5 + seed / 10 if crash else None,
                        "novelty_recall": 0.3 + alpha / 2 if crash else None,
                        "familiar_fpr": 0.001 * seed + alpha / 100 if crash else None,
                        "crash_onset_lead_bars": float(seed + 10 * alpha) if crash else None,
                        "crash_onset_flagged": 1.0 if crash else None,
                        "td_improvement_mean": 0.05 * seed + alpha / 10,
                        "n_schemas_final": float(seed + 2),
                        "schemas_created_total": float(seed + 4),
                        "anomalies_total": float(3 * seed) if crash else None,
                        "n_clusters_final": float(seed % 2 + 2) if crash else None,
                        "anomaly_lead_bars": float(10 * seed + 20 * alpha) if crash else None,
                    }
                t = trial(index, scenario, seed, alpha, status, **m)
                trials.append(t)
                index += 1
                if not done:
                    continue
                for cycle in (1, 2, 3):
                    nights.append(
                        night(
                            t,
                            cycle,
                            transitions=100.0 * cycle,
                            day_pnl=0.01 * (seed - 2),
                            n_schemas=float(cycle + seed),
                            td_improvement=0.1 * cycle + alpha / 10,
                            ari_regime=0.2 * cycle + seed / 50 if crash else None,
                        )
                    )
    return trials, nights


def standard_sweep(out: Path) -> Path:
    trials, nights = standard_rows()
    meta = {"name": "alpha_grid", "sweep_hash": "f00dcafe" * 8}
    return write_sweep(out, trials_frame(trials), cycles_frame(nights), meta)
