"""app.novelty on hand-built runs (``tests.novelty_fixtures``): which bars are scored,
which are novel, the precision / recall / familiar-FPR arithmetic and the onset leads."""

from __future__ import annotations

import copy

import pytest

from janus_sim.app.engine import Engine
from janus_sim.app.novelty import NoveltyScore, Onset, novelty_of_run, novelty_score
from janus_sim.config import Scenario
from janus_sim.core import events as ev
from janus_sim.core.codec import decode, encode
from janus_sim.eventlog import EventBatch
from janus_sim.memory_store import MemoryEventStore
from janus_sim.ports import RunInfo
from tests.conftest import TINY
from tests.novelty_fixtures import date_of, days, run_events


def _score(*texts: str, capacity: int | None = None, map_from: int | None = 1) -> NoveltyScore:
    score = novelty_score(run_events(days(*texts), capacity=capacity, map_from=map_from))
    assert score is not None
    return score


def test_the_first_day_is_unscored() -> None:
    """Day 1 opens with no map: its bars and flags count for nothing, though its regimes
    fill the buffer that day 2 is judged against."""
    s = _score("cCsS", "ccss")
    assert (s.scored, s.novel, s.familiar) == (4, 0, 4)
    assert (s.flagged_novel, s.flagged_familiar) == (0, 0)
    assert s.precision is None and s.recall is None and s.familiar_fpr == 0.0
    assert s.onsets == ()
    assert novelty_score(run_events(days("cCxX"))) is None  # one day: nothing is scored


def test_precision_recall_and_familiar_fpr_by_hand() -> None:
    # Day 2, ids 4-11: c c S S s x X C. Novel: the stresses and crashes (5), 3 flagged;
    # familiar: the calms (3), 1 flagged.
    s = _score("cccc", "ccSSsxXC")
    assert (s.scored, s.novel, s.flagged_novel, s.familiar, s.flagged_familiar) == (
        8,
        5,
        3,
        3,
        1,
    )
    assert s.flagged == 4
    assert s.precision == pytest.approx(3 / 4)
    assert s.recall == pytest.approx(3 / 5)
    assert s.familiar_fpr == pytest.approx(1 / 3)
    assert s.onsets == (
        Onset("stress", date_of(1), first_id=6, n_bars=3, first_flag_id=6),
        Onset("crash", date_of(1), first_id=9, n_bars=2, first_flag_id=10),
    )
    assert [o.lead for o in s.onsets] == [0, 1]
    assert s.as_metrics() == {
        "novel_bars": 5.0,
        "novelty_precision": pytest.approx(0.75),
        "novelty_recall": pytest.approx(0.6),
        "familiar_fpr": pytest.approx(1 / 3),
        "onsets": 2.0,
        "onsets_flagged": 2.0,
        "onset_lead_max": 1.0,
    }


def test_nothing_flagged_or_nothing_novel_leaves_the_rate_undefined() -> None:
    quiet = _score("cc", "cxx")
    assert quiet.flagged == 0 and quiet.precision is None
    assert quiet.recall == 0.0 and quiet.familiar_fpr == 0.0
    assert quiet.as_metrics() == {
        "novel_bars": 2.0,
        "novelty_recall": 0.0,
        "familiar_fpr": 0.0,
        "onsets": 1.0,
        "onsets_flagged": 0.0,
    }
    familiar = _score("cx", "CxX")
    assert familiar.novel == 0 and familiar.recall is None and familiar.precision == 0.0
    all_novel = _score("cc", "XX")
    assert all_novel.familiar == 0 and all_novel.familiar_fpr is None
    assert all_novel.precision == 1.0 == all_novel.recall


def test_the_onset_lead_counts_steps_from_the_episodes_first_bar_to_its_first_flag() -> None:
    # Day 2, ids 3-10: c x x C x X x X. The crash's first bar is 4, its first flag 8: the
    # calm flag at 6 in between is not the crash's.
    s = _score("ccc", "cxxCxXxX")
    (onset,) = s.onsets
    assert (onset.regime, onset.first_id, onset.n_bars, onset.first_flag_id) == (
        "crash",
        4,
        6,
        8,
    )
    assert onset.lead == 4
    assert s.onset_of("crash") == onset and s.onset_of("calm") is None
    assert s.as_metrics()["onset_lead_max"] == 4.0


def test_an_onset_missed_on_its_day_stays_missed() -> None:
    """The episode is the regime's bars on the day it first appears: a flag the next day,
    when the regime is familiar, is a familiar flag and no lead."""
    s = _score("cc", "xxx", "xX")
    (onset,) = s.onsets
    assert onset.date == date_of(1) and onset.first_flag_id is None and onset.lead is None
    assert (s.novel, s.flagged_novel, s.familiar, s.flagged_familiar) == (3, 0, 2, 1)
    assert "onset_lead_max" not in s.as_metrics() and s.as_metrics()["onsets_flagged"] == 0.0


def test_bars_are_judged_against_the_buffer_at_the_days_open() -> None:
    # Capacity 2: day 2's stresses evict both calms before its calm bar, which is still
    # familiar (calm was buffered at the open); the stresses stay novel all day.
    s = _score("cc", "ssc", capacity=2)
    assert (s.novel, s.familiar) == (2, 1)
    (onset,) = s.onsets
    assert onset.regime == "stress" and onset.n_bars == 2


def test_a_regime_evicted_from_the_buffer_becomes_novel_again() -> None:
    # Capacity 3. Day 1 c c s; day 2 c c evicts both calms of day 1, not the stress: the
    # stress of day 3 is familiar. With a third calm on day 2 the stress is evicted too.
    kept = _score("ccs", "cc", "s", capacity=3)
    assert (kept.novel, kept.familiar) == (0, 3)
    gone = _score("ccs", "ccc", "S", capacity=3)
    assert (gone.novel, gone.flagged_novel, gone.familiar) == (1, 1, 3)
    assert gone.onsets == (Onset("stress", date_of(2), 6, 1, 6),)
    # A regime that comes back after eviction is novel again, but its onset is its first
    # novel appearance: calm (day 2) and stress (day 3) onset once each; day 4's calms
    # are novel bars without an onset of their own.
    back = _score("ssss", "cccC", "ssss", "CCcc", capacity=4)
    assert (back.novel, back.flagged_novel, back.familiar) == (12, 3, 0)
    assert [(o.regime, o.date, o.lead) for o in back.onsets] == [
        ("calm", date_of(1), 3),
        ("stress", date_of(2), None),
    ]


def test_only_days_that_open_with_a_map_are_scored() -> None:
    assert novelty_score(run_events(days("cc", "xX"), map_from=None)) is None  # no projection
    late = _score("cc", "sS", "xXc", map_from=2)  # night 1 fitted nothing
    assert (late.scored, late.novel, late.flagged_novel, late.familiar) == (3, 2, 1, 1)
    assert [o.regime for o in late.onsets] == ["crash"]  # stress appeared unscored


def test_unlabelled_bars_get_no_score() -> None:
    assert novelty_score(run_events(days("uu", "uU"))) is None
    assert novelty_score(run_events(days("cc", "cU"))) is None  # one is enough
    assert novelty_score([]) is None


def test_other_events_are_ignored() -> None:
    events = run_events(days("cc", "cxX", "sSc"), capacity=4)
    noise: list[ev.Event] = [
        ev.RunFinished(cycle=3, t_ns=0, entity="run", n_cycles=3, n_transitions=8),
        ev.CycleMetrics(cycle=1, t_ns=0, entity="cycle:1", date=date_of(0), metrics=()),
    ]
    mixed = [x for e in events for x in (e, *noise)]
    assert novelty_score(mixed) == novelty_score(events)


def _store_of(events: list[ev.Event]) -> MemoryEventStore:
    store = MemoryEventStore()
    store.create_run(RunInfo("r", "t", "", "", "", 0, "0"))
    store.append(EventBatch.from_records("r", 0, [encode(e) for e in events]))
    return store


def test_a_stored_run_scores_as_its_events_do() -> None:
    events = run_events(days("cc", "cxX", "sSc", "cccc"), capacity=5)
    expected = novelty_score(events)
    assert expected is not None and expected.novel > 0
    assert novelty_of_run(_store_of(events), "r") == expected


def test_a_real_run_is_scored_from_its_second_day() -> None:
    """TINY (three days of 39 steps, a crash from the middle of day 2) with the monitor
    on: the score's classification of the bars, whatever the monitor flagged."""
    doc = copy.deepcopy(TINY)
    doc["projection"] = {"enabled": True}
    store = MemoryEventStore()
    Engine(Scenario.model_validate(doc), store, run_id="r").run()
    events = [decode(r.record) for r in store.read("r").records()]
    score = novelty_of_run(store, "r")
    assert score is not None and score == novelty_score(events)
    steps = [e for e in events if isinstance(e, ev.TransitionRecorded)]
    day1 = [e for e in steps if e.cycle == 1]
    assert score.scored == len(steps) - len(day1)
    crash = [e for e in steps if e.regime == "crash"]
    assert {e.cycle for e in crash} == {2}
    assert score.novel == len(crash)  # calm filled the buffer on day 1
    onset = score.onset_of("crash")
    assert onset is not None and onset.first_id == crash[0].transition_id
    assert onset.n_bars == len(crash) and onset.date == "2025-12-18"
    flagged = {e.transition_id for e in events if isinstance(e, ev.AnomalyFlagged)}
    assert score.flagged_novel == len(flagged & {e.transition_id for e in crash})
