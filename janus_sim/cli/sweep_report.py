"""``janus-sim sweep report``: one self-contained HTML page about a sweep.

Presentation only: ``app.sweep_report_data`` reads the sweep's tables and computes what
the page shows, ``adapters.sweep_report_html`` renders it and ``adapters.report_html``
writes it. ``report`` is a click command for the ``sweep`` group. Exit 0 on success, 2
on bad input (no sweep folder, a missing or malformed table, an output path that cannot
be written), reported as one line by ``cli.main``.
"""

from __future__ import annotations

import time
from pathlib import Path

import click
from rich.console import Console

from janus_sim.adapters.atomic_file import is_stdout
from janus_sim.cli.compare import status_line
from janus_sim.cli.safe_text import inert, safe
from janus_sim.report.html import check_output, write_report
from janus_sim.sweep.report_data import build_sweep_report
from janus_sim.sweep.report_html import render_sweep_report
from janus_sim.sweep.report_model import STATUSES

DEFAULT_NAME = "report.html"


@click.command()
@click.argument("out", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(path_type=Path),
    default=None,
    help=f"The HTML file to write (default: OUT/{DEFAULT_NAME}; replaced atomically if it "
    "exists; a symlink is written through; - writes to stdout).",
)
@click.option("--quiet", is_flag=True, help="No progress on stderr.")
def report(out: Path, output: Path | None, quiet: bool) -> None:
    """Write an HTML report of the sweep in folder OUT: how the quality metrics (regime
    recovery; the anomaly monitor's novelty precision, recall, familiar-bar false-positive
    rate and crash onset lead; TD-error improvement; schema and cluster counts; the
    trough lead) are distributed across seeds for every scenario and setting (box plots
    with every trial as a point), a summary table per group (mean, sd, median,
    quartiles, range), each group's nightly median and inter-quartile band, every
    numeric swept parameter against the metrics, the failed trials with their errors and
    the table of trials.

    It reads OUT/trials.parquet and OUT/cycles.parquet, so it works while a sweep is
    still running or after some trials failed: only finished trials are measured, and a
    section with nothing to show says why. One file with everything embedded (plotly.js
    included): it opens offline in any browser and fetches nothing.

    \b
    Examples:
      janus-sim sweep report sweeps/alpha_grid
      janus-sim sweep report sweeps/alpha_grid -o alpha.html --quiet
    """
    target = output if output is not None else out / DEFAULT_NAME
    if output is not None:
        check_output(target)  # before the work: a bad -o fails at once
    started = time.monotonic()
    with status_line(quiet, f"sweep report of {out}"):
        data = build_sweep_report(out)
    check_output(target)  # OUT exists now, so its default report path can be checked
    with status_line(quiet, "rendering"):
        text = render_sweep_report(data)
        write_report(target, text)
    if not quiet:
        counts = ", ".join(f"{n} {s}" for s, n in zip(STATUSES, data.header.counts, strict=True))
        Console(stderr=True, emoji=False).print(
            safe(
                f"wrote {target} ({len(text.encode()) / 1e6:.1f} MB) for sweep "
                f"{data.header.name} ({counts}) in {time.monotonic() - started:.1f} s"
            )
        )
    if not is_stdout(target):  # with -o - stdout holds the page itself
        click.echo(inert(target))
