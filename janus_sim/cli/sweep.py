"""``janus-sim sweep``: many runs (scenarios x settings x seeds) into one sweep folder.

``janus-sim sweep SWEEP.yaml`` is ``janus-sim sweep run SWEEP.yaml``; ``sweep report``
and ``sweep sql`` read a sweep folder. Presentation only: the work is in
the ``janus_sim.sweep`` package. Exit codes: 0 every trial finished, 1 some
trial failed after its retries, 2 bad input, 130/143 stopped by SIGINT/SIGTERM.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from janus_sim.adapters.stop_signals import StopFlag
from janus_sim.cli.common import stdout, stopped_exit_code
from janus_sim.cli.safe_text import inert, safe
from janus_sim.cli.sweep_report import report as sweep_report
from janus_sim.errors import NotFoundError
from janus_sim.sweep.columns import TRIALS_FILE
from janus_sim.sweep.executors import make_executor
from janus_sim.sweep.folder import SweepFolder
from janus_sim.sweep.plan import SweepPlan, load_sweep
from janus_sim.sweep.results import TrialRecord
from janus_sim.sweep.run import SweepInterrupted, run_sweep
from janus_sim.sweep.sql_sandbox import run_query


class _RunByDefault(click.Group):
    """``sweep FILE ...`` means ``sweep run FILE ...``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_RunByDefault)
def sweep() -> None:
    """Run many trials - scenarios x parameter settings x seeds - and compare them.

    Each trial is an ordinary run in its own store shard under the sweep folder, with
    the digest it would have alone. Results land in one place: trials.parquet (one row
    per trial), cycles.parquet (one row per trial and night), each trial's events as
    Parquet, and sweep.duckdb with views over all of them.

    \b
      janus-sim sweep scenarios/sweeps/crash_seeds.yaml        # = sweep run ...
      janus-sim sweep report sweeps/crash_seeds                # robustness report
      janus-sim sweep sql sweeps/crash_seeds "SELECT seed, n_schemas_final FROM trials"
    """


class _Progress:
    """A bar of trials, with running and failed counts, and a line per finished trial."""

    def __init__(self, console: Console, quiet: bool) -> None:
        self.quiet = quiet
        self.console = console
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[state]}"),
            TimeElapsedColumn(),
            console=console,
        )
        self._task = self.progress.add_task("trials", total=None, state="")
        self.done = self.total = self.workers = self.todo = 0
        self.failing: set[str] = set()  # trials whose latest attempt failed

    def __enter__(self) -> _Progress:
        if not self.quiet:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def _refresh(self) -> None:
        running = min(self.workers, self.todo)
        state = f"running {running} · failed {len(self.failing)}"
        self.progress.update(self._task, completed=self.done, total=self.total, state=state)

    def started(self, total: int, reused: int, workers: int, executor: str) -> None:
        self.total, self.done, self.workers = total, reused, workers
        if not self.quiet:
            note = f"; {reused} already finished, not rerun" if reused else ""
            self.console.print(f"{total} trials on {executor} ({workers} workers){note}")
        self._refresh()

    def round_started(self, attempt: int, n_trials: int) -> None:
        self.todo = n_trials
        if attempt > 1 and not self.quiet:
            self.console.print(f"retrying {n_trials} failed trial(s): attempt {attempt}")
        self._refresh()

    def trial_done(self, record: TrialRecord, will_retry: bool) -> None:
        self.todo -= 1
        out = record.outcome
        if record.status == "finished" and out is not None:
            self.done += 1
            self.failing.discard(record.trial.trial_id)
            digest = safe((out.digest or "")[:16])
            line = f"[green]done[/]   {safe(record.trial.trial_id)}  {digest}"
            if out.elapsed_s is not None:
                line += f"  {out.elapsed_s:.1f} s"
        else:
            self.failing.add(record.trial.trial_id)
            then = "will retry" if will_retry else "gave up"
            line = f"[red]failed[/] {safe(record.trial.trial_id)}  {safe(record.error)}  ({then})"
        if not self.quiet:
            self.console.print(line)
        self._refresh()


def _trial_table(plan: SweepPlan) -> Table:
    table = Table(title=f"Trials of sweep {safe(plan.name)}", title_justify="left")
    for col in ("#", "trial", "scenario", "seed", "setting"):
        table.add_column(col, justify="right" if col in ("#", "seed") else "left")
    for t in plan.trials:
        table.add_row(
            str(t.index), safe(t.trial_id), safe(t.scenario_path), str(t.seed), safe(t.label)
        )
    return table


@sweep.command("run")
@click.argument("sweep_file", metavar="SWEEP.yaml", type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="Sweep folder (default: sweeps/<sweep name>). Running the same sweep into it "
    "again resumes: finished trials are not rerun.",
)
@click.option(
    "--executor",
    type=click.Choice(["local", "ray", "inline"]),
    default="local",
    show_default=True,
    help="local: worker processes on this machine; ray: Ray tasks (local Ray, or the "
    "cluster at --address); inline: one trial at a time in this process.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 4096),
    help="Trials at once (default: every core; with Ray, the cluster's CPUs).",
)
@click.option(
    "--address",
    envvar="RAY_ADDRESS",
    help="Ray cluster to join (e.g. ray://head:10001; env RAY_ADDRESS). Every node must "
    "see the sweep folder and have janus-sim installed.",
)
@click.option(
    "--retries",
    type=click.IntRange(0, 10),
    help="Extra attempts for a failed trial (default: the sweep file's, else 2).",
)
@click.option("--qdrant", is_flag=True, help="Keep each trial's schema collection (phase 4).")
@click.option("--dry-run", is_flag=True, help="List the trials and stop.")
@click.option("--quiet", is_flag=True, help="No progress; only the summary.")
def run_cmd(
    sweep_file: Path,
    out: Path | None,
    executor: str,
    workers: int | None,
    address: str | None,
    retries: int | None,
    qdrant: bool,
    dry_run: bool,
    quiet: bool,
) -> None:
    """Run every trial of SWEEP.yaml: its scenarios x settings x seeds.

    \b
    A sweep file (paths relative to it):
      name: alpha_study
      scenarios: [../crash_week.yaml]
      seeds: {start: 0, count: 10}        # or a list: [1, 2, 3]
      grid:                               # Cartesian product over scenario fields
        replay.alpha: [0.4, 0.6, 0.8]
      # or sample: {n: 20, seed: 1, fields: {replay.alpha: {uniform: [0.3, 0.9]}}}
      #   (uniform, loguniform, int: [lo, hi], choice: [...])
      retries: 2

    A failed trial is retried up to `retries` times and recorded; the others go on.
    Stop it at any time (Ctrl-C) and run the same command again to resume. Exit 1 when
    some trial still failed.

    \b
    Examples:
      janus-sim sweep scenarios/sweeps/crash_seeds.yaml
      janus-sim sweep my_sweep.yaml --executor ray --address ray://head:10001
    """
    plan = load_sweep(sweep_file)
    if dry_run:
        stdout().print(_trial_table(plan))
        return
    folder = SweepFolder(out or Path("sweeps") / plan.name)
    ex = make_executor(executor, workers=workers, address=address)
    # soft_wrap: a trial's line stays one line in a log
    err = Console(stderr=True, soft_wrap=True, emoji=False)
    try:
        with StopFlag() as stop, _Progress(err, quiet) as progress:
            result = run_sweep(
                plan,
                folder,
                ex,
                retries=retries,
                keep_vectors=qdrant,
                observer=progress,
                should_stop=stop.pending,
            )
    except SweepInterrupted as stopped:
        click.echo(
            inert(
                f"janus-sim: sweep stopped; {folder.root} keeps every finished trial. "
                f"Resume with: janus-sim sweep {sweep_file} --out {folder.root}"
            ),
            err=True,
        )
        sys.exit(stopped_exit_code(stopped.signal_name))
    for line in result.damaged:
        click.echo(f"janus-sim: warning: {line}", err=True)
    o = stdout()
    n, done, failed = len(result.records), result.count("finished"), result.count("failed")
    o.print(f"{n} trials: {done} finished ({result.reused} were already), {failed} failed")
    for rec in result.records:
        if rec.status == "failed":
            o.print(
                f"  [red]failed[/] {safe(rec.trial.trial_id)} after {rec.attempts}: "
                f"{safe(rec.error)}"
            )
    o.print(
        f"results  {safe(folder.root / TRIALS_FILE)}  (and cycles.parquet, events/, sweep.duckdb)"
    )
    o.print(f"[dim]next: janus-sim sweep report {safe(folder.root)}[/]")
    if failed:
        sys.exit(1)


@sweep.command("sql")
@click.argument("folder", type=click.Path(path_type=Path))
@click.argument("query")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per row.")
def sql_cmd(folder: Path, query: str, as_json: bool) -> None:
    """Run one SQL QUERY (DuckDB) over a sweep FOLDER's views: trials, cycles, events.

    \b
    Examples:
      janus-sim sweep sql sweeps/s "SELECT setting, avg(td_improvement_mean) FROM trials GROUP BY 1"
      janus-sim sweep sql sweeps/s "SELECT kind, count(*) FROM events GROUP BY 1 ORDER BY 2 DESC"
    """
    trials = folder / TRIALS_FILE
    if not trials.is_file():
        raise NotFoundError(f"no sweep results at {trials}: run `janus-sim sweep` first")
    names, rows = run_query(folder, query)  # read-only, files under FOLDER only
    if not names:
        return
    if as_json:
        for row in rows:
            click.echo(json.dumps(dict(zip(names, row, strict=True)), default=str))
        return
    table = Table()
    for name in names:
        table.add_column(safe(name))
    for row in rows:
        table.add_row(*(_cell(v) for v in row))
    stdout().print(table)


def _cell(v: Any) -> str:
    """A value as table markup: user text (any SQL cell) escaped (``safe_text``)."""
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.6g}"
    return safe(v)


sweep.add_command(sweep_report, "report")
