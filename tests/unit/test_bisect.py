"""The bisection's search (a property against the first bad index, with skips) and the
criteria that judge a revision's stored run."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from janus_sim.app import baseline as bl
from janus_sim.app.bisect import Criterion, Probe, search, steps_left
from janus_sim.app.compare import Tolerances
from janus_sim.app.engine import Engine
from janus_sim.app.run_inputs import ScenarioInput
from janus_sim.config import Scenario
from janus_sim.memory_store import MemoryEventStore
from tests.conftest import TINY


@st.composite
def _lines(draw: st.DrawFn) -> tuple[int, int, frozenset[int]]:
    n = draw(st.integers(2, 60))
    first_bad = draw(st.integers(1, n - 1))
    skipped = draw(st.frozensets(st.integers(1, n - 2), max_size=n)) if n > 2 else frozenset()
    return n, first_bad, skipped


@given(_lines())
def test_search_finds_the_first_bad_candidate_or_the_skipped_ones_before_it(
    case: tuple[int, int, frozenset[int]],
) -> None:
    n, first_bad, skipped = case
    tested: list[int] = []

    def test(i: int) -> Probe:
        assert 0 < i < n - 1 and i not in tested  # never an end, never twice
        tested.append(i)
        if i in skipped:
            return Probe("skip", reason="cannot run")
        return Probe("bad" if i >= first_bad else "good")

    result = search(n, test)
    assert first_bad in result.candidates
    assert result.last_good < first_bad <= result.first_bad
    assert set(result.skipped) == set(range(result.last_good + 1, result.first_bad))
    assert set(result.skipped) <= skipped
    if not skipped:
        assert result.candidates == (first_bad,)
        assert len(tested) <= steps_left(n - 2) + 1


def test_progress_counts_what_is_left() -> None:
    seen: list[tuple[int, int, int]] = []
    search(9, lambda i: Probe("bad" if i >= 3 else "good"), lambda *a: seen.append(a))
    assert seen[0] == (4, 6, 2)  # 7 untested between the ends: the middle first
    assert [s[0] for s in seen] == [4, 2, 3]
    assert (steps_left(1), steps_left(2), steps_left(3), steps_left(8)) == (0, 1, 1, 3)
    with pytest.raises(ValueError, match="a good and a bad candidate"):
        search(1, lambda i: Probe("good"))


def _run(**changes: object) -> MemoryEventStore:
    store = MemoryEventStore()
    sc = Scenario.model_validate({**TINY, **changes})
    Engine(sc, store, run_id="bisect").run()
    return store


def test_the_digest_criterion_compares_with_the_good_digest() -> None:
    a, b = _run(), _run(neocortex={"eta": 0.012})
    good = a.get_run("bisect").digest or ""
    crit = Criterion(digest=good)
    assert crit.name == "digest" and crit.judge(a, "bisect") == Probe("good", good)
    bad = crit.judge(b, "bisect")
    assert bad.verdict == "bad" and bad.reason == f"digest {bad.digest[:16]}, good {good[:16]}"


def test_the_baseline_criteria_digest_and_metrics_or_metrics_only() -> None:
    saved = bl.record(ScenarioInput(Scenario.model_validate(TINY), "", "tiny.yaml"))
    same, eta, seed = _run(), _run(neocortex={"eta": 0.012}), _run(seed=8)
    strict, metrics = Criterion(baseline=saved), Criterion(baseline=saved, metrics_only=True)
    assert (strict.name, metrics.name) == ("baseline", "baseline metrics")
    assert strict.judge(same, "bisect").verdict == "good"
    # On this tiny run a new eta default moves the scenario hash (so the digest), no metric.
    moved = strict.judge(eta, "bisect")
    assert moved == Probe(
        "bad", moved.digest, f"digest {moved.digest[:16]}, baseline {saved.digest[:16]}"
    )
    assert metrics.judge(eta, "bisect") == Probe("good", moved.digest)
    other = metrics.judge(seed, "bisect")
    assert other.verdict == "bad" and other.reason.startswith("cycles 1, 2, 3 beyond tolerance (")
    assert "digest" not in other.reason
    both = strict.judge(seed, "bisect").reason
    assert both.startswith(other.reason + "; digest ") and f", baseline {saved.digest[:16]}" in both
    assert both.endswith(f"events, baseline {saved.n_events}")
    names = {n for row in saved.cycles.values() for n in row.metrics}
    loose = Tolerances(per_metric=tuple((n, 1.0, 1e9) for n in sorted(names)))
    assert (
        Criterion(baseline=saved, metrics_only=True, tolerances=loose).judge(seed, "bisect").verdict
        == "good"
    )
