"""app.quality.summarize's novelty figures on hand-built scores: pooled over the seeds'
bars, the crash onsets caught within ONSET_BARS, and per-regime onset leads."""

from __future__ import annotations

import pytest

from janus_sim.app.novelty import NoveltyScore, Onset
from janus_sim.app.quality import ONSET_BARS, RunQuality, summarize


def _run(seed: int, novelty: NoveltyScore | None) -> RunQuality:
    return RunQuality("s", seed, nights=2, td_fell=1, consolidating=1, recall_pass=(0.5,),
                      ari_last=None, novelty=novelty)  # fmt: skip


def _score(
    novel: int, hit: int, familiar: int, false: int, *onsets: tuple[str, int | None]
) -> NoveltyScore:
    return NoveltyScore(
        scored=novel + familiar,
        novel=novel,
        flagged_novel=hit,
        familiar=familiar,
        flagged_familiar=false,
        onsets=tuple(
            Onset(r, "2025-12-02", 100, 5, None if lead is None else 100 + lead)
            for r, lead in onsets
        ),
    )


def test_novelty_figures_pool_the_bars_of_all_seeds() -> None:
    runs = [
        _run(1, _score(10, 8, 100, 1, ("crash", 0), ("stress", 4))),
        _run(2, _score(30, 6, 300, 2, ("crash", ONSET_BARS), ("stress", None))),
        _run(3, _score(20, 0, 200, 0, ("crash", ONSET_BARS + 1), ("stress", 10))),
        _run(4, _score(5, 5, 50, 0, ("stress", 1))),  # no crash on a scored day
        _run(5, None),  # projection off: not scored
    ]
    s = summarize(runs)
    assert (s["novelty_runs"], s["novel_bars"], s["familiar_bars"]) == (4, 65, 650)
    assert s["familiar_fpr"] == pytest.approx(3 / 650)  # not the mean of the seeds' rates
    assert s["novelty_precision"] == pytest.approx(19 / 22)
    assert s["novelty_recall"] == pytest.approx(19 / 65)
    # Caught: lead 0 and lead ONSET_BARS; lead ONSET_BARS + 1 is too late; seed 4 has none.
    assert s["crash_onset_seeds"] == 3
    assert s["crash_onset_share"] == pytest.approx(2 / 3)
    assert s["crash_onset_lead_by_seed"] == {1: 0, 2: ONSET_BARS, 3: ONSET_BARS + 1}
    assert s["onset_lead_median_per_regime"] == {"crash": ONSET_BARS, "stress": 4}
    assert s["onsets_flagged_per_regime"] == {"crash": (3, 3), "stress": (3, 4)}


def test_without_scores_the_novelty_figures_are_undefined() -> None:
    s = summarize([_run(1, None), _run(2, _score(0, 0, 10, 0))])
    assert s["novelty_runs"] == 1 and s["familiar_fpr"] == 0.0
    assert s["novelty_precision"] is None and s["novelty_recall"] is None
    assert s["crash_onset_seeds"] == 0 and s["crash_onset_share"] is None
    assert s["onset_lead_median_per_regime"] == {} == s["crash_onset_lead_by_seed"]
    missed = summarize([_run(1, _score(4, 0, 10, 0, ("crash", None)))])
    assert missed["crash_onset_share"] == 0.0
    assert missed["onset_lead_median_per_regime"] == {"crash": None}
