"""The HTML of each sweep report section (every value escaped here), in the run report's
style and with its helpers: heading, explanation, note, tables, and the empty ``div``
that ``sweep_report.js`` draws a figure into.

A section always appears; one with nothing to show says why in its note (from
``sweep_report_data``) instead of drawing an empty figure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from janus_sim.report.markup import esc, num, section
from janus_sim.sweep.report_model import STATUSES, SweepHeader, SweepReport, Trial

Builder = Callable[[SweepReport], str]
DIGEST_PREFIX = 12
"""Characters of a trial's digest shown in the trials table (the title holds it all)."""


def _seeds(seeds: Sequence[int]) -> str:
    """``0-9 (10 seeds)`` for a run of consecutive seeds, else the list."""
    if len(seeds) > 2 and seeds[-1] - seeds[0] == len(seeds) - 1:
        return f"{seeds[0]}-{seeds[-1]} ({len(seeds)} seeds)"
    return ", ".join(str(s) for s in seeds)


def header_html(h: SweepHeader) -> str:
    counts = ", ".join(f"{n} {s}" for s, n in zip(STATUSES, h.counts, strict=True))
    items = [
        ("sweep", h.name),
        ("sweep hash", h.sweep_hash or "-"),
        ("trials", f"{h.n_trials}: {counts}"),
        ("scenarios", ", ".join(h.scenarios)),
        ("settings", f"{len(h.settings)}: " + "; ".join(h.settings)),
        ("seeds", _seeds(h.seeds)),
        ("swept parameters", ", ".join(h.params) or "none"),
        ("written by", f"janus-sim {h.code_version}"),
    ]
    cells = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in items)
    return (
        f"<header><h1>janus-sim sweep report: {esc(h.name)}</h1><dl>{cells}</dl>"
        '<p class="help">Generated from the sweep\'s <code>trials.parquet</code> and '
        "<code>cycles.parquet</code> by <code>janus-sim sweep report</code>. Self-contained: "
        "it opens offline and fetches nothing.</p></header>"
    )


def nav_html() -> str:
    links = "".join(f'<a href="#{sid}">{esc(title)}</a>' for sid, title, _ in SECTIONS)
    return f"<nav>{links}</nav>"


def _table(head: Sequence[tuple[str, bool]], rows: Sequence[Sequence[tuple[object, str]]]) -> str:
    """A sortable table: ``head`` (label, is text); each cell (sort value, shown text)."""
    th = "".join(f'<th class="{"text" if text else ""}">{esc(label)}</th>' for label, text in head)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{"text" if text else ""}" data-v="{esc("" if v is None else v)}">'
            f"{esc(shown)}</td>"
            for (v, shown), (_, text) in zip(row, head, strict=True)
        )
        + "</tr>"
        for row in rows
    )
    return (
        f'<div class="tablewrap"><table class="sortable"><thead><tr>{th}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def _distributions(r: SweepReport) -> str:
    parts = []
    for m in r.metrics:
        parts.append(f'<h3>{esc(m.label)}</h3><p class="help">{esc(m.help)}.</p>')
        if m.note:
            parts.append(f'<p class="note">{esc(m.note)}</p>')
        else:
            parts.append(f'<div class="plot short" id="dist-{m.key}"></div>')
    return section(
        "distributions",
        "Quality metrics across seeds and settings",
        "One box per scenario and setting over its finished trials (one point per seed; "
        "hover for the trial): the box spans the quartiles, the line is the median, the "
        "whiskers reach the furthest points within 1.5 IQR.",
        "\n".join(parts),
        r.note,
    )


SUMMARY_HEAD = (
    ("scenario", True), ("setting", True), ("finished", False), ("metric", True), ("n", False),
    ("mean", False), ("sd", False), ("median", False), ("q1", False), ("q3", False),
    ("min", False), ("max", False),
)  # fmt: skip


def _summary(r: SweepReport) -> str:
    labels = {m.key: m.label for m in r.metrics}
    rows = []
    for g in r.groups:
        done = f"{g.n_finished}/{g.n_trials}"
        for mv in g.metrics:
            s = mv.stats
            if s is None:
                continue
            cells = [s.mean, s.sd, s.median, s.q1, s.q3, s.min, s.max]
            rows.append(
                [(g.scenario_name, g.scenario_name), (g.setting, g.setting),
                 (g.n_finished, done), (mv.metric, labels[mv.metric]), (s.n, str(s.n))]
                + [(v, num(v)) for v in cells]
            )  # fmt: skip
    body = _table(SUMMARY_HEAD, rows) if rows else ""
    return section(
        "summary",
        "Summary per scenario and setting",
        "Each quality metric over a group's finished trials: n (trials that measured it), "
        "mean, sample standard deviation, median and quartiles (linear interpolation), "
        "minimum and maximum. Click a column to sort.",
        body,
        None if rows else (r.note or "no finished trial measured any quality metric"),
    )


def _nights(r: SweepReport) -> str:
    body = "".join(
        f"<h3>{esc(m.label)} (<code>{esc(m.metric)}</code>)</h3>"
        f'<div class="plot" id="nights-{m.metric}"></div>'
        for m in r.nights.metrics
    )
    return section(
        "nights",
        "Night by night",
        "Per scenario and setting, the median across seeds (line) and the inter-quartile "
        "band (shaded) of each night's metric from <code>cycles.parquet</code>.",
        body,
        r.nights.note,
    )


def _sensitivity(r: SweepReport) -> str:
    s = r.sensitivity
    body = ""
    if s.params:
        labels = {m.key: m.label for m in r.metrics}
        keys = [m for m in labels if any(m in p.metrics for p in s.params)]
        options = "".join(f'<option value="{k}">{esc(labels[k])}</option>' for k in keys)
        body = (
            '<div class="controls"><label for="sensitivity-metric">metric</label>'
            f'<select id="sensitivity-metric">{options}</select></div>'
            + "".join(
                f"<h3>{esc(p.param)} ({p.n_distinct} values)</h3>"
                f'<div class="plot short" id="sensitivity-{i}"></div>'
                for i, p in enumerate(s.params)
            )
        )
    return section(
        "sensitivity",
        "Sensitivity to the swept parameters",
        "Each finished trial's metric against the value it gave a numeric swept parameter "
        "(points; the line joins the medians at each value, per scenario). Points at one "
        "value differ in seed and in the other swept parameters.",
        body,
        s.note,
    )


def _trial_cells(t: Trial) -> list[tuple[object, str]]:
    return [(t.trial_id, t.trial_id), (t.scenario_name, t.scenario_name), (t.seed, str(t.seed)),
            (t.setting, t.setting)]  # fmt: skip


def _failed(r: SweepReport) -> str:
    head = (("trial", True), ("scenario", True), ("seed", False), ("setting", True),
            ("attempts", False), ("error", True))  # fmt: skip
    rows = [
        [*_trial_cells(t), (t.attempts, str(t.attempts)), (t.error, t.error or "-")]
        for t in r.failed
    ]
    return section(
        "failed",
        "Failed trials",
        "Trials whose last attempt failed, with its error; <code>janus-sim sweep</code> "
        "retries them when run again.",
        _table(head, rows) if rows else "",
        None if rows else "no trial failed",
    )


def _trials(r: SweepReport) -> str:
    head = (("trial", True), ("scenario", True), ("seed", False), ("setting", True),
            ("status", True), ("attempts", False), ("digest", True), ("events", False),
            ("elapsed (s)", False))  # fmt: skip
    rows = [
        [*_trial_cells(t), (t.status, t.status), (t.attempts, str(t.attempts)),
         (t.digest, (t.digest or "-")[:DIGEST_PREFIX]), (t.n_events, num(t.n_events)),
         (t.elapsed_s, num(t.elapsed_s, 3))]
        for t in r.trials
    ]  # fmt: skip
    return section(
        "trials",
        "Trials",
        "Every trial in sweep order: its status, attempts, the first characters of its run "
        "digest (equal digests: bit-identical runs), events and wall time.",
        _table(head, rows),
        None,
    )


SECTIONS: tuple[tuple[str, str, Builder], ...] = (
    ("distributions", "Distributions", _distributions),
    ("summary", "Summary", _summary),
    ("nights", "Night by night", _nights),
    ("sensitivity", "Sensitivity", _sensitivity),
    ("failed", "Failed", _failed),
    ("trials", "Trials", _trials),
)
"""(id, navigation label, builder) of every section, in page order."""
