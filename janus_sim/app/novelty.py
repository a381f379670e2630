"""How well the anomaly monitor (eq. 32) flags what is new, against the scenario's truth.

A synthetic bar is **novel** when its true regime is absent from the episodic buffer at
the open of its day: the regime was not in what last night's sleep consolidated and
mapped, so the monitor, which reads last night's map, has never seen it. Every other bar
is **familiar**. A regime evicted from the buffer becomes novel again (one transition of
it still buffered keeps it familiar). Only bars of days that open with a map are scored
(the monitor is live from day 2 on; a day whose map cannot flag anything, with no
projector or no reference point, is still scored: its novel bars are misses); real bars
carry no regime (``UNLABELLED``) and get no score.

Per run (``novelty_score``), over the scored bars:

* **precision**: flagged novel bars / flagged bars (None when nothing was flagged);
* **recall**: flagged novel bars / novel bars (None when no bar was novel);
* **familiar false-positive rate**: flagged familiar bars / familiar bars;
* **onsets**: each *novel episode* (a novel regime's bars on the first scored day it is
  novel, from its first bar; a regime that returns after eviction is novel again but has
  no second onset) with its *lead*, the awake steps from that first bar to the episode's
  first flag (0: flagged at once; None: never flagged that day).

These replace the old "first anomaly N bars before the trough" headline, which any early
false alarm improved (``anomaly_lead`` keeps it as a secondary figure).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from janus_sim.core import events as ev
from janus_sim.core.codec import decode
from janus_sim.core.market import UNLABELLED
from janus_sim.ports import EventQuery, EventStore

KINDS = (
    "day_opened",
    "transition_recorded",
    "transition_evicted",
    "anomaly_flagged",
    "projection_fitted",
)
"""The event kinds ``novelty_score`` reads."""


@dataclass(frozen=True, slots=True)
class Onset:
    """A novel regime's first appearance on a scored day."""

    regime: str
    date: str
    first_id: int
    """The episode's first transition."""
    n_bars: int
    """Its novel bars that day."""
    first_flag_id: int | None

    @property
    def lead(self) -> int | None:
        """Awake steps from the episode's first bar to its first flag."""
        return None if self.first_flag_id is None else self.first_flag_id - self.first_id


@dataclass(frozen=True, slots=True)
class NoveltyScore:
    scored: int
    """Bars on days that opened with a map."""
    novel: int
    flagged_novel: int
    familiar: int
    flagged_familiar: int
    onsets: tuple[Onset, ...]

    @property
    def flagged(self) -> int:
        return self.flagged_novel + self.flagged_familiar

    @property
    def precision(self) -> float | None:
        return self.flagged_novel / self.flagged if self.flagged else None

    @property
    def recall(self) -> float | None:
        return self.flagged_novel / self.novel if self.novel else None

    @property
    def familiar_fpr(self) -> float | None:
        return self.flagged_familiar / self.familiar if self.familiar else None

    def onset_of(self, regime: str) -> Onset | None:
        """The first onset of ``regime`` (None: it was never novel on a scored day)."""
        return next((o for o in self.onsets if o.regime == regime), None)

    def as_metrics(self) -> dict[str, float]:
        """The flat figures for tables (absent values left out)."""
        out: dict[str, float] = {"novel_bars": float(self.novel)}
        for name, value in (
            ("novelty_precision", self.precision),
            ("novelty_recall", self.recall),
            ("familiar_fpr", self.familiar_fpr),
        ):
            if value is not None:
                out[name] = value
        leads = [o.lead for o in self.onsets if o.lead is not None]
        out["onsets"] = float(len(self.onsets))
        out["onsets_flagged"] = float(len(leads))
        if leads:
            out["onset_lead_max"] = float(max(leads))
        return out


def novelty_score(events: Iterable[ev.Event]) -> NoveltyScore | None:
    """The score of a run's events in sequence order (kinds outside ``KINDS`` are
    ignored); None for a run with unlabelled bars or without a scored day."""
    in_buffer: Counter[str] = Counter()
    regime_of: dict[int, str] = {}
    known: frozenset[str] = frozenset()
    mapped = live = False
    date = ""
    flagged: set[int] = set()
    bars: list[tuple[int, str, str, bool]] = []  # (id, regime, date, novel) of scored bars
    for e in events:
        if isinstance(e, ev.DayOpened):
            known = frozenset(r for r, n in in_buffer.items() if n > 0)
            live, date = mapped, e.date
        elif isinstance(e, ev.ProjectionFitted):
            mapped = True
        elif isinstance(e, ev.TransitionEvicted):
            in_buffer[regime_of.pop(e.transition_id)] -= 1
        elif isinstance(e, ev.TransitionRecorded):
            if e.regime == UNLABELLED:
                return None
            regime_of[e.transition_id] = e.regime
            in_buffer[e.regime] += 1
            if live:
                bars.append((e.transition_id, e.regime, date, e.regime not in known))
        elif isinstance(e, ev.AnomalyFlagged):
            flagged.add(e.transition_id)
    if not bars:
        return None
    return _score(bars, flagged)


def _score(bars: list[tuple[int, str, str, bool]], flagged: set[int]) -> NoveltyScore:
    novel = [b for b in bars if b[3]]
    familiar = [b for b in bars if not b[3]]
    episodes: dict[tuple[str, str], list[int]] = {}
    for tid, regime, date, _ in novel:
        episodes.setdefault((regime, date), []).append(tid)
    onsets = []
    seen_regimes: set[str] = set()
    for (regime, date), ids in episodes.items():
        if regime in seen_regimes:
            continue  # evicted and back: count the first appearance only
        seen_regimes.add(regime)
        hits = [t for t in ids if t in flagged]
        onsets.append(Onset(regime, date, ids[0], len(ids), hits[0] if hits else None))
    return NoveltyScore(
        scored=len(bars),
        novel=len(novel),
        flagged_novel=sum(1 for b in novel if b[0] in flagged),
        familiar=len(familiar),
        flagged_familiar=sum(1 for b in familiar if b[0] in flagged),
        onsets=tuple(onsets),
    )


def novelty_of_run(store: EventStore, run_id: str) -> NoveltyScore | None:
    """``novelty_score`` over a stored run."""
    batch = store.read(run_id, EventQuery(kinds=list(KINDS)))
    return novelty_score(decode(r.record) for r in batch.records())
