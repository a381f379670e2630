"""``janus-sim report``: one self-contained HTML page about a run.

Presentation only: ``app.report_data`` assembles what the page shows from the log and
``adapters.report_html`` renders and writes it. Exit 0 on success, 2 on bad input (an
unknown run, a missing store, an output path that cannot be written), reported as one
line by ``cli.main``.
"""

from __future__ import annotations

import time
from pathlib import Path

import click
from rich.console import Console

from janus_sim.adapters.atomic_file import is_stdout
from janus_sim.cli.common import latest_run, open_existing, store_option
from janus_sim.cli.compare import status_line
from janus_sim.cli.safe_text import inert, safe
from janus_sim.report.data import build_report
from janus_sim.report.html import check_output, render_report, write_report


@click.command()
@store_option
@click.option("--run", "run_id", help="Run id (default: the latest run).")
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(path_type=Path),
    default="report.html",
    show_default=True,
    help="The HTML file to write (replaced atomically if it exists; a symlink is written "
    "through; - writes to stdout).",
)
@click.option("--quiet", is_flag=True, help="No progress on stderr.")
def report(store_path: Path, run_id: str | None, output: Path, quiet: bool) -> None:
    """Write an HTML report of a run: the 3-D map per night (cycle slider; colour by
    schema, cluster or true regime), the schema timeline, replay priorities per night, a
    constraint x day heatmap, the price path with true regimes and anomalies, the
    anomalies' novelty score with the operator alerts and risk spans, a schema browser and
    the quality metrics.

    One file with everything embedded (plotly.js included): it opens offline in any
    browser and fetches nothing. A run without projection events (older logs) still gets
    every section, with a note where the map would be.

    \b
    Examples:
      janus-sim report -o report.html
      janus-sim report --run crash_week-s20251220 --store store/ -o crash.html
    """
    check_output(output)  # before the work: a bad -o fails at once
    started = time.monotonic()
    store = open_existing(store_path)
    try:
        rid = run_id or latest_run(store)
        with status_line(quiet, f"report of {rid}") as say:
            data = build_report(store, rid, progress=say)
    finally:
        store.close()
    with status_line(quiet, "rendering"):
        text = render_report(data)
        write_report(output, text)
    if not quiet:
        Console(stderr=True, emoji=False).print(
            safe(
                f"wrote {output} ({len(text.encode()) / 1e6:.1f} MB) for run {rid} "
                f"in {time.monotonic() - started:.1f} s"
            )
        )
    if not is_stdout(output):  # with -o - stdout holds the page itself
        click.echo(inert(output))
