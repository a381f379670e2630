"""The report's schema browser: every live schema after each night, and who joined it
that night (``app.membership``), each joiner with its true regime and its squared
Mahalanobis distance to the schema just before it joined."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from janus_sim.app.membership import Joined
from janus_sim.report.markup import esc, num, section
from janus_sim.report.model import ReportData

SCHEMA_COLUMNS = (
    ("id", "schema", True),
    ("points", "points", False),
    ("avg_reward", "average reward", False),
    ("created", "created", True),
    ("updated", "updated", True),
    ("mean_norm", "mean norm", False),
    ("cov_trace", "covariance trace", False),
    ("dominant_regime", "dominant regime", True),
    ("dominant_share", "share", False),
)
NOT_RECORDED = "who: not recorded (a log written before janus-sim recorded membership)"


def joined_cell(j: Joined | None) -> str:
    """The "joined tonight" cell: the count (its sort key), and a disclosure listing each
    joiner in order as ``transition id, regime, d²`` (the founder marked as such)."""
    if j is None:
        return '<td data-v="0">0</td>'
    items = "".join(
        f"<li>{x.transition_id} {esc(x.regime or '?')} "
        + ("(founder)" if x.mahalanobis_sq is None else f"d²={esc(num(x.mahalanobis_sq))}")
        + "</li>"
        for x in j.joiners
    )
    if not j.known:
        items += f"<li>{j.count - len(j.joiners)} more: {esc(NOT_RECORDED)}</li>"
    regimes = ", ".join(f"{esc(r)} {n}" for r, n in j.regime_counts())
    summary = f"{j.count}" + (f" ({regimes})" if regimes else "")
    return (
        f'<td class="joined" data-v="{j.count}"><details><summary>{summary}</summary>'
        f"<ol>{items}</ol></details></td>"
    )


def schema_table(rows: Sequence[dict[str, object]], joined: Mapping[str, Joined]) -> str:
    """One night's live schemas (``timetravel.schema_rows``) with what joined each."""
    head = "".join(
        f'<th class="{"text" if text else ""}">{esc(label)}</th>'
        for _, label, text in SCHEMA_COLUMNS
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{"text" if text else ""}" data-v="{esc(r[key])}">{esc(num(r[key]))}</td>'
            for key, _, text in SCHEMA_COLUMNS
        )
        + joined_cell(joined.get(str(r["id"])))
        + "</tr>"
        for r in rows
    )
    return (
        f'<table class="sortable"><thead><tr>{head}<th>joined tonight</th></tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


def schemas_html(data: ReportData, colors: dict[str, Any]) -> str:
    s = data.schemas
    body = ""
    if s.cycles:
        last = s.cycles[-1]
        options = "".join(
            f'<option value="{c}"{" selected" if c == last else ""}>'
            f"after night {c} ({esc(d)}): {len(rows)} schemas</option>"
            for c, d, rows in zip(s.cycles, s.dates, s.rows, strict=True)
        )
        tables = "".join(
            f'<div class="tablewrap" data-cycle="{c}"{"" if c == last else " hidden"}>'
            f"{schema_table(rows, joined)}</div>"
            for c, rows, joined in zip(s.cycles, s.rows, s.joined, strict=True)
        )
        body = (
            f'<div class="controls"><label for="schemas-cycle">state</label>'
            f'<select id="schemas-cycle">{options}</select> (click a column to sort)</div>{tables}'
        )
    return section(
        "schemas",
        "Schema browser",
        "Every live schema after a night, rebuilt from the log (as <code>janus-sim at "
        "--cycle N</code> shows it): size, average reward, creation and last update, the norm "
        "of its mean, the trace of its covariance and its dominant true regime. <em>Joined "
        "tonight</em> lists the transitions the schema absorbed that night, in order (open "
        "it): each one's id, true regime and d², its squared Mahalanobis distance to the "
        "schema just before it joined (under the schema's covariance plus eps I, the "
        "distance its assignment was decided on); a schema's founder has none.",
        body,
        s.note,
    )
