"""janus-sim sweep report: the numbers it computes from a sweep's tables, the errors it
raises for tables that break the contract, the page it renders and its command.

Tables are synthetic (``tests.sweep_fixtures``): small enough to recompute by hand.
"""

from __future__ import annotations

import html
import json
import math
import re
from pathlib import Path
from typing import Any, get_args

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from janus_sim.cli.sweep_report import report
from janus_sim.errors import ConfigError, JanusError, NotFoundError
from janus_sim.sweep.columns import SUMMARY_COLUMNS
from janus_sim.sweep.report_data import (
    NOT_FINISHED,
    QUALITY_METRICS,
    build_sweep_report,
    quantile,
    stats,
    summarize,
)
from janus_sim.sweep.report_html import render_sweep_report, section_ids
from janus_sim.sweep.report_model import STATUSES, MetricValues
from janus_sim.sweep.tables import SweepTables
from janus_sim.sweep.trial import TrialStatus
from tests.sweep_fixtures import (
    QUALITY,
    cycles_frame,
    night,
    standard_sweep,
    trial,
    trials_frame,
    write_sweep,
)

SECTION_IDS = ("distributions", "summary", "nights", "sensitivity", "failed", "trials")


def _metric(values: list[MetricValues], key: str) -> MetricValues:
    (found,) = [m for m in values if m.metric == key]
    return found


def test_the_metrics_are_the_trials_tables_quality_columns_headline_first() -> None:
    assert tuple(m[0] for m in QUALITY_METRICS) == SUMMARY_COLUMNS == QUALITY
    monitor = [c for c in SUMMARY_COLUMNS if "lead" in c or "novelty" in c or "fpr" in c]
    assert monitor == [
        "novelty_precision",
        "novelty_recall",
        "familiar_fpr",
        "crash_onset_lead_bars",
        "anomaly_lead_bars",  # the trough lead: secondary, last
    ]
    assert SUMMARY_COLUMNS[-1] == "anomaly_lead_bars"


def _section(page: str, sid: str) -> str:
    found = re.search(rf'<section id="{sid}">(.*?)</section>', page, re.S)
    assert found, f"no section {sid}"
    return found.group(1)


def _hand_rows() -> list[dict[str, Any]]:
    """Scenario A at alpha 0.2 (seeds 1-4 finished, 5 failed, 6 pending) and 0.6 (seeds
    1-2); scenario B with defaults (no projection: no ARI). Written out of index order."""
    a2 = [0.5, 0.1, 0.4, 0.2]  # ari_regime_final of seeds 1..4
    rows = [
        trial(i, "A", seed, 0.2, ari_regime_final=v, n_schemas_final=float(seed))
        for i, (seed, v) in enumerate(zip((1, 2, 3, 4), a2, strict=True))
    ]
    rows += [trial(4, "A", 5, 0.2, "failed"), trial(5, "A", 6, 0.2, "pending")]
    rows += [
        trial(6, "A", 2, 0.6, ari_regime_final=0.7),
        trial(7, "A", 1, 0.6, ari_regime_final=0.9),
    ]
    rows += [trial(8, "B", 1, None, n_schemas_final=3.0)]
    return rows[::-1]


def _hand_nights(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_index = {r["index"]: r for r in rows}
    out = [night(by_index[i], 1, n_schemas=float(i + 1)) for i in range(4)]  # 1, 2, 3, 4
    out += [night(by_index[i], 2, n_schemas=10.0 * (i + 1)) for i in range(2)]  # 10, 20
    out += [night(by_index[8], 1, n_schemas=5.0)]
    return out


@pytest.fixture
def hand(tmp_path: Path) -> Path:
    rows = _hand_rows()
    return write_sweep(tmp_path / "hand", trials_frame(rows), cycles_frame(_hand_nights(rows)))


# --- statistics ---------------------------------------------------------------------


def test_stats_by_hand() -> None:
    s = stats([0.5, 0.1, 0.4, 0.2])
    assert (s.n, s.min, s.max) == (4, 0.1, 0.5)
    assert s.mean == pytest.approx(0.3) and s.median == pytest.approx(0.3)
    assert s.q1 == pytest.approx(0.175) and s.q3 == pytest.approx(0.425)  # h = 0.75, 2.25
    assert s.sd == pytest.approx(math.sqrt(0.1 / 3))  # deviations ±0.1, ±0.2
    one = stats([2.0])
    assert one.sd is None and one.median == one.q1 == one.q3 == one.mean == 2.0
    with pytest.raises(ValueError):
        stats([])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=30),
    st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]),
)
def test_quantile_is_numpys_default(values: list[float], p: float) -> None:
    ordered = sorted(values)
    assert quantile(ordered, p) == pytest.approx(float(np.quantile(values, p)), abs=1e-6)


# --- the model ----------------------------------------------------------------------


def test_groups_counts_and_values_by_hand(hand: Path) -> None:
    r = build_sweep_report(hand)
    assert r.header.name == "hand"  # no sweep.json: the folder's name
    assert r.header.counts == [7, 1, 1] and r.header.n_trials == 9
    assert r.header.scenarios == ["A", "B"]
    assert r.header.settings == ["replay.alpha=0.2", "replay.alpha=0.6", "defaults"]
    assert r.header.seeds == [1, 2, 3, 4, 5, 6] and r.header.params == ["replay.alpha"]
    assert [t.index for t in r.trials] == list(range(9))
    assert [(g.scenario_name, g.setting) for g in r.groups] == [
        ("A", "replay.alpha=0.2"),
        ("A", "replay.alpha=0.6"),
        ("B", "defaults"),
    ]
    a2, a6, b = r.groups
    assert (a2.n_trials, a2.n_finished, a2.n_failed, a2.n_pending) == (6, 4, 1, 1)
    ari = a2.metrics[0]
    assert ari.metric == "ari_regime_final" and ari.seeds == [1, 2, 3, 4]
    assert ari.values == [0.5, 0.1, 0.4, 0.2] and ari.missing == 0
    assert ari.stats is not None and ari.stats.q1 == pytest.approx(0.175)
    assert ari.stats.median == pytest.approx(0.3) and ari.stats.q3 == pytest.approx(0.425)
    six = a6.metrics[0]
    assert six.seeds == [1, 2] and six.values == [0.9, 0.7]  # by seed, not by index
    assert six.stats is not None and six.stats.mean == pytest.approx(0.8)
    assert six.stats.sd == pytest.approx(math.sqrt(0.02))
    assert b.metrics[0].stats is None and b.metrics[0].missing == 1
    for key in ("crash_onset_lead_bars", "anomaly_lead_bars"):
        lead = _metric(a2.metrics, key)
        assert lead.values == [] and lead.missing == 4 and lead.stats is None
    info = {m.key: m for m in r.metrics}
    assert info["ari_regime_final"].n_values == 6 and info["ari_regime_final"].note is None
    why = {m[0]: m[3] for m in QUALITY_METRICS}
    assert info["anomaly_lead_bars"].note == why["anomaly_lead_bars"]
    assert "anomaly lead was not measured" in (info["anomaly_lead_bars"].note or "")
    assert info["novelty_precision"].note == why["novelty_precision"]
    assert "labelled regimes" in (info["novelty_precision"].note or "")
    assert "crash onset lead was not measured" in (info["crash_onset_lead_bars"].note or "")
    assert [t.trial_id for t in r.failed] == ["A-s5-00000004"]
    assert r.failed[0].error == "ValueError: boom" and r.note is None


def test_night_bands_by_hand(hand: Path) -> None:
    nights = build_sweep_report(hand).nights
    assert [m.metric for m in nights.metrics] == ["n_schemas"]
    assert nights.note is not None and "td_improvement, ari_regime" in nights.note
    a2, b = nights.metrics[0].bands
    assert (a2.scenario_name, a2.setting, a2.cycles, a2.n) == (
        "A",
        "replay.alpha=0.2",
        [1, 2],
        [4, 2],
    )
    assert a2.median == [2.5, 15.0] and a2.q1 == [1.75, 12.5] and a2.q3 == [3.25, 17.5]
    assert (b.scenario_name, b.cycles, b.median) == ("B", [1], [5.0])


def test_sensitivity_by_hand(hand: Path) -> None:
    s = build_sweep_report(hand).sensitivity
    assert s.note is None and len(s.params) == 1
    p = s.params[0]
    assert p.param == "replay.alpha" and p.n_distinct == 2
    assert p.x == [0.2, 0.2, 0.2, 0.2, 0.6, 0.6]  # finished trials that set it, by index
    assert p.metrics == ["ari_regime_final", "n_schemas_final"]
    assert p.y[0] == [0.5, 0.1, 0.4, 0.2, 0.7, 0.9]
    assert p.y[1] == [1.0, 2.0, 3.0, 4.0, None, None]


def test_sensitivity_skips_booleans_text_and_single_values(tmp_path: Path) -> None:
    rows = [trial(i, "A", i, 0.2, n_schemas_final=1.0) for i in range(3)]
    frame = trials_frame(rows).with_columns(
        pl.Series("param:neocortex.gate", [True, False, True]),
        pl.Series("param:replay.kind", ["a", "b", "a"]),
    )
    nights = cycles_frame([night(r, 1, n_schemas=1.0) for r in rows])
    s = build_sweep_report(write_sweep(tmp_path / "s", frame, nights)).sensitivity
    assert s.params == []
    assert s.note == (
        "no numeric swept parameter took two or more values among the finished trials "
        "(swept: neocortex.gate, replay.alpha, replay.kind)"
    )


def test_notes_when_nothing_is_measured(tmp_path: Path) -> None:
    """A sweep that has just started: no finished trial, no cycles.parquet yet."""
    rows = [trial(0, "A", 1, None, "pending"), trial(1, "A", 2, None, "failed")]
    frame = trials_frame(rows).drop("param:replay.alpha")  # no swept parameter
    r = build_sweep_report(write_sweep(tmp_path / "new", frame, None))
    assert r.note == NOT_FINISHED and all(m.note == NOT_FINISHED for m in r.metrics)
    assert r.nights.metrics == [] and r.nights.note and "no nights recorded yet" in r.nights.note
    assert r.sensitivity.note == (
        "the sweep sets no parameter (every trial ran its scenario's defaults), so there is "
        "nothing to plot against"
    )
    page = render_sweep_report(r)
    for sid in SECTION_IDS[:4]:
        assert '<p class="note">' in _section(page, sid), sid
    assert 'class="plot' not in page
    assert "no trial failed" not in _section(page, "failed")


def test_projection_disabled_says_regime_recovery_was_not_measured(tmp_path: Path) -> None:
    rows = [trial(i, "A", i, None, n_schemas_final=2.0) for i in range(2)]
    nights = cycles_frame([night(r, 1, n_schemas=2.0) for r in rows], ["n_schemas"])
    r = build_sweep_report(write_sweep(tmp_path / "p", trials_frame(rows), nights))
    note = "no finished trial had projection enabled, so regime recovery was not measured"
    assert r.metrics[0].note == note
    page = render_sweep_report(r)
    assert html.escape(note) in _section(page, "distributions")
    assert 'id="dist-ari_regime_final"' not in page and 'id="dist-n_schemas_final"' in page
    assert "no trial failed" in _section(page, "failed")


def test_sweep_json_names_the_sweep(tmp_path: Path) -> None:
    r = build_sweep_report(standard_sweep(tmp_path / "folder"))
    assert r.header.name == "alpha_grid" and r.header.sweep_hash == "f00dcafe" * 8


_group_rows = st.lists(
    st.tuples(
        st.sampled_from(["A", "B"]),
        st.sampled_from([None, 0.1, 0.5]),
        st.sampled_from(["finished", "failed", "pending"]),
        st.one_of(st.none(), st.floats(-5, 5, allow_nan=False)),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(_group_rows)
def test_property_groups_count_finished_trials_and_stats_are_ordered(
    specs: list[tuple[str, float | None, str, float | None]],
) -> None:
    rows = [
        trial(
            i,
            scenario,
            i % 4,
            alpha,
            status,
            td_improvement_mean=v if status == "finished" else None,
        )
        for i, (scenario, alpha, status, v) in enumerate(specs)
    ]
    frame = trials_frame(rows)
    tables = SweepTables("p", None, frame, cycles_frame([]), ["replay.alpha"], [])
    r = summarize(tables)
    assert sum(g.n_trials for g in r.groups) == len(rows)
    for g in r.groups:
        mine = [
            x for x in rows if (x["scenario_name"], x["setting"]) == (g.scenario_name, g.setting)
        ]
        assert g.n_finished == sum(x["status"] == "finished" for x in mine)
        td = _metric(g.metrics, "td_improvement_mean")
        assert len(td.values) + td.missing == g.n_finished
        assert td.seeds == sorted(td.seeds)
        if td.stats is not None:
            s = td.stats
            assert s.n == len(td.values)
            assert s.min <= s.q1 <= s.median <= s.q3 <= s.max
            assert s.min <= s.mean + 1e-12 and s.mean <= s.max + 1e-12
    assert summarize(tables) == r


# --- errors -------------------------------------------------------------------------


def _error(out: Path, kind: type[JanusError], *fragments: str) -> None:
    with pytest.raises(kind) as info:
        build_sweep_report(out)
    message = str(info.value)
    assert "\n" not in message
    for f in fragments:
        assert f in message, message


def test_missing_folder_and_tables(tmp_path: Path) -> None:
    _error(tmp_path / "none", NotFoundError, "sweep folder", "does not exist")
    (tmp_path / "file").write_text("x")
    _error(tmp_path / "file", NotFoundError, "is not a directory")
    (tmp_path / "empty").mkdir()
    _error(tmp_path / "empty", NotFoundError, "no trials.parquet in", "table of trials")
    standard_sweep(tmp_path / "s")
    (tmp_path / "s" / "cycles.parquet").unlink()
    _error(tmp_path / "s", NotFoundError, "no cycles.parquet in", "nightly metrics")


def test_unreadable_tables(tmp_path: Path) -> None:
    out = standard_sweep(tmp_path / "s")
    (out / "cycles.parquet").write_text("not parquet")
    _error(out, ConfigError, "cycles.parquet: not a readable Parquet file")
    (out / "trials.parquet").write_bytes(b"PAR1 nope")
    _error(out, ConfigError, "trials.parquet: not a readable Parquet file")


_ok = [trial(0, "A", 1, 0.2, n_schemas_final=1.0), trial(1, "A", 2, 0.2, n_schemas_final=2.0)]


@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        (
            lambda f: f.drop("status"),
            ["trials.parquet", "no column 'status'", "a text (VARCHAR) column"],
        ),
        (
            lambda f: f.drop("ari_regime_mean"),
            ["no column 'ari_regime_mean'", "a numeric (DOUBLE) column"],
        ),
        (
            lambda f: f.with_columns(pl.col("seed").cast(pl.String)),
            ["column 'seed' is String", "expected an integer (BIGINT) column"],
        ),
        (
            lambda f: f.with_columns(pl.col("td_improvement_mean").cast(pl.String)),
            ["column 'td_improvement_mean' is String"],
        ),
        (lambda f: f.clear(), ["trials.parquet", "no rows", "one row per trial"]),
        (
            lambda f: f.with_columns(pl.lit(None, pl.String).alias("setting")),
            ["column 'setting' has nulls", "a value in every row"],
        ),
        (
            lambda f: f.with_columns(pl.lit("running").alias("status")),
            ["status 'running'", "finished, failed, pending"],
        ),
        (lambda f: f.with_columns(pl.lit("t").alias("trial_id")), ["trial_id 't' appears twice"]),
        (lambda f: f.with_columns(pl.lit(3).alias("index")), ["index 3 appears twice"]),
    ],
)
def test_trials_that_break_the_contract(tmp_path: Path, change: Any, fragments: list[str]) -> None:
    nights = cycles_frame([night(r, 1, n_schemas=1.0) for r in _ok])
    out = write_sweep(tmp_path / "s", change(trials_frame(_ok)), nights)
    _error(out, ConfigError, *fragments)


@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        (lambda f: f.drop("cycle"), ["cycles.parquet", "no column 'cycle'"]),
        (
            lambda f: f.with_columns(pl.lit("x").alias("n_schemas")),
            ["column 'n_schemas' is String", "a numeric (DOUBLE) column"],
        ),
        (
            lambda f: f.with_columns(pl.lit(None, pl.String).alias("date")),
            ["column 'date' has nulls"],
        ),
        (
            lambda f: f.with_columns(pl.lit(1).alias("cycle")),
            ["trial 'A-s1-00000000' night 1 appears twice", "one row per trial and night"],
        ),
    ],
)
def test_cycles_that_break_the_contract(tmp_path: Path, change: Any, fragments: list[str]) -> None:
    nights = cycles_frame([night(_ok[0], 1, n_schemas=1.0), night(_ok[0], 2, n_schemas=1.0)])
    out = write_sweep(tmp_path / "s", trials_frame(_ok), change(nights))
    _error(out, ConfigError, *fragments)


def test_the_report_knows_every_status_a_sweep_writes() -> None:
    assert sorted(STATUSES) == sorted(get_args(TrialStatus))


@pytest.mark.parametrize(
    ("text", "fragment"), [("{nope", "not readable JSON"), ("[1]", "expected a JSON object")]
)
def test_bad_sweep_json(tmp_path: Path, text: str, fragment: str) -> None:
    out = standard_sweep(tmp_path / "s")
    (out / "sweep.json").write_text(text)
    _error(out, ConfigError, "sweep.json", fragment)


# --- the page and the command -------------------------------------------------------


def test_sections_are_the_documented_ones() -> None:
    assert tuple(section_ids()) == SECTION_IDS


def test_page_is_self_contained_and_deterministic(tmp_path: Path) -> None:
    one = render_sweep_report(build_sweep_report(standard_sweep(tmp_path / "one")))
    two = render_sweep_report(build_sweep_report(standard_sweep(tmp_path / "two")))
    assert one.encode() == two.encode()
    assert "Plotly" in one and "default-src 'none'" in one
    outside_scripts = re.sub(r"<script\b.*?</script>", "", one, flags=re.S)
    assert not re.search(r"<(link|img|iframe)\b|\bsrc=|url\(", outside_scripts)
    assert not re.search(r"<script[^>]*\bsrc=", one)
    assert one.count("<section id=") == len(SECTION_IDS)
    for sid in SECTION_IDS:
        _section(one, sid)
    found = re.search(r'<script id="sweep-data" type="application/json">(.*?)</script>', one, re.S)
    assert found
    data = json.loads(found.group(1))
    assert data["header"]["counts"] == [10, 1, 1] and data["trials"] == []
    assert data["colors"]["scenario"] == {"crash_week": "#1f77b4", "calm_month": "#ff7f0e"}
    assert "crash_week-s3-00000005" in _section(one, "failed")
    assert ">0003abababab<" in _section(one, "trials")  # the digest's first 12 characters


def test_command_writes_the_default_report_on_a_partial_sweep(tmp_path: Path) -> None:
    out = standard_sweep(tmp_path / "sweep")
    result = CliRunner().invoke(report, [str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    target = out / "report.html"
    assert result.stdout.strip() == str(target)
    assert "janus-sim sweep report: alpha_grid" in target.read_text()


def test_command_with_output_and_progress(tmp_path: Path) -> None:
    out = standard_sweep(tmp_path / "sweep")
    target = tmp_path / "r.html"
    result = CliRunner().invoke(report, [str(out), "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert target.exists() and "10 finished, 1 failed, 1 pending" in result.stderr
    assert result.stdout.strip() == str(target)


def test_command_errors_are_one_line(tmp_path: Path) -> None:
    out = standard_sweep(tmp_path / "sweep")
    bad = CliRunner().invoke(report, [str(out), "-o", str(tmp_path / "no" / "r.html")])
    assert isinstance(bad.exception, ConfigError) and "does not exist" in str(bad.exception)
    missing = CliRunner().invoke(report, [str(tmp_path / "none")])
    assert isinstance(missing.exception, NotFoundError)
    assert "\n" not in str(missing.exception) and not (tmp_path / "none").exists()


def test_command_help_teaches() -> None:
    result = CliRunner().invoke(report, ["--help"])
    assert result.exit_code == 0
    for fragment in (
        "regime",
        "novelty precision",
        "crash onset lead",
        "trough lead",
        "Examples:",
        "janus-sim sweep report",
        "OUT/report.html",
    ):
        assert fragment in result.output, fragment
