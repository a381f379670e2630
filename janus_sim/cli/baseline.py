"""``janus-sim baseline save`` / ``baseline check``: regression baselines on the CLI.

Presentation only: baselines are ``janus_sim.app.baseline``; reports render like those
of ``compare`` (``cli_compare.render``). Exit 0 when every baseline holds, 1 when one
differs, 2 bad input.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console

from janus_sim.adapters.atomic_file import is_stdout, output_target, write_output
from janus_sim.app import baseline as bl
from janus_sim.app.compare import check_tolerance_names
from janus_sim.cli.common import stdout
from janus_sim.cli.compare import (
    StatusObserver,
    check_format,
    output_options,
    render,
    report_dict,
    status_line,
    tolerances_of,
)
from janus_sim.cli.safe_text import safe
from janus_sim.errors import ConfigError, NotFoundError, mkdir_reason
from janus_sim.wiring import load_scenario

WHAT = "a baseline JSON file"


@click.group()
def baseline() -> None:
    """Regression baselines: a scenario's expected per-cycle metrics and run digest.

    \b
    janus-sim baseline save scenarios/crash_week.yaml -o baselines/crash_week.json
    janus-sim baseline check              # every baselines/*.json; exit 1 on a change
    """


@baseline.command("save", short_help="Run a scenario in memory and write its baseline JSON.")
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    required=True,
    help="Baseline JSON file (replaced atomically; a symlink is written through; - writes "
    "to stdout).",
)
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="Override the scenario's seed.")
@click.option("--quiet", is_flag=True, help="No progress line on stderr.")
def save(scenario: Path, output: Path, seed: int | None, quiet: bool) -> None:
    """Run SCENARIO in memory (nothing is written to a store) and write its baseline:
    per-cycle metrics, digest, event count, scenario path and hash, seed, version.

    Run it from the repository root: the scenario path is stored as given."""
    if not is_stdout(output):
        _check_early(output)
    with status_line(quiet, f"baseline {scenario}") as say:
        base = bl.record(load_scenario(scenario), seed=seed, observer=StatusObserver(say))
    if not is_stdout(output):
        try:  # a missing folder is made (only now: a failed run leaves nothing behind)
            output.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ConfigError(
                "-o", "", f"cannot create directory {output.parent}: {mkdir_reason(e)}"
            ) from e
    write_output(output, base.to_json(), what=WHAT)
    # With -o - stdout holds the JSON itself; the summary goes to stderr.
    (Console(stderr=True) if is_stdout(output) else stdout()).print(
        safe(
            f"saved {output}: {len(base.cycles)} cycles, {base.n_events} events, "
            f"digest {base.digest[:16]}"
        )
    )


def _check_early(output: Path) -> None:
    """A bad -o fails before the run: a target that cannot be written, or a folder to
    make under a file. (The folder itself is made only after the run succeeded.)"""
    if output.parent.is_dir():
        output_target(output, what=WHAT)
        return
    above = output.parent
    while not above.exists() and above != above.parent:
        above = above.parent
    if not above.is_dir():
        raise ConfigError(
            "-o",
            "",
            f"cannot create directory {output.parent}: {above} is a file, not a directory",
        )


@baseline.command("check", short_help="Re-run baselines and compare (default: baselines/*.json).")
@click.argument("baselines", nargs=-1, type=click.Path(path_type=Path))
@output_options
def check(
    baselines: tuple[Path, ...],
    rtol: float,
    atol: float,
    tol: tuple[str, ...],
    as_json: bool,
    markdown: bool,
    all_metrics: bool,
    quiet: bool,
) -> None:
    """Re-run each BASELINE's scenario (default: every baselines/*.json) and compare it
    with the baseline like `compare` does; the digest must match too.

    Exit 0 when every baseline holds, 1 when one differs, 2 bad input."""
    check_format(as_json, markdown)
    tolerances = tolerances_of(rtol, atol, tol)
    paths = list(baselines) or sorted(Path("baselines").glob("*.json"))
    if not paths:
        raise NotFoundError(
            "no baselines/*.json here: save one with "
            "`janus-sim baseline save SCENARIO -o baselines/NAME.json`"
        )
    # Every baseline and scenario is read first, so bad input fails before a long run.
    prepared = [bl.prepare(p, load_scenario) for p in paths]
    names = {n for p in prepared for row in p.baseline.cycles.values() for n in row.metrics}
    check_tolerance_names(tolerances, names)
    results = []
    for p in prepared:
        with status_line(quiet, f"checking {p.path}") as say:
            results.append(bl.check(p, tolerances, StatusObserver(say)))
    if as_json:
        doc = {
            "ok": all(r.ok for r in results),
            "baselines": [
                {**report_dict(r.report), "path": r.path, "ok": r.ok, "problems": list(r.problems)}
                for r in results
            ],
        }
        click.echo(json.dumps(doc, indent=2))
    else:
        for r in results:
            title = f"baseline {r.path} ({r.baseline.scenario}, seed {r.baseline.seed})"
            render(r.report, "markdown" if markdown else "rich", all_metrics, title, r.problems)
    if not all(r.ok for r in results):
        sys.exit(1)
