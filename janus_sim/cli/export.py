"""``janus-sim export``: runs' events as a Hive-partitioned Parquet tree.

Presentation only: ``adapters.parquet_export`` checks and writes. Exit 0 on success, 2
on bad input (an unknown run or kind, a missing store, an output that cannot be
written, a partition that exists without --overwrite), reported as one line by
``cli.main``.
"""

from __future__ import annotations

import time
from pathlib import Path

import click
from rich.console import Console

from janus_sim.adapters.parquet_export import export_events, partition_dir
from janus_sim.cli.common import latest_run, open_existing, store_option
from janus_sim.cli.compare import status_line
from janus_sim.cli.safe_text import inert
from janus_sim.errors import ConfigError, NotFoundError


@click.command()
@store_option
@click.option(
    "--run", "run_ids", multiple=True, help="Run id (repeatable; default: the latest run)."
)
@click.option("--all", "all_runs", is_flag=True, help="Every run in the store.")
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(path_type=Path),
    required=True,
    help="The directory of the tree (created if missing; may hold other runs).",
)
@click.option("--kind", "kinds", multiple=True, help="Only this event kind (repeatable).")
@click.option("--overwrite", is_flag=True, help="Replace runs already in the tree.")
@click.option("--quiet", is_flag=True, help="No progress or summary on stderr.")
def export(
    store_path: Path,
    run_ids: tuple[str, ...],
    all_runs: bool,
    output: Path,
    kinds: tuple[str, ...],
    overwrite: bool,
    quiet: bool,
) -> None:
    """Export runs' events to Parquet files partitioned by run and kind, for DuckDB,
    polars, Spark or Trino.

    \b
    Layout (one zstd file per run and kind, rows in seq order):
      DIR/run_id=<run>/kind=<kind>/data_0.parquet
    Columns: seq, cycle, t_ns, entity, version, payload (the event's JSON),
    chain (hex); run_id and kind come from the directory names.

    Each run appears whole or not at all; other runs in DIR are left alone, and a run
    already there is refused unless --overwrite. The directory on stdout.

    \b
    DuckDB:
      SELECT kind, count(*) FROM read_parquet('DIR/run_id=*/kind=*/*.parquet',
        hive_partitioning = true) WHERE run_id = 'crash_week-s7' GROUP BY kind;
    polars:
      pl.scan_parquet("DIR/run_id=*/kind=*/*.parquet", hive_partitioning=True)
        .filter(pl.col("kind") == "cycle_metrics").collect()

    Spark (spark.read.parquet("DIR")) and Trino (a Hive table partitioned by run_id and
    kind, location DIR) read the tree as it is. Glob run_id=*/kind=*/*.parquet, not
    DIR/**: in DuckDB and polars a recursive glob also enters the hidden folder of an
    export still being written, or of one that was killed.

    \b
    Examples:
      janus-sim export -o events/
      janus-sim export --all --kind cycle_metrics -o events/ --overwrite
    """
    if all_runs and run_ids:
        raise ConfigError("--all", "", "name runs with --run or take them all, not both")
    started = time.monotonic()
    store = open_existing(store_path)
    try:
        if all_runs:
            runs = [r.run_id for r in store.list_runs()]
            if not runs:
                raise NotFoundError("the store has no runs yet: run `janus-sim run SCENARIO` first")
        else:
            runs = list(run_ids) or [latest_run(store)]
        with status_line(quiet, f"exporting {len(runs)} run(s) to {output}"):
            summary = export_events(store, runs, output, kinds=kinds or None, overwrite=overwrite)
    finally:
        store.close()
    if not quiet:
        size = sum(
            f.stat().st_size
            for run_id in summary.runs
            for f in partition_dir(output, run_id).rglob("*.parquet")
        )
        Console(stderr=True, emoji=False).print(
            f"exported {len(summary.runs)} run(s), {summary.n_events:,} events in "
            f"{summary.n_files} files ({size / 1e6:.1f} MB) in "
            f"{time.monotonic() - started:.1f} s",
            highlight=False,
        )
    click.echo(inert(output))
