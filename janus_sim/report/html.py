"""The report as one self-contained HTML page, and its atomic write.

``render_report(data)`` turns a ``ReportData`` into a single HTML document: the text,
notes and tables are HTML; the figures are drawn in the browser by Plotly from a JSON
block, with plotly.js, the stylesheet and the page's script embedded inline (package
data under ``janus_sim/report/assets``), so the file opens offline and fetches nothing
(its Content-Security-Policy forbids any request). The output depends only on the data
and the versions of janus-sim and plotly: no clock, no randomness.

``write_report(path, text)`` writes through a temporary file beside ``path`` and a
rename, so a reader never sees half a report; ``check_output(path)`` says early, as a
one-line ``ConfigError``, when ``path`` cannot be written.
"""

from __future__ import annotations

import dataclasses
import html
import json
import math
import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from janus_sim import __version__
from janus_sim.adapters.atomic_file import output_target, write_output
from janus_sim.report.model import ReportData
from janus_sim.report.sections import SECTIONS, header_html, nav_html

REGIME_COLORS = {
    "calm": "#2ca02c",
    "stress": "#ff7f0e",
    "crash": "#d62728",
    "rebound": "#1f77b4",
    "unlabelled": "#8c8c8c",
}
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94",
    "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5",
)  # fmt: skip
"""Categorical colours (D3's category20) for schemas, clusters and unknown regimes."""
WHAT = "an HTML file"
"""What ``-o`` of a report must name (in its error messages)."""

SIGNIFICANT = 7
"""Digits kept of each float in the figures' JSON (tables format their own)."""


def asset(name: str) -> str:
    return (resources.files("janus_sim.report") / "assets" / name).read_text("utf-8")


def inline_plotly() -> tuple[str, str]:
    """(plotly.min.js, its version), from the plotly package (imported only here)."""
    from plotly.offline import get_plotlyjs

    js = get_plotlyjs()
    found = re.search(r"plotly\.js v(\d+\.\d+\.\d+)", js[:400])
    return js, found.group(1) if found else "unknown"


def colors(data: ReportData) -> dict[str, Any]:
    """Colour of every regime (fixed for the known names) and schema (by first
    appearance), and the categorical palette for clusters."""
    regimes: dict[str, str] = {}
    for name in data.regimes:
        regimes[name] = REGIME_COLORS.get(name, PALETTE[(len(regimes) + 4) % len(PALETTE)])
    ids = list(data.timeline.schema_ids)
    for s in data.map.slices:
        ids += [sid for sid, kind in zip(s.schema, s.kind, strict=True) if kind == "schema"]
    schema = {sid: PALETTE[i % len(PALETTE)] for i, sid in enumerate(dict.fromkeys(ids))}
    return {"regime": regimes, "schema": schema, "palette": list(PALETTE)}


def jsonable(value: Any) -> Any:
    """Non-finite floats to null, floats to ``SIGNIFICANT`` digits, tuples to lists."""
    if isinstance(value, float):
        return float(f"{value:.{SIGNIFICANT}g}") if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def figure_data(data: ReportData) -> dict[str, Any]:
    """What ``report.js`` reads: every section but the schema tables and their joiners
    (already HTML)."""
    plain = dataclasses.asdict(
        dataclasses.replace(data, schemas=dataclasses.replace(data.schemas, rows=[], joined=[]))
    )
    plain["colors"] = colors(data)
    return {k: jsonable(v) for k, v in plain.items()}


def script_json(payload: Any) -> str:
    """JSON safe inside ``<script>``: no ``</`` or ``<!--`` can end or confuse the block."""
    text = json.dumps(payload, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def render_report(data: ReportData) -> str:
    """The whole report page for ``data`` (see the module docstring)."""
    plotly_js, plotly_version = inline_plotly()
    if "</script" in plotly_js.lower():  # would end the inline block early
        raise AssertionError("plotly.min.js contains '</script'; cannot embed it inline")
    col = colors(data)
    parts = {
        "version": __version__,
        "plotly_version": html.escape(plotly_version),
        "title": html.escape(f"janus-sim report: {data.header.run_id}"),
        "css": asset("report.css"),
        "header": header_html(data.header),
        "nav": nav_html(),
        "sections": "\n".join(build(data, col) for _, _, build in SECTIONS),
        "data": script_json(figure_data(data)),
        "plotly": plotly_js,
        "js": asset("page_common.js") + asset("report.js"),
    }
    # One pass over the template only: text put in is never scanned for placeholders.
    return re.sub(r"\{\{(\w+)\}\}", lambda m: parts[m.group(1)], asset("report.html.in"))


def section_ids() -> Sequence[str]:
    """The ``id`` of every section of the page, in order."""
    return [sid for sid, _, _ in SECTIONS]


def check_output(path: Path) -> None:
    """ConfigError unless ``path`` can be written by ``write_report`` (the rules of
    ``adapters.atomic_file.write_output``: a regular file or none yet, a symlink written
    through, ``-`` for standard output; never a directory, device or FIFO)."""
    output_target(path, what=WHAT)


def write_report(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (``adapters.atomic_file.write_output``: a
    temporary file beside it, then a rename; ``-`` is standard output); ConfigError
    naming the path when it cannot be written."""
    write_output(path, text, what=WHAT)
