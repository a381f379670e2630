"""Does the memory work, across seeds? Every shipped synthetic scenario over N random seeds.

``python benchmarks/run.py quality`` runs each synthetic scenario in ``scenarios/`` (a
market with regimes, not a data file) under N seeds drawn at random for this run and
printed with the figures (never hand-picked), each run in memory in its own worker
process (two at a time), and prints per scenario (``janus_sim.app.quality``):

* ``quality_td_fell``: share of nights whose buffer mean |TD| fell in phase 1 (goal >= 0.95);
* ``quality_consolidating``: share of nights that consolidated anything;
* ``quality_recall_pass``: median nightly recall pass rate from night 2 (goal 0.2-0.9);
* ``quality_ari``: median last-night ARI(schema, true regime), with its IQR (goal >= 0.8);
* ``quality_schemas_per_regime`` and ``quality_anomaly_rate``: per regime;
* the anomaly monitor against the truth (``janus_sim.app.novelty``: a bar is novel when its
  true regime was absent from the buffer at its day's open), pooled over the seeds' bars:
  ``quality_familiar_fpr``, flagged familiar bars / familiar bars (bound <= 0.01);
  ``quality_novelty_precision``, flags on novel bars / flags (bound >= 0.5);
  ``quality_novelty_recall``, novel bars flagged / novel bars; ``quality_crash_onset``,
  the share of seeds whose crash onset was flagged at most ``ONSET_BARS`` (30) awake steps
  after its first bar, of the seeds where the crash was novel on a scored day (bound
  >= 0.9), with each seed's lead; ``quality_onset_lead``, per regime the median onset
  lead of the flagged onsets, with (flagged, onsets).

Environment: ``JANUS_QUALITY_N`` (seeds per scenario; default 16, 2 with ``--quick``),
``JANUS_QUALITY_SEEDS`` (a comma list, to repeat a printed run exactly).
"""

from __future__ import annotations

import os
import random
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _synthetic() -> list[Path]:
    out = []
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        if isinstance(doc, dict) and "data" not in (doc.get("market") or {}):
            out.append(path)
    return out


def random_seeds(n_default: int) -> list[int]:
    """``JANUS_QUALITY_SEEDS`` (a comma list) if given, else ``JANUS_QUALITY_N`` (default
    ``n_default``) seeds drawn from the OS for this run: never hand-picked."""
    given = os.environ.get("JANUS_QUALITY_SEEDS", "").strip()
    if given:
        return [int(s) for s in given.split(",") if s.strip()]
    n = int(os.environ.get("JANUS_QUALITY_N", str(n_default)))
    draw = random.SystemRandom()
    return [draw.randrange(2**31) for _ in range(n)]


def run(quick: bool = False) -> list[dict[str, Any]]:
    from janus_sim.app.quality import (
        CRASH_ONSET_SHARE_MIN,
        FAMILIAR_FPR_MAX,
        NOVELTY_PRECISION_MIN,
        ONSET_BARS,
        measure,
        summarize,
    )
    from janus_sim.wiring import load_scenario

    seeds = random_seeds(2 if quick else 16)
    jobs = [(load_scenario(p).scenario, s) for p in _synthetic() for s in seeds]
    with ProcessPoolExecutor(max_workers=2, mp_context=get_context("spawn")) as pool:
        results = list(pool.map(measure, jobs))
    out: list[dict[str, Any]] = []
    by_scenario: dict[str, list[Any]] = {}
    for r in results:
        by_scenario.setdefault(r.scenario, []).append(r)
    for name, runs in by_scenario.items():
        s = summarize(runs)
        common = {"scenario": name, "seeds": s["seeds"], "nights": s["nights"]}
        out += [
            {
                "name": "quality_td_fell",
                "value": s["td_fell_share"],
                "unit": "share",
                "anchor": 0.95,
                **common,
            },
            {
                "name": "quality_consolidating",
                "value": s["consolidating_share"],
                "unit": "share",
                **common,
            },
            {
                "name": "quality_recall_pass",
                "value": s["recall_pass_median"],
                "unit": "share",
                "min": s["recall_pass_min"],
                "max": s["recall_pass_max"],
                "anchor": "0.2-0.9",
                **common,
            },
            {
                "name": "quality_ari",
                "value": s.get("ari_median"),
                "unit": "ARI",
                "q1": s.get("ari_q1"),
                "q3": s.get("ari_q3"),
                "min": s.get("ari_min"),
                "anchor": 0.8,
                **common,
            },
            {
                "name": "quality_schemas_per_regime",
                "value": s["schemas_per_regime_median"],
                "unit": "schemas (median)",
                **common,
            },
            {
                "name": "quality_anomaly_rate",
                "value": s["anomaly_rate_per_regime"],
                "unit": "flagged / bars",
                **common,
            },
            {
                "name": "quality_familiar_fpr",
                "value": s["familiar_fpr"],
                "unit": "flagged / familiar bars",
                "anchor": f"<= {FAMILIAR_FPR_MAX}",
                "familiar_bars": s["familiar_bars"],
                **common,
            },
            {
                "name": "quality_novelty_precision",
                "value": s["novelty_precision"],
                "unit": "flags on novel bars / flags",
                "anchor": f">= {NOVELTY_PRECISION_MIN}",
                **common,
            },
            {
                "name": "quality_novelty_recall",
                "value": s["novelty_recall"],
                "unit": "novel bars flagged / novel bars",
                "novel_bars": s["novel_bars"],
                **common,
            },
            {
                "name": "quality_crash_onset",
                "value": s["crash_onset_share"],
                "unit": f"share of seeds flagged within {ONSET_BARS} bars",
                "anchor": f">= {CRASH_ONSET_SHARE_MIN}",
                "seeds_with_onset": s["crash_onset_seeds"],
                "lead_by_seed": s["crash_onset_lead_by_seed"],
                **common,
            },
            {
                "name": "quality_onset_lead",
                "value": s["onset_lead_median_per_regime"],
                "unit": "bars (median of flagged onsets)",
                "flagged_of_onsets": s["onsets_flagged_per_regime"],
                **common,
            },
        ]
    return out
