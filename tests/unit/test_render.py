"""The run summary's phase-3 lines (``cli.render.projection_lines``): the novelty score,
the anomaly responses and the crash trough lead, from hand-built events, as rich prints
them; and the summary's escaping of user text."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console

from janus_sim.app.anomaly_lead import crash_lead
from janus_sim.app.anomaly_responses import anomaly_responses, responses_of_run
from janus_sim.app.novelty import NoveltyScore, Onset, novelty_of_run
from janus_sim.app.run_outcome import RunResult
from janus_sim.cli.render import novelty_lines, projection_lines
from janus_sim.core import events as ev
from janus_sim.core.codec import encode
from janus_sim.eventlog import EventBatch
from janus_sim.memory_store import MemoryEventStore
from janus_sim.ports import RunInfo
from tests.cli_inprocess import cli
from tests.factories import MINUTE_NS, anomaly, transition
from tests.novelty_fixtures import projection_fitted

MARKUP = "[bold]x[/]"
"""A regime name that rich would read as markup (and fail on) unless escaped."""
DAY2_NS = 86_400 * 1_000_000_000


def printed(lines: list[str]) -> list[str]:
    """``lines`` as rich prints them (markup applied, no colour), one string each."""
    buf = io.StringIO()
    console = Console(file=buf, width=400, color_system=None, highlight=False)
    for line in lines:
        console.print(line)
    return buf.getvalue().splitlines()


def result(**metrics: float) -> RunResult:
    base = {"n_clusters": 2.0, "anomalies": 0.0, "ari_regime": 0.5, **metrics}
    return RunResult(
        "r",
        "",
        0,
        metrics={1: {**base, "n_clusters": 1.0}, 2: {**base, "anomalies": 5.0}},
        dates={1: "2025-12-17", 2: "2025-12-18"},
    )


def bar(tid: int, regime: str, day: int = 1) -> ev.TransitionRecorded:
    t = transition(tid, day * DAY2_NS + tid * MINUTE_NS, [0.0])
    return replace(t, cycle=day, regime=regime, price=100.0 - tid)


def flag(tid: int, day: int = 1) -> ev.AnomalyFlagged:
    return anomaly(tid, day * DAY2_NS + tid * MINUTE_NS, day)


def day(cycle: int, date: str) -> ev.DayOpened:
    return ev.DayOpened(cycle, cycle * DAY2_NS, "day", date, 10, 100.0, ("calm",))


def fit(cycle: int) -> ev.ProjectionFitted:
    return projection_fitted(cycle, cycle * DAY2_NS + 50 * MINUTE_NS)


def raised(tid: int, day: int = 2) -> ev.RiskRaised:
    return ev.RiskRaised(day, day * DAY2_NS + tid * MINUTE_NS, "risk", tid, 1, 30)


def restored(raised_tid: int, end_tid: int, n_bars: int, n: int, day: int = 2) -> ev.RiskRestored:
    at = day * DAY2_NS
    return ev.RiskRestored(
        day, at + end_tid * MINUTE_NS, "risk", at + raised_tid * MINUTE_NS, n_bars, n
    )


def alerted(first: int, last: int, day: int = 2) -> ev.OperatorAlerted:
    return ev.OperatorAlerted(day, day * DAY2_NS + last * MINUTE_NS, "operator", 3, 30, first, last)


def two_days(responses: list[ev.Event]) -> list[ev.Event]:
    """Day 1 calm (mapped that night); day 2: calm, then crash from transition 12 (first
    flagged at 14), then ``MARKUP`` from 16 (never flagged); a flag on calm bar 11."""
    day1 = [day(1, "2025-12-17"), *(bar(i, "calm") for i in range(10)), fit(1)]
    regimes = ["calm"] * 2 + ["crash"] * 4 + [MARKUP] * 2
    day2: list[ev.Event] = [day(2, "2025-12-18")]
    for i, regime in enumerate(regimes, start=10):
        day2.append(bar(i, regime, 2))
        if i in (11, 14, 15):
            day2.append(flag(i, 2))
    return [*day1, *day2, *responses]


def stored(events: list[ev.Event]) -> MemoryEventStore:
    store = MemoryEventStore()
    store.create_run(RunInfo("r", "test", "", "", "", 0, "test"))
    store.append(EventBatch.from_records("r", 0, [encode(e) for e in events]))
    return store


def summary(events: list[ev.Event], *, labelled: bool = True) -> list[str]:
    """The summary lines as ``janus-sim run`` gathers and prints them."""
    store = stored(events)
    novelty, responses = novelty_of_run(store, "r"), responses_of_run(store, "r")
    lines = projection_lines(result(), crash_lead(events), novelty, responses, labelled=labelled)
    return printed(lines)


def test_the_headline_is_the_novelty_score_with_each_onset() -> None:
    out = summary(two_days([]))
    assert out[0] == "map     clusters per cycle 1 2; anomalies flagged per day 0 5"
    assert out[1] == (
        "novelty precision 66.7% (2 of 3 flags novel), recall 33.3% (2 of 6 novel bars "
        "flagged), familiar FPR 50.0% (1 of 2 familiar bars flagged)"
    )
    assert out[2] == "        crash: flagged 2 bars after onset (2025-12-18, 4 novel bars)"
    assert out[3] == f"        {MARKUP}: never flagged (2025-12-18, 2 novel bars)"


def test_the_trough_lead_stays_as_a_secondary_line() -> None:
    out = summary(two_days([]))
    assert out[5].startswith("crash   trough at 1970-01-03T00:17:00 (transition 17, price 83.00")
    assert out[6].startswith(
        "        first anomaly 6 bars before the trough (1970-01-03T00:11:00, transition 11); "
        "3 flagged up to the trough"
    )
    assert len(out) == 7


def test_the_anomaly_responses_line() -> None:
    responses: list[ev.Event] = [
        raised(11),
        restored(11, 13, 2, 1),
        alerted(11, 15),
        raised(14),
        restored(14, 17, 3, 2),
        alerted(16, 17),
    ]
    out = summary(two_days(responses))
    assert out[4] == (
        "respond 2 risk spans (5 bars under raised risk); 2 operator alerts, first at "
        "1970-01-03T00:15:00 (3 anomalies within 30 bars, transitions 11-15)"
    )


def test_no_response_and_a_span_still_open() -> None:
    assert summary(two_days([]))[4] == "respond risk never raised; no operator alert"
    out = summary(two_days([raised(14)]))
    assert out[4] == (
        "respond 1 risk span (0 bars under raised risk, 1 still raised); no operator alert"
    )


def test_an_unlabelled_run_says_the_score_needs_labelled_regimes() -> None:
    out = printed(projection_lines(result(), None, None, anomaly_responses([]), labelled=False))
    assert out[1] == (
        "novelty not scored: the score needs labelled regimes (these are real bars, which "
        "carry none)"
    )
    assert out[2] == "respond risk never raised; no operator alert"
    assert len(out) == 3


def test_a_run_without_a_scored_day_or_novel_regime() -> None:
    one_day = [day(1, "2025-12-17"), *(bar(i, "calm") for i in range(10)), fit(1)]
    out = summary(one_day)
    assert out[1] == (
        "novelty not scored: no trading day opened with last night's map (the monitor is "
        "live from the second day on)"
    )
    familiar = [*one_day, day(2, "2025-12-18"), bar(10, "calm", 2)]
    out = summary(familiar)
    assert out[1] == (
        "novelty precision - (nothing flagged), recall - (no novel bar), familiar FPR 0.0% "
        "(0 of 1 familiar bars flagged)"
    )
    assert out[2] == "        no novel regime appeared on a scored day"


def test_onset_wording() -> None:
    onsets = tuple(
        Onset(f"r{lead}", "2025-12-18", 10, 1, None if lead is None else 10 + lead)
        for lead in (0, 1, None)
    )
    score = NoveltyScore(10, 3, 2, 7, 0, onsets)
    out = printed(novelty_lines(score))
    assert out[1:] == [
        "        r0: flagged at onset (2025-12-18, 1 novel bar)",
        "        r1: flagged 1 bar after onset (2025-12-18, 1 novel bar)",
        "        rNone: never flagged (2025-12-18, 1 novel bar)",
    ]


def test_no_phase3_metrics_no_lines() -> None:
    bare = RunResult("r", "", 0, metrics={1: {"sat_agg": 1.0}}, dates={1: "2025-12-17"})
    assert projection_lines(bare, None, None, anomaly_responses([])) == []


def test_the_run_summary_escapes_the_run_id(
    capsys: pytest.CaptureFixture[str], tiny_file: Path, tmp_path: Path
) -> None:
    # A run id cannot hold markup any more (config.names); a store path still can.
    store = tmp_path / "s[bold]mine[/]"
    code, out, err = cli(capsys, "run", tiny_file, "--store", store, "--quiet")
    assert code == 0, err
    assert f"store  {store}" in out and f"--store {store} --run tiny-s7 --kind" in out


@pytest.mark.slow
def test_a_real_run_prints_the_novelty_and_response_lines(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The lines as ``janus-sim run`` gathers them from a run with phase 3 on (TINY's
    half-crash day: crash is novel on day 2)."""
    import yaml

    from tests.unit.test_map_phase import projection_scenario

    path = tmp_path / "proj.yaml"
    path.write_text(yaml.safe_dump(projection_scenario().model_dump(mode="json")))
    code, out, err = cli(capsys, "run", path, "--store", tmp_path / "s", "--quiet", "--no-qdrant")
    assert code == 0, err
    lines = out.splitlines()
    novelty = next(i for i, ln in enumerate(lines) if ln.startswith("novelty "))
    assert lines[novelty].startswith("novelty precision ") and "familiar FPR" in lines[novelty]
    assert lines[novelty + 1].startswith("        crash: ")
    assert "onset" in lines[novelty + 1] or "never flagged" in lines[novelty + 1]
    assert any(ln.startswith("respond ") for ln in lines)
    assert "bars before the trough" in out or "no anomaly was flagged before the trough" in out
