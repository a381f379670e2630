"""The HTML of each report section: heading, explanation, note, controls, tables and the
empty ``div`` that ``report.js`` draws a figure into. Every value is escaped here.

Each section is an ``<section id=...>`` whose id is in ``SECTIONS``; a section whose
data is missing shows its ``note`` (from ``report_data``) and no figure ``div``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from janus_sim.report.markup import esc, num, section
from janus_sim.report.model import Header, ReportData
from janus_sim.report.schema_browser import schemas_html

Builder = Callable[[ReportData, dict[str, Any]], str]


def header_html(h: Header) -> str:
    items = [
        ("run", h.run_id),
        ("scenario", h.scenario_name),
        ("seed", h.seed),
        ("status", h.status),
        ("days", f"{h.first_date} to {h.last_date} ({h.n_days} days, {h.n_nights} nights)"),
        ("events", h.n_events),
        ("digest", h.digest or "-"),
        ("written by", f"janus-sim {h.code_version}"),
        ("projection", "yes" if h.has_projection else "no (see the 3-D map section)"),
    ]
    cells = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in items)
    return (
        f"<header><h1>janus-sim report: {esc(h.run_id)}</h1><dl>{cells}</dl>"
        '<p class="help">Generated from the run\'s event log by <code>janus-sim report</code>. '
        "Self-contained: it opens offline and fetches nothing.</p></header>"
    )


def nav_html() -> str:
    links = "".join(f'<a href="#{sid}">{esc(title)}</a>' for sid, title, _ in SECTIONS)
    return f"<nav>{links}</nav>"


def _map(data: ReportData, colors: dict[str, Any]) -> str:
    body = ""
    if data.map.slices:
        buttons = "".join(
            f'<button type="button" data-mode="{mode}" '
            f'aria-pressed="{"true" if mode == "schema" else "false"}">{label}</button>'
            for mode, label in (
                ("schema", "schema"),
                ("cluster", "cluster"),
                ("regime", "true regime"),
            )
        )
        body = (
            '<div class="controls"><label for="map-cycle">night</label>'
            '<input type="range" id="map-cycle" min="0" max="0" step="1" value="0">'
            '<span id="map-cycle-label"></span></div>'
            f'<div class="controls">colour by {buttons}</div>'
            '<div class="plot tall" id="map-plot"></div>'
        )
    return section(
        "map",
        "3-D map (AlignedUMAP) per night",
        "Each night's slice of the aligned map: schema centroids (diamonds) and a sample of "
        "the states recorded so far (dots). Colour by schema (a state takes the colour of the "
        "nearest schema centroid on the map), by DBSCAN cluster, or by true regime (a schema "
        "by its dominant regime). The slider moves through the nights; the axes stay fixed.",
        body,
        data.map.note,
    )


def _timeline(data: ReportData, colors: dict[str, Any]) -> str:
    t = data.timeline
    body = ""
    if t.cycles:
        body = '<div class="plot short" id="timeline-plot"></div>'
        if t.schema_ids:
            body += '<div class="plot" id="timeline-sizes"></div>'
    return section(
        "timeline",
        "Schema evolution",
        "Schemas created, updated and pruned each night, the number alive after it, and each "
        "schema's size (points) night by night (blank: not yet created, or pruned).",
        body,
        t.note,
    )


def _priorities(data: ReportData, colors: dict[str, Any]) -> str:
    p = data.priorities
    body = '<div class="plot" id="priorities-plot"></div>' if p.cycles else ""
    return section(
        "priorities",
        "Replay priorities per night",
        "Histogram of the buffer's replay priorities (log10) each night, as computed at the "
        "start of replay (eq. 1) and after the night's batch updates; shading is the share of "
        "transitions in each bin, the red line the median.",
        body,
        p.note,
    )


def _constraints(data: ReportData, colors: dict[str, Any]) -> str:
    c = data.constraints
    body = '<div class="plot short" id="constraints-plot"></div>' if c.dates and c.names else ""
    return section(
        "constraints",
        "Constraint satisfaction",
        "Truth of each constraint per trading day (pMeanError over the day's transitions) "
        "and the day's SatAgg.",
        body,
        c.note,
    )


def _price(data: ReportData, colors: dict[str, Any]) -> str:
    p = data.price
    body = ""
    if p.bar:
        if len(p.bar) < p.n_bars:
            body += f"<p>{len(p.bar)} of {p.n_bars} bars shown (lowest and highest per bucket).</p>"
        body += '<div class="plot" id="price-plot"></div>'
        if p.anomalies:
            body += f"<p>{len(p.anomalies)} anomalies flagged (red crosses).</p>"
    return section(
        "price",
        "Price path, true regimes and anomalies",
        "The price at every bar, days back to back (dotted lines: day starts), shaded by the "
        "true regime; red crosses mark states flagged as anomalies during the day (eq. 32), "
        "the star the crash trough.",
        body,
        p.note,
    )


def _plain_table(head: Sequence[tuple[str, bool]], rows: Sequence[Sequence[object]]) -> str:
    """A table: ``head`` (label, is text); a text column's cells are left-aligned."""
    th = "".join(f'<th class="{"text" if text else ""}">{esc(label)}</th>' for label, text in head)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{"text" if text else ""}">{esc(num(v))}</td>'
            for v, (_, text) in zip(row, head, strict=True)
        )
        + "</tr>"
        for row in rows
    )
    return (
        f'<div class="tablewrap"><table><thead><tr>{th}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def _rate(value: float | None, part: int, whole: int, what: str, empty: str) -> tuple[str, str]:
    if value is None:
        return "-", empty
    return f"{100 * value:.1f}%", f"{part} of {whole} {what}"


def onset_lead_text(lead: int | None) -> str:
    if lead is None:
        return "never flagged"
    if lead == 0:
        return "flagged at onset"
    return f"flagged {lead} bar{'s' if lead != 1 else ''} after onset"


def _note(text: str | None) -> str:
    return f'<p class="note">{esc(text)}</p>' if text else ""


def _anomalies(data: ReportData, colors: dict[str, Any]) -> str:
    a = data.anomalies
    body = '<h3 id="novelty">Novelty score</h3>' + _note(a.novelty_note)
    if a.scored:
        figures = [
            ("precision", *_rate(a.precision, a.flagged_novel, a.flagged_novel +
                                 a.flagged_familiar, "flagged bars novel", "nothing flagged")),
            ("recall", *_rate(a.recall, a.flagged_novel, a.novel, "novel bars flagged",
                              "no novel bar")),
            ("familiar FPR", *_rate(a.familiar_fpr, a.flagged_familiar, a.familiar,
                                    "familiar bars flagged", "no familiar bar")),
            ("scored bars", str(a.scored_bars), "bars of days that opened with a map"),
        ]  # fmt: skip
        body += _plain_table([("figure", True), ("value", False), ("counts", True)], figures)
        if a.onsets:
            body += _plain_table(
                [
                    ("novel regime", True),
                    ("day", True),
                    ("onset", True),
                    ("transition", False),
                    ("novel bars", False),
                    ("first flag", True),
                    ("lead", True),
                ],
                [
                    (
                        o.regime,
                        o.date,
                        o.start,
                        o.first_transition_id,
                        o.n_bars,
                        o.first_flag or "-",
                        onset_lead_text(o.lead),
                    )
                    for o in a.onsets
                ],
            )
        else:
            body += "<p>No novel regime appeared on a scored day.</p>"
    body += '<h3 id="operator-alerts">Operator alerts</h3>' + _note(a.alerts_note)
    if a.alerts:
        body += f"<p>{len(a.alerts)} operator alert{'s' if len(a.alerts) != 1 else ''}.</p>"
        body += _plain_table(
            [("time", True), ("anomalies", False), ("window (bars)", False),
             ("transitions", True)],
            [
                (x.time, x.n_anomalies, x.window_bars,
                 f"{x.first_transition_id}-{x.last_transition_id}")
                for x in a.alerts
            ],
        )  # fmt: skip
    body += '<h3 id="risk-spans">Risk spans</h3>' + _note(a.spans_note)
    if a.spans:
        n = len(a.spans)
        body += (
            f"<p>{n} risk span{'s' if n != 1 else ''}, {a.bars_under_risk} bars under raised "
            "risk.</p>"
        )
        body += _plain_table(
            [("start", True), ("end", True), ("bars", False), ("anomalies", False),
             ("raised by transition", False), ("position limit", False)],
            [
                (x.start, x.end or "still raised", x.n_bars, x.n_anomalies, x.transition_id,
                 x.position_limit)
                for x in a.spans
            ],
        )  # fmt: skip
    return section(
        "anomalies",
        "Anomalies and novelty",
        "How well the anomaly monitor (eq. 32) flagged what was new, against the true "
        "regimes: a bar is <em>novel</em> when its regime was not in the episodic buffer at "
        "the open of its day (last night's map never saw it), <em>familiar</em> otherwise; "
        "only days that open with a map are scored. Precision is the share of flagged bars "
        "that are novel, recall the share of novel bars flagged, the familiar FPR the share "
        "of familiar bars flagged. Each novel regime's onset is its first bar on the day it "
        "first appears; the lead counts the bars from it to its first flag. Then what the "
        "agent did about its anomalies: operator alerts (K anomalies within a window of "
        "bars) and risk spans (no new exposure beyond a limit until some bars after the "
        "latest anomaly, or the day's close).",
        body,
        a.note,
    )


def _metrics(data: ReportData, colors: dict[str, Any]) -> str:
    m = data.metrics
    body = f'<p class="lead" id="anomaly-lead">Anomaly lead: {esc(m.lead_note)}</p>'
    if m.cycles:
        head = "".join(
            f"<th>night {c}<br>{esc(d)}</th>" for c, d in zip(m.cycles, m.dates, strict=True)
        )
        rows = "".join(
            f'<tr><td class="text">{esc(name)}</td>'
            + "".join(f"<td>{esc(num(v))}</td>" for v in values)
            + "</tr>"
            for name, values in zip(m.names, m.values, strict=True)
        )
        body += (
            '<div class="plot short" id="metrics-plot"></div>'
            f'<div class="tablewrap"><table><thead><tr><th class="text">metric</th>{head}</tr>'
            f"</thead><tbody>{rows}</tbody></table></div>"
        )
    return section(
        "metrics",
        "Quality metrics",
        "Each night's metrics from the log (<code>cycle_metrics</code>): clusters found, the "
        "adjusted Rand index between schema assignment and true regimes, the cluster "
        "stability (ARI of tonight's clusters against last night's) and the trustworthiness "
        "of the map and of the projector (where the run has them), anomalies flagged, risk "
        "spans and operator alerts, mean |TD| before and after replay, and the rest. The "
        "anomaly lead counts the bars from the first anomaly flagged to the crash trough "
        "(the run's lowest price), as the run summary does: a secondary figure, which any "
        "early false alarm improves (the Anomalies section scores the flags against the "
        "true regimes).",
        body,
        m.note,
    )


SECTIONS: tuple[tuple[str, str, Builder], ...] = (
    ("map", "3-D map", _map),
    ("timeline", "Schema timeline", _timeline),
    ("priorities", "Priorities", _priorities),
    ("constraints", "Constraints", _constraints),
    ("price", "Price path", _price),
    ("anomalies", "Anomalies", _anomalies),
    ("schemas", "Schema browser", schemas_html),
    ("metrics", "Metrics", _metrics),
)
"""(id, navigation label, builder) of every section, in page order."""
