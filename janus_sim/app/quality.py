"""Does the memory work? A finished run's quality figures against its ground truth.

One function per run (``run_quality``), read back from the log like every other view,
and one summary over many seeds (``summarize``). The quality benchmark
(``benchmarks/bench_quality.py``) and the slow quality test use these; the figures are the
nightly metrics the run itself logged, so ``run``'s table and the sweep tables show the
same numbers:

* **TD fell**: nights whose buffer-wide mean |TD| after phase 1 is below the one before
  (``mean_abs_td_after < mean_abs_td_before``);
* **consolidating**: nights whose phase 2 consolidated at least one transition;
* **recall pass rate**: ``recall_pass_rate`` of each night from night 2 on (night 1 has no
  earlier memory to be familiar with);
* **ARI**: ``ari_regime`` of the last night (maximum-likelihood schema of every buffered
  transition against its true regime, ``core/regime_ari.py``; synthetic markets only);
* **schemas per regime**: live schemas at the end, each counted under the regime most of
  its points came from;
* **anomalies per regime**: flagged transitions by their true regime, beside the number of
  bars of that regime (so a rate can be read);
* **novelty** (``app.novelty``): how well the anomaly monitor flags what is new to the
  memory (a bar whose true regime was absent from the buffer at its day's open), from
  day 2 on. ``summarize`` pools the bars of all seeds: the *familiar-bar false-positive
  rate*, the *precision* (flags on novel bars / flags) and the *recall* (novel bars
  flagged / novel bars); the share of seeds whose ``crash`` onset was flagged within
  ``ONSET_BARS`` awake steps of its first bar (of the seeds where a crash was novel on a
  scored day); and per regime the median onset lead of the onsets that were flagged,
  beside how many were. These replace the first-anomaly-before-the-trough lead
  (``app.anomaly_lead``) as the monitor's figures.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from dataclasses import dataclass, field

from janus_sim.app.anomaly_lead import CRASH_REGIME
from janus_sim.app.novelty import NoveltyScore, novelty_of_run
from janus_sim.app.timetravel import Moment, state_at
from janus_sim.config import Scenario
from janus_sim.ports import EventQuery, EventStore

ONSET_BARS = 30
"""A novel regime's onset is caught when its first flag comes at most this many awake
steps after its first bar (onset lead <= ``ONSET_BARS``)."""
FAMILIAR_FPR_MAX = 0.01
"""Bound: the pooled false-positive rate on familiar bars."""
CRASH_ONSET_SHARE_MIN = 0.9
"""Bound: the share of seeds whose crash onset is caught within ``ONSET_BARS``."""
NOVELTY_PRECISION_MIN = 0.5
"""Bound: the pooled precision of the flags (flags on novel bars / flags)."""


@dataclass(frozen=True)
class RunQuality:
    scenario: str
    seed: int
    nights: int
    td_fell: int
    consolidating: int
    recall_pass: tuple[float, ...]
    """From night 2 on."""
    ari_last: float | None
    schemas_per_regime: dict[str, int] = field(default_factory=dict)
    anomalies_per_regime: dict[str, int] = field(default_factory=dict)
    bars_per_regime: dict[str, int] = field(default_factory=dict)
    novelty: NoveltyScore | None = None
    """``app.novelty``'s score (None: projection off, a single day, or unlabelled bars)."""


def _payloads(store: EventStore, run_id: str, kind: str) -> list[dict[str, object]]:
    batch = store.read(run_id, EventQuery(kinds=[kind]))
    return [json.loads(p) for p in batch.payload]


def run_quality(store: EventStore, run_id: str) -> RunQuality:
    """The quality figures of one finished run (see the module doc)."""
    info = store.get_run(run_id)
    nights = [dict(p["metrics"]) for p in _payloads(store, run_id, "cycle_metrics")]  # type: ignore[call-overload]
    td_fell = sum(
        1
        for m in nights
        if "mean_abs_td_after" in m and m["mean_abs_td_after"] < m["mean_abs_td_before"]
    )
    consolidating = sum(1 for m in nights if m.get("consolidated", 0.0) > 0)
    recall = tuple(float(m["recall_pass_rate"]) for m in nights[1:] if "recall_pass_rate" in m)
    ari = nights[-1].get("ari_regime") if nights else None
    state, _ = state_at(store, run_id, Moment())
    dominant: Counter[str] = Counter()
    for sid in state.schemas:
        counts = state.schema_regimes.get(sid, {})
        if counts:
            dominant[min(counts, key=lambda r: (-counts[r], r))] += 1
    regime_of: dict[int, str] = {}
    bars: Counter[str] = Counter()
    for p in _payloads(store, run_id, "transition_recorded"):
        regime = str(p["regime"])
        regime_of[int(p["transition_id"])] = regime  # type: ignore[call-overload]
        bars[regime] += 1
    flagged = Counter(
        regime_of.get(int(p["transition_id"]), "?")  # type: ignore[call-overload]
        for p in _payloads(store, run_id, "anomaly_flagged")
    )
    return RunQuality(
        scenario=info.scenario_name,
        seed=info.seed,
        nights=len(nights),
        td_fell=td_fell,
        consolidating=consolidating,
        recall_pass=recall,
        ari_last=None if ari is None else float(ari),
        schemas_per_regime=dict(sorted(dominant.items())),
        anomalies_per_regime=dict(sorted(flagged.items())),
        bars_per_regime=dict(sorted(bars.items())),
        novelty=novelty_of_run(store, run_id),
    )


def _quartiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) == 1:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _novelty(runs: list[RunQuality]) -> dict[str, object]:
    """The pooled novelty figures of ``summarize`` (see the module docstring)."""
    scored = [(r.seed, r.novelty) for r in runs if r.novelty is not None]
    novel = sum(n.novel for _, n in scored)
    familiar = sum(n.familiar for _, n in scored)
    hits = sum(n.flagged_novel for _, n in scored)
    flags = sum(n.flagged for _, n in scored)
    crash = [(seed, o) for seed, n in scored if (o := n.onset_of(CRASH_REGIME)) is not None]
    caught = sum(1 for _, o in crash if o.lead is not None and o.lead <= ONSET_BARS)
    leads: dict[str, list[int | None]] = {}
    for _, n in scored:
        for o in n.onsets:
            leads.setdefault(o.regime, []).append(o.lead)
    medians: dict[str, float | None] = {}
    flagged: dict[str, tuple[int, int]] = {}
    for regime, values in sorted(leads.items()):
        seen = [v for v in values if v is not None]
        medians[regime] = float(statistics.median(seen)) if seen else None
        flagged[regime] = (len(seen), len(values))
    return {
        "novelty_runs": len(scored),
        "novel_bars": novel,
        "familiar_bars": familiar,
        "familiar_fpr": _share(sum(n.flagged_familiar for _, n in scored), familiar),
        "novelty_precision": _share(hits, flags),
        "novelty_recall": _share(hits, novel),
        "crash_onset_seeds": len(crash),
        "crash_onset_share": _share(caught, len(crash)),
        "crash_onset_lead_by_seed": {seed: o.lead for seed, o in crash},
        "onset_lead_median_per_regime": medians,
        "onsets_flagged_per_regime": flagged,
    }


def summarize(runs: list[RunQuality]) -> dict[str, object]:
    """The figures of many runs of one scenario: shares over all nights, the median and
    interquartile range of the last night's ARI, per-regime medians, and the novelty
    figures pooled over the runs (``None`` where nothing was there to count)."""
    if not runs:
        raise ValueError("no runs to summarize")
    nights = sum(r.nights for r in runs)
    recall = [v for r in runs for v in r.recall_pass]
    aris = [r.ari_last for r in runs if r.ari_last is not None]
    regimes = sorted({k for r in runs for k in (*r.bars_per_regime, *r.schemas_per_regime)})
    out: dict[str, object] = {
        "scenario": runs[0].scenario,
        "seeds": [r.seed for r in runs],
        "nights": nights,
        "td_fell_share": sum(r.td_fell for r in runs) / nights if nights else None,
        "consolidating_share": sum(r.consolidating for r in runs) / nights if nights else None,
        "recall_pass_median": statistics.median(recall) if recall else None,
        "recall_pass_min": min(recall) if recall else None,
        "recall_pass_max": max(recall) if recall else None,
    }
    if aris:
        q1, q2, q3 = _quartiles(aris)
        out.update({"ari_median": q2, "ari_q1": q1, "ari_q3": q3, "ari_min": min(aris)})
    out["schemas_per_regime_median"] = {
        k: statistics.median([r.schemas_per_regime.get(k, 0) for r in runs]) for k in regimes
    }
    out["anomaly_rate_per_regime"] = {
        k: sum(r.anomalies_per_regime.get(k, 0) for r in runs)
        / max(1, sum(r.bars_per_regime.get(k, 0) for r in runs))
        for k in regimes
    }
    out.update(_novelty(runs))
    return out


def measure(job: tuple[Scenario, int]) -> RunQuality:
    """Run scenario ``job[0]`` (synthetic: no bars) under seed ``job[1]`` in memory and
    measure it (a picklable unit of work for a process pool: the quality benchmark's)."""
    from janus_sim.app.engine import Engine
    from janus_sim.memory_store import MemoryEventStore

    sc, seed = job
    store = MemoryEventStore()
    Engine(sc.with_seed(seed), store, run_id="q").run()
    return run_quality(store, "q")
