"""``janus-sim doctor SCENARIO``: re-run a scenario under perturbations that must not
matter and say whether every digest is the same, else where the logs first part.

Presentation only: the runs are ``janus_sim.portable_check`` (the portable-digest
check's fresh processes, each writing its log to a temporary store), the verdict is
``janus_sim.app.doctor``. Projection is forced on (phase 3 holds the numba kernels and
the map whose threads and hashing could matter), and the output says so. Exit 0 when
every run is identical, 1 when one differs or fails, 2 bad input; the temporary stores
are removed however the command ends (Ctrl-C kills the runs still going).

Every divergence is printed through ``cli.divergence_view`` (``divergence_lines`` and
``divergence_json``), as in ``compare``, ``verify --replay`` and ``bisect``.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from janus_sim import portable_check as pc
from janus_sim.adapters.duckdb_store import open_store
from janus_sim.adapters.stop_signals import term_interrupts
from janus_sim.app.doctor import DoctorReport, DoctorRow, diagnose
from janus_sim.cli.common import stdout
from janus_sim.cli.divergence_view import divergence_json, divergence_lines
from janus_sim.cli.safe_text import safe
from janus_sim.ports import EventStore


def _open_for_reading(path: str) -> EventStore:
    return open_store(path, read_only=True)


@click.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="Override the scenario's seed.")
@click.option(
    "--days", type=click.IntRange(1), help="Run only the first N trading days (a quicker check)."
)
@click.option(
    "--workers",
    type=click.IntRange(1),
    default=2,
    show_default=True,
    help="Fresh processes at a time.",
)
@click.option("--json", "as_json", is_flag=True, help="The report as JSON.")
@click.option("--quiet", is_flag=True, help="No progress on stderr.")
def doctor(
    scenario: Path, seed: int | None, days: int | None, workers: int, as_json: bool, quiet: bool
) -> None:
    """Re-run SCENARIO under perturbations that must not change a deterministic run and
    report whether every run gives the same digest, else each run's first divergent event.

    \b
    The runs, each writing its log to a temporary store (removed afterwards):
      in-process          the reference: this process, as it is
      fresh process       a new Python process
      BLAS/OpenMP 1, 4    OPENBLAS_NUM_THREADS, OMP_NUM_THREADS, MKL_NUM_THREADS
      numba 1, 4          NUMBA_NUM_THREADS
      PYTHONHASHSEED      0 and 4242

    Projection (phase 3) is forced on when the scenario turns it off: the output says so.
    Exit 0 when every run is identical, 1 when one differs or fails, 2 bad input.

    \b
    Examples:
      janus-sim doctor scenarios/calm_week.yaml --days 2
      janus-sim doctor scenarios/crash_week.yaml --seed 7 --json
    """
    options = pc.RunOptions(seed=seed, days=days, projection=True)
    inputs, notes = pc.adjusted_input(scenario, options)  # bad input fails before any run
    chosen = pc.doctor_settings()
    err = Console(stderr=True, quiet=quiet)
    err.print(
        f"doctor: {len(chosen)} runs of {safe(str(scenario))} (seed {inputs.scenario.seed}), "
        f"{workers} fresh processes at a time"
    )
    started = time.monotonic()
    done = 0

    def say(outcome: pc.Outcome) -> None:
        nonlocal done
        done += 1
        what = outcome.error or f"{outcome.digest[:16]} ({outcome.n_events} events)"
        elapsed = time.monotonic() - started
        err.print(f"  [{done}/{len(chosen)}] {outcome.name}: {safe(what)} ({elapsed:.0f} s)")

    with term_interrupts(), tempfile.TemporaryDirectory(prefix="janus-doctor-") as tmp:
        reference = pc.in_process(inputs, Path(tmp) / "reference")
        say(reference)
        fresh = pc.check(
            scenario,
            chosen[1:],
            workers=workers,
            progress=say,
            options=options,
            stores=Path(tmp) / "fresh",
        )
        rows = diagnose([reference, *fresh], [s.env for s in chosen], _open_for_reading, pc.RUN_ID)
    report = DoctorReport(str(scenario), inputs.scenario.seed, notes, rows)
    if as_json:
        click.echo(json.dumps(_report_json(report), indent=2))
    else:
        _print(report)
    if not report.ok:
        sys.exit(1)


def _report_json(report: DoctorReport) -> dict[str, object]:
    return {
        "scenario": report.scenario,
        "seed": report.seed,
        "notes": list(report.notes),
        "ok": report.ok,
        "reference": report.rows[0].name,
        "runs": [
            {
                "perturbation": r.name,
                "env": r.env,
                "digest": r.digest,
                "n_events": r.n_events,
                "same": r.same,
                "error": r.error,
                "divergence": None if r.divergence is None else divergence_json(r.divergence),
            }
            for r in report.rows
        ],
    }


def _same_cell(row: DoctorRow) -> str:
    if row.error:
        return "[red]FAILED[/]"
    return "[green]yes[/]" if row.same else "[red]NO[/]"


def _print(report: DoctorReport) -> None:
    out = stdout()
    for note in report.notes:
        out.print(f"note: {note}")
    table = Table(
        title=f"janus-sim doctor {safe(report.scenario)} (seed {report.seed})",
        title_justify="left",
    )
    for head in ("perturbation", "environment", "digest", "events", "same?"):
        table.add_column(head, justify="right" if head == "events" else "left")
    for r in report.rows:
        env = " ".join(f"{k}={v}" for k, v in sorted(r.env.items())) or "-"
        digest = r.digest[:16] if not r.error else safe(r.error)
        table.add_row(r.name, env, digest, str(r.n_events), _same_cell(r))
    out.print(table)
    ref = report.rows[0]
    if report.ok:
        out.print(
            f"[green]ok[/]: all {len(report.rows)} runs identical: digest {ref.digest} "
            f"({ref.n_events} events)"
        )
        return
    for r in report.differing:
        if r.error:
            out.print(f"[red]{safe(r.name)}[/]: the run failed: {safe(r.error)}")
        elif r.divergence is not None:
            for line in divergence_lines(r.divergence):
                out.print(f"[red]{safe(r.name)}[/]: {safe(line)}")
    n = len(report.differing)
    out.print(f"[red]DIFFERENT[/]: {n} of {len(report.rows)} runs differ from the {ref.name} run")
