"""Properties of app.novelty's score on random scripted runs (``tests.novelty_fixtures``):
it agrees with a recount over a plain list buffer, its rates are shares, one more flag
moves the figures the way it must, flags the score cannot see change nothing, and a
larger buffer never makes more bars novel."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from janus_sim.app.novelty import NoveltyScore, novelty_score
from tests.novelty_fixtures import Bar, BarTruth, run_events, truth

REGIMES = ("calm", "stress", "crash")


@dataclass(frozen=True)
class Run:
    script: list[list[Bar]]
    capacity: int | None
    map_from: int | None

    def score(self) -> NoveltyScore | None:
        return novelty_score(
            run_events(self.script, capacity=self.capacity, map_from=self.map_from)
        )

    def truth(self) -> list[BarTruth]:
        return truth(self.script, capacity=self.capacity, map_from=self.map_from)

    def with_flag(self, tid: int) -> Run:
        """The same run with bar ``tid`` flagged."""
        script, n = [], 0
        for bars in self.script:
            script.append([(r, f or n + i == tid) for i, (r, f) in enumerate(bars)])
            n += len(bars)
        return Run(script, self.capacity, self.map_from)


bars = st.lists(st.tuples(st.sampled_from(REGIMES), st.booleans()), max_size=8)
runs = st.builds(
    Run,
    script=st.lists(bars, min_size=1, max_size=6),
    capacity=st.one_of(st.none(), st.integers(1, 16)),
    map_from=st.one_of(st.none(), st.integers(1, 3)),
)
SETTINGS = settings(max_examples=300, deadline=None)


def _rates(s: NoveltyScore) -> list[float | None]:
    return [s.precision, s.recall, s.familiar_fpr]


@SETTINGS
@given(runs)
def test_the_score_is_a_recount_over_the_buffer_at_each_days_open(run: Run) -> None:
    bars = [b for b in run.truth() if b.scored]
    s = run.score()
    if not bars:
        assert s is None
        return
    assert s is not None
    novel = [b for b in bars if b.novel]
    familiar = [b for b in bars if not b.novel]
    assert s.scored == len(bars)
    assert (s.novel, s.flagged_novel) == (len(novel), sum(b.flagged for b in novel))
    assert (s.familiar, s.flagged_familiar) == (len(familiar), sum(b.flagged for b in familiar))
    # One onset per regime that is ever novel, on the first day it is, from its first bar.
    first: dict[str, BarTruth] = {}
    for b in novel:
        first.setdefault(b.regime, b)
    assert [o.regime for o in s.onsets] == list(first)
    for o in s.onsets:
        episode = [b for b in novel if (b.regime, b.day) == (o.regime, first[o.regime].day)]
        assert o.first_id == episode[0].tid and o.n_bars == len(episode)
        hits = [b.tid for b in episode if b.flagged]
        assert o.first_flag_id == (hits[0] if hits else None)


@SETTINGS
@given(runs)
def test_rates_are_shares_and_leads_are_steps_forward(run: Run) -> None:
    s = run.score()
    if s is None:
        return
    for rate in _rates(s):
        assert rate is None or 0.0 <= rate <= 1.0
    assert s.novel + s.familiar == s.scored
    assert 0 <= s.flagged_novel <= s.novel and 0 <= s.flagged_familiar <= s.familiar
    for o in s.onsets:
        assert 1 <= o.n_bars <= s.novel
        assert o.lead is None or 0 <= o.lead < s.scored


def _unflagged(run: Run, *, novel: bool) -> list[int]:
    return [b.tid for b in run.truth() if b.scored and b.novel == novel and not b.flagged]


@SETTINGS
@given(runs, st.data())
def test_a_flag_on_a_familiar_bar_raises_the_fpr_and_leaves_recall_alone(
    run: Run, data: st.DataObject
) -> None:
    candidates = _unflagged(run, novel=False)
    if not candidates:
        return
    before, after = run.score(), run.with_flag(data.draw(st.sampled_from(candidates))).score()
    assert before is not None and after is not None
    assert before.familiar_fpr is not None and after.familiar_fpr is not None
    assert after.familiar_fpr > before.familiar_fpr
    assert after.recall == before.recall and after.onsets == before.onsets
    assert after.precision is not None
    assert before.precision is None or after.precision <= before.precision


@SETTINGS
@given(runs, st.data())
def test_a_flag_on_a_novel_bar_never_lowers_recall_or_precision(
    run: Run, data: st.DataObject
) -> None:
    candidates = _unflagged(run, novel=True)
    if not candidates:
        return
    before, after = run.score(), run.with_flag(data.draw(st.sampled_from(candidates))).score()
    assert before is not None and after is not None
    assert before.recall is not None and after.recall is not None
    assert after.recall > before.recall
    assert after.precision is not None
    assert before.precision is None or after.precision >= before.precision
    assert after.familiar_fpr == before.familiar_fpr
    # Each onset's lead shortens or stays (a first flag where there was none counts).
    assert [o.first_id for o in after.onsets] == [o.first_id for o in before.onsets]
    for b, a in zip(before.onsets, after.onsets, strict=True):
        assert b.lead is None or (a.lead is not None and a.lead <= b.lead)


@SETTINGS
@given(runs, st.data())
def test_flags_on_unscored_bars_change_nothing(run: Run, data: st.DataObject) -> None:
    candidates = [b.tid for b in run.truth() if not b.scored and not b.flagged]
    if not candidates:
        return
    assert run.with_flag(data.draw(st.sampled_from(candidates))).score() == run.score()


@SETTINGS
@given(runs, st.integers(1, 8))
def test_a_larger_buffer_never_makes_more_bars_novel(run: Run, more: int) -> None:
    """A FIFO buffer of capacity k holds the last k transitions, a subset of what a larger
    one holds: at each day's open it knows no regime the larger one does not."""
    if run.capacity is None:
        return
    small, large = run.score(), Run(run.script, run.capacity + more, run.map_from).score()
    unbounded = Run(run.script, None, run.map_from).score()
    if small is None:
        assert large is None and unbounded is None
        return
    assert large is not None and unbounded is not None
    assert small.novel >= large.novel >= unbounded.novel
    assert small.flagged_novel >= large.flagged_novel >= unbounded.flagged_novel
    assert small.scored == large.scored == unbounded.scored
