"""The sweep report as one self-contained HTML page, built like the run report.

``render_sweep_report(report)`` turns a ``SweepReport`` into a single HTML document:
text and tables are HTML (``sweep_report_sections``); the figures are drawn in the
browser by Plotly from a JSON block, with plotly.js, the run report's stylesheet and the
page's script inline (``report/assets/sweep_report.*``), so the file opens offline and
its Content-Security-Policy forbids any request. It reuses the run report's helpers for
inlining plotly.js and JSON and its atomic ``write_report``; the output depends only on
the report and the versions of janus-sim and plotly.
"""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Sequence
from typing import Any

from janus_sim import __version__
from janus_sim.report.html import PALETTE, asset, inline_plotly, jsonable, script_json
from janus_sim.sweep.report_model import SweepReport
from janus_sim.sweep.report_sections import SECTIONS, header_html, nav_html

TEMPLATE = "sweep_report.html.in"


def figure_data(report: SweepReport) -> dict[str, Any]:
    """What ``sweep_report.js`` reads: the report less its trial tables (already HTML),
    plus a colour per scenario (by order of appearance) and the palette."""
    plain = dataclasses.asdict(dataclasses.replace(report, failed=[], trials=[]))
    scenarios = report.header.scenarios
    plain["colors"] = {
        "scenario": {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(scenarios)},
        "palette": list(PALETTE),
    }
    return {k: jsonable(v) for k, v in plain.items()}


def render_sweep_report(report: SweepReport) -> str:
    """The whole sweep report page for ``report`` (see the module docstring)."""
    plotly_js, plotly_version = inline_plotly()
    if "</script" in plotly_js.lower():  # would end the inline block early
        raise AssertionError("plotly.min.js contains '</script'; cannot embed it inline")
    parts = {
        "version": __version__,
        "plotly_version": html.escape(plotly_version),
        "title": html.escape(f"janus-sim sweep report: {report.header.name}"),
        "css": asset("report.css") + asset("sweep_report.css"),
        "header": header_html(report.header),
        "nav": nav_html(),
        "sections": "\n".join(build(report) for _, _, build in SECTIONS),
        "data": script_json(figure_data(report)),
        "plotly": plotly_js,
        "js": asset("page_common.js") + asset("sweep_report.js"),
    }
    # One pass over the template only: text put in is never scanned for placeholders.
    return re.sub(r"\{\{(\w+)\}\}", lambda m: parts[m.group(1)], asset(TEMPLATE))


def section_ids() -> Sequence[str]:
    """The ``id`` of every section of the page, in order."""
    return [sid for sid, _, _ in SECTIONS]
