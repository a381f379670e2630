"""janus-sim report: the data it assembles, the page it renders, its errors.

A tiny real run three ways: as the engine writes it ("real"), without its phase-3 events
("plain": a log from before phase 3) and with synthetic phase-3 events of known content
in place of the real ones ("proj", ``tests.report_fixtures``).
"""

from __future__ import annotations

import dataclasses
import html
import json
import os
import re
from pathlib import Path

import pytest

from janus_sim.adapters.duckdb_store import open_store
from janus_sim.app.engine import Engine
from janus_sim.config import Scenario
from janus_sim.core import events as ev
from janus_sim.core.codec import decode, encode
from janus_sim.core.market import UNLABELLED
from janus_sim.errors import ConfigError
from janus_sim.eventlog import EventBatch
from janus_sim.memory_store import MemoryEventStore
from janus_sim.ports import RunInfo
from janus_sim.report.data import NO_PROJECTION, build_report
from janus_sim.report.data_anomalies import NO_ALERTS, NO_LABELS, NO_SPANS
from janus_sim.report.html import figure_data, render_report, section_ids, write_report
from tests.cli_inprocess import cli
from tests.conftest import TINY
from tests.report_fixtures import N_ANOMALIES, copy_with_projection, copy_without_projection

SECTION_IDS = (
    "map",
    "timeline",
    "priorities",
    "constraints",
    "price",
    "anomalies",
    "schemas",
    "metrics",
)


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "store"
    store = open_store(path)
    try:
        Engine(Scenario.model_validate(TINY), store, run_id="real").run()
        copy_without_projection(store, "real", store, "plain")
        copy_with_projection(store, "real", store, "proj")
    finally:
        store.close()
    return path


def _one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("janus-sim: error: "), err
    for f in fragments:
        assert f in lines[0], lines[0]


def _section(page: str, sid: str) -> str:
    found = re.search(rf'<section id="{sid}">(.*?)</section>', page, re.S)
    assert found, f"no section {sid}"
    return found.group(1)


def test_sections_are_the_documented_ones() -> None:
    assert tuple(section_ids()) == SECTION_IDS


def test_data_of_a_run_with_projection(store_path: Path) -> None:
    store = open_store(store_path, read_only=True)
    try:
        data = build_report(store, "proj")
    finally:
        store.close()
    assert data.header.has_projection and data.header.n_nights == 3
    assert [s.cycle for s in data.map.slices] == [1, 2, 3]
    first = data.map.slices[0]
    assert first.kind.count("schema") == sum(i.startswith("schema:") for i in first.ids)
    assert len({len(first.x), len(first.z), len(first.regime), len(first.schema)}) == 1
    assert set(first.regime) <= {"calm", "crash", ""}
    assert data.map.note is None
    assert len(data.price.anomalies) == N_ANOMALIES
    lead = data.price.lead
    assert lead is not None and lead.lead_bars is not None
    first_crash = next(s[0] for s in data.price.segments if s[2] == "crash")
    assert lead.first_anomaly == first_crash == data.price.anomalies[0].bar
    assert lead.lead_bars == lead.trough - first_crash > 0
    assert lead.before_trough == sum(a.bar <= lead.trough for a in data.price.anomalies)
    assert data.metrics.names[:3] == ["n_clusters", "ari_regime", "anomalies"]
    assert len(data.constraints.truth) == 2 and len(data.constraints.dates) == 3
    assert data.timeline.live == [len(rows) for rows in data.schemas.rows]
    assert len(data.priorities.before) == 3 and sum(data.priorities.before[0]) > 0


def test_the_run_as_the_engine_writes_it(store_path: Path) -> None:
    """Whatever phase 3 writes today (nothing, before it landed) reports consistently."""
    store = open_store(store_path, read_only=True)
    try:
        data = build_report(store, "real")
        render_report(data)
    finally:
        store.close()
    assert data.header.has_projection == bool(data.map.slices)
    assert [s.cycle for s in data.map.slices] == sorted({s.cycle for s in data.map.slices})
    for s in data.map.slices:
        assert s.kind.count("schema") + s.kind.count("transition") == len(s.x)
        assert all(r in {"calm", "crash", ""} for r in s.regime)
        assert len(s.cluster) == len(s.x)
    assert all(0 <= a.bar < data.price.n_bars for a in data.price.anomalies)


def test_schema_browser_lists_each_nights_joiners(store_path: Path) -> None:
    """Per night, the browser lists who joined each schema, in order, with its regime and
    its squared distance, exactly as the schema events and the transitions record them."""
    store = open_store(store_path, read_only=True)
    try:
        data = build_report(store, "real")
        events = [decode(r.record) for r in store.read("real").records()]
    finally:
        store.close()
    regime_of = {e.transition_id: e.regime for e in events if isinstance(e, ev.TransitionRecorded)}
    s = data.schemas
    assert len(s.joined) == len(s.cycles) and any(s.joined)
    for c, joined in zip(s.cycles, s.joined, strict=True):
        tonight = [e for e in events if e.cycle == c]
        updates = {e.schema_id: e for e in tonight if isinstance(e, ev.SchemaUpdated)}
        founders = {e.schema_id: e for e in tonight if isinstance(e, ev.SchemaCreated)}
        assert set(joined) == set(updates) | set(founders)
        for sid, j in joined.items():
            u = updates.get(sid)
            ids = ([founders[sid].transition_id] if sid in founders else []) + list(
                u.joined or () if u else ()
            )
            assert [x.transition_id for x in j.joiners] == ids and j.count == len(ids) and j.known
            assert [x.regime for x in j.joiners] == [regime_of[t] for t in ids]
            dists = [x.mahalanobis_sq for x in j.joiners if x.mahalanobis_sq is not None]
            assert dists == list(u.joined_mahalanobis_sq or ()) if u else dists == []
    page = _section(render_report(data), "schemas")
    c, joined = next((c, j) for c, j in zip(s.cycles, s.joined, strict=True) if j)
    sid, j = next(iter(joined.items()))
    last = j.joiners[-1]
    assert f'<td class="joined" data-v="{j.count}"><details><summary>{j.count} (' in page
    d2 = f"d²={last.mahalanobis_sq:.4g}" if last.mahalanobis_sq is not None else "(founder)"
    assert f"<li>{last.transition_id} {last.regime} {d2}</li>" in page
    assert "joined tonight" in page
    assert figure_data(data)["schemas"]["joined"] == []  # in the HTML only, not twice


def test_run_without_projection_renders_every_section_with_a_note(
    capsys: pytest.CaptureFixture[str], store_path: Path, tmp_path: Path
) -> None:
    out = tmp_path / "plain.html"
    code, stdout, err = cli(capsys, "report", "--store", store_path, "--run", "plain", "-o", out)
    assert code == 0, err
    assert stdout.strip() == str(out)
    page = out.read_text()
    for sid in SECTION_IDS:
        _section(page, sid)
    map_html = _section(page, "map")
    assert html.escape(NO_PROJECTION) in map_html and 'id="map-plot"' not in map_html
    assert "No anomaly_flagged events" in _section(page, "price")
    assert 'id="price-plot"' in page and 'id="constraints-plot"' in page
    data = json.loads(
        re.search(
            r'<script id="report-data" type="application/json">(.*?)</script>', page, re.S
        ).group(1)  # type: ignore[union-attr]
    )
    assert data["map"]["slices"] == [] and data["price"]["anomalies"] == []


def test_page_is_self_contained_and_deterministic(store_path: Path) -> None:
    store = open_store(store_path, read_only=True)
    try:
        page = render_report(build_report(store, "proj"))
        again = render_report(build_report(store, "proj"))
    finally:
        store.close()
    assert page == again
    assert "Plotly" in page and "default-src 'none'" in page
    outside_scripts = re.sub(r"<script\b.*?</script>", "", page, flags=re.S)
    assert not re.search(r"<(link|img|iframe)\b|\bsrc=|url\(", outside_scripts)
    assert not re.search(r"<script[^>]*\bsrc=", page)
    assert page.count("<section id=") == len(SECTION_IDS)
    assert "bars before the crash trough" in _section(page, "metrics")


def test_latest_run_is_the_default(
    capsys: pytest.CaptureFixture[str], store_path: Path, tmp_path: Path
) -> None:
    out = tmp_path / "latest.html"
    code, _, err = cli(capsys, "report", "--store", store_path, "-o", out, "--quiet")
    assert code == 0, err
    assert "janus-sim report: proj" in out.read_text()


def test_unknown_run_is_exit_2(
    capsys: pytest.CaptureFixture[str], store_path: Path, tmp_path: Path
) -> None:
    out = tmp_path / "r.html"
    code, _, err = cli(capsys, "report", "--store", store_path, "--run", "nope", "-o", out)
    _one_line_error(code, err, "nope")
    assert not out.exists()


def test_missing_store_is_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = cli(capsys, "report", "--store", tmp_path / "none", "-o", tmp_path / "r.html")
    _one_line_error(code, err, "no event store at")


@pytest.mark.parametrize("where", ["missing-dir", "dir-is-a-file", "is-a-dir"])
def test_bad_output_path_is_exit_2_before_any_work(
    capsys: pytest.CaptureFixture[str], store_path: Path, tmp_path: Path, where: str
) -> None:
    (tmp_path / "file.txt").write_text("x")
    out = {
        "missing-dir": tmp_path / "no" / "such" / "r.html",
        "dir-is-a-file": tmp_path / "file.txt" / "r.html",
        "is-a-dir": tmp_path,
    }[where]
    code, _, err = cli(capsys, "report", "--store", store_path, "-o", out)
    _one_line_error(code, err, "-o", str(out.parent if where != "is-a-dir" else out))


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_unwritable_directory_is_exit_2(
    capsys: pytest.CaptureFixture[str], store_path: Path, tmp_path: Path
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    code, _, err = cli(capsys, "report", "--store", store_path, "-o", locked / "r.html")
    _one_line_error(code, err, "not writable")


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(
    capsys: pytest.CaptureFixture[str],
    store_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "r.html"
    out.write_text("old report")

    def refuse(src: object, dst: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    code, _, err = cli(capsys, "report", "--store", store_path, "-o", out)
    _one_line_error(code, err, f"cannot write {out}", "Permission denied")
    assert out.read_text() == "old report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]


def test_write_report_replaces_atomically(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    write_report(out, "one")
    write_report(out, "two")
    assert out.read_text() == "two" and sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]
    with pytest.raises(ConfigError, match="does not exist"):
        write_report(tmp_path / "x" / "r.html", "three")


@pytest.mark.parametrize("n_events", [0, 30])
def test_a_run_cut_short_still_renders_every_section(store_path: Path, n_events: int) -> None:
    source = open_store(store_path, read_only=True)
    try:
        info = source.get_run("plain")
        records = [s.record for s in source.read("plain").records()][:n_events]
    finally:
        source.close()
    store = MemoryEventStore()
    store.create_run(dataclasses.replace(info, run_id="cut", status="interrupted"))
    if records:
        store.append(EventBatch.from_records("cut", 0, records))
    data = build_report(store, "cut")
    page = render_report(data)
    for sid in SECTION_IDS:
        assert '<p class="note">' in _section(page, sid), sid
    assert data.header.n_nights == 0 and data.schemas.rows == []


# --- anomalies and novelty ---------------------------------------------------------

HOSTILE = '<b>"cr&sh"</b>[red]'
"""A regime name with HTML (and rich markup) in it: it must appear escaped, never raw."""
TRUST = (("map_trust", 0.97), ("projector_trust", 0.95))


def _rewritten(store_path: Path, rid: str, regime: dict[str, str]) -> MemoryEventStore:
    """Run ``rid`` in a memory store, with regimes renamed by ``regime`` and, as the
    anomaly responses would write them, a risk span from the first anomaly to the last
    (after the last one's flag) and an operator alert at the last one; every night's
    metrics gain the trustworthiness and, from night 2 on, the cluster stability."""
    source = open_store(store_path, read_only=True)
    try:
        info = source.get_run(rid)
        events = [decode(s.record) for s in source.read(rid).records()]
    finally:
        source.close()
    flags = [e for e in events if isinstance(e, ev.AnomalyFlagged)]
    first, last = flags[0], flags[-1]
    out: list[ev.Event] = []
    for e in events:
        if isinstance(e, ev.TransitionRecorded):
            e = dataclasses.replace(e, regime=regime.get(e.regime, e.regime))
        elif isinstance(e, ev.CycleMetrics):
            extra = TRUST + ((("cluster_stability", 0.5 + 0.1 * e.cycle),) if e.cycle > 1 else ())
            e = dataclasses.replace(e, metrics=e.metrics + extra)
        out.append(e)
        if e is first:
            out.append(ev.RiskRaised(e.cycle, e.t_ns, "risk", e.transition_id, 1, 30))
        if e is last:
            n_bars = last.transition_id - first.transition_id + 1
            out.append(ev.RiskRestored(e.cycle, e.t_ns + 60_000_000_000, "risk", first.t_ns,
                                       n_bars, len(flags)))  # fmt: skip
            out.append(ev.OperatorAlerted(e.cycle, e.t_ns, "operator", len(flags), 30,
                                          first.transition_id, last.transition_id))  # fmt: skip
    store = MemoryEventStore()
    store.create_run(RunInfo(rid, info.scenario_name, "", "", "", info.seed, info.code_version))
    store.append(EventBatch.from_records(rid, 0, [encode(e) for e in out]))
    return store


def test_novelty_without_responses(store_path: Path) -> None:
    """The synthetic anomalies flag the crash's first bars: crash is novel on day 2 and
    flagged at once; no response event, no trust metric."""
    store = open_store(store_path, read_only=True)
    try:
        data = build_report(store, "proj")
    finally:
        store.close()
    a = data.anomalies
    assert a.scored and a.novelty_note is None and a.note is None
    assert (a.flagged_novel, a.flagged_familiar) == (N_ANOMALIES, 0)
    assert a.precision == 1.0 and a.familiar_fpr == 0.0
    assert a.recall == N_ANOMALIES / a.novel
    (onset,) = a.onsets
    assert (onset.regime, onset.date, onset.lead) == ("crash", "2025-12-18", 0)
    assert onset.first_flag == onset.start == data.price.anomalies[0].time
    assert a.alerts == [] and a.spans == [] and a.bars_under_risk == 0
    assert (a.alerts_note, a.spans_note) == (NO_ALERTS, NO_SPANS)
    assert not {"cluster_stability", "map_trust", "projector_trust"} & set(data.metrics.names)
    page = _section(render_report(data), "anomalies")
    assert "<h2>Anomalies and novelty</h2>" in page
    assert '<td class="text">precision</td><td class="">100.0%</td>' in page
    assert f"{N_ANOMALIES} of {N_ANOMALIES} flagged bars novel" in page
    assert '<td class="text">crash</td><td class="text">2025-12-18</td>' in page
    assert "flagged at onset" in page
    assert html.escape(NO_ALERTS) in page and html.escape(NO_SPANS) in page
    assert "<table" in page.split('id="operator-alerts"')[0]
    assert "<table" not in page.split('id="operator-alerts"')[1]  # no empty tables


def test_responses_trust_metrics_and_an_escaped_regime(store_path: Path) -> None:
    data = build_report(_rewritten(store_path, "proj", {"crash": HOSTILE}), "proj")
    a = data.anomalies
    assert [o.regime for o in a.onsets] == [HOSTILE]
    (alert,) = a.alerts
    (span,) = a.spans
    flags = data.price.anomalies
    assert (alert.n_anomalies, alert.window_bars) == (N_ANOMALIES, 30)
    assert (alert.first_transition_id, alert.last_transition_id) == (
        flags[0].transition_id,
        flags[-1].transition_id,
    )
    assert alert.time == flags[-1].time and span.start == flags[0].time
    assert span.end is not None and span.end > flags[-1].time
    assert span.n_anomalies == N_ANOMALIES and span.position_limit == 1
    assert span.transition_id == flags[0].transition_id
    assert a.bars_under_risk == span.n_bars and a.alerts_note is None and a.spans_note is None
    names = data.metrics.names
    assert names[:5] == ["n_clusters", "ari_regime", "cluster_stability", "map_trust",
                         "projector_trust"]  # fmt: skip
    stability = data.metrics.values[names.index("cluster_stability")]
    assert stability[0] is None and stability[1:] == pytest.approx([0.7, 0.8])
    page = render_report(data)
    section = _section(page, "anomalies")
    assert HOSTILE not in page and html.escape(HOSTILE) in section
    assert f'<td class="text">{html.escape(HOSTILE)}</td>' in section
    assert (
        f'<td class="text">{alert.time}</td><td class="">{N_ANOMALIES}</td><td class="">30</td>'
        f'<td class="text">{alert.first_transition_id}-{alert.last_transition_id}</td>'
    ) in section
    assert (
        f'<td class="text">{span.start}</td><td class="text">{span.end}</td>'
        f'<td class="">{span.n_bars}</td><td class="">{N_ANOMALIES}</td>'
    ) in section
    assert f"1 risk span, {span.n_bars} bars under raised risk." in section
    assert "1 operator alert." in section
    metrics = _section(page, "metrics")
    assert '<td class="text">cluster_stability</td><td>-</td><td>0.7</td>' in metrics
    assert '<td class="text">map_trust</td><td>0.97</td>' in metrics


def test_an_unlabelled_run_says_the_novelty_score_needs_labels(store_path: Path) -> None:
    data = build_report(
        _rewritten(store_path, "proj", {"calm": UNLABELLED, "crash": UNLABELLED}), "proj"
    )
    a = data.anomalies
    assert not a.scored and a.novelty_note == NO_LABELS and a.onsets == []
    assert a.precision is None and len(a.alerts) == 1  # the responses still show
    section = _section(render_report(data), "anomalies")
    assert html.escape(NO_LABELS) in section and "precision" not in section.split("</p>", 1)[1]


def test_a_run_without_projection_has_no_novelty_score(store_path: Path) -> None:
    store = open_store(store_path, read_only=True)
    try:
        data = build_report(store, "plain")
    finally:
        store.close()
    a = data.anomalies
    assert not a.scored and a.novelty_note is not None
    assert "no projection_fitted events" in a.novelty_note
    assert '<p class="note">' in _section(render_report(data), "anomalies")
