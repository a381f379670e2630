"""The contract between a sweep's writer and its readers: file names and column names.

``sweep_results`` writes the tables, ``adapters.sweep_folder`` places them, and
``sweep_tables`` (the report's reader) checks them; all three take their names from here.
"""

from __future__ import annotations

TRIALS_FILE = "trials.parquet"
CYCLES_FILE = "cycles.parquet"
MANIFEST_FILE = "sweep.json"
PARAM_PREFIX = "param:"
"""A swept field's column in the trials table: ``param:replay.alpha``."""
SUMMARY_COLUMNS = (
    "ari_regime_final",
    "ari_regime_mean",
    "novelty_precision",
    "novelty_recall",
    "familiar_fpr",
    "crash_onset_lead_bars",
    "crash_onset_flagged",
    "td_improvement_mean",
    "n_schemas_final",
    "schemas_created_total",
    "anomalies_total",
    "n_clusters_final",
    "anomaly_lead_bars",
)
"""A trial's quality figures (``sweep_trial.summarize``), in the trials table's order. The
anomaly monitor's headline figures are the novelty ones (``app.novelty``); the trough
lead ``anomaly_lead_bars`` (``app.anomaly_lead``) is kept last, as a secondary figure."""
