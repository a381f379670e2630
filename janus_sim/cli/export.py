"""``janus-sim export``: runs' events as a Hive-partitioned Parquet tree, or runs'
transitions as offline-RL datasets (``--format minari`` or ``d4rl``).

Presentation only: ``adapters.parquet_export`` checks and writes the tree,
``app.offline_dataset`` builds the day episodes and ``adapters.minari_export`` writes
them. Exit 0 on success, 2 on bad input (an unknown run or kind, a missing store, an
output that cannot be written, a partition or dataset that exists without --overwrite,
minari not installed), reported as one line by ``cli.main``.
"""

from __future__ import annotations

import time
from pathlib import Path

import click
from rich.console import Console

from janus_sim.adapters.duckdb_store import DuckDBEventStore
from janus_sim.adapters.minari_export import (
    check_dataset_id,
    default_dataset_id,
    write_d4rl,
    write_minari,
)
from janus_sim.adapters.parquet_export import export_events, partition_dir
from janus_sim.app.offline_dataset import offline_dataset
from janus_sim.cli.common import latest_run, open_existing, store_option
from janus_sim.cli.compare import status_line
from janus_sim.cli.safe_text import inert, safe
from janus_sim.errors import ConfigError, NotFoundError
from janus_sim.store_rules import unknown_run


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
    help="The directory of the tree (created if missing; may hold other runs); with "
    "--format minari the Minari datasets root (MINARI_DATASETS_PATH to load them).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["parquet", "minari", "d4rl"]),
    default="parquet",
    show_default=True,
    help="parquet: the events; minari: the transitions as a Minari dataset; d4rl: as "
    "one flat NPZ file per run.",
)
@click.option(
    "--dataset-id",
    default=None,
    help="With --format minari and one run: the dataset id (default janus/<run>-v0).",
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
    fmt: str,
    dataset_id: str | None,
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

    --format minari writes each run's transitions as the Minari dataset
    janus/<run>-v0 under DIR (DIR/janus/<run>-v0/data/main_data.hdf5): an episode per
    trading day, N steps and N + 1 observations, the close a truncation; per-step infos
    transition_id, priority, is_weight, violation and regime. Load it with
    MINARI_DATASETS_PATH=DIR and minari.load_dataset("janus/<run>-v0"). Needs the
    minari extra (pip install -c requirements.lock -e ".[minari]"). --format d4rl
    writes DIR/<run>.npz instead: observations, next_observations, actions, rewards,
    terminals, timeouts and infos/<key>, one row per step.

    \b
    Examples:
      janus-sim export -o events/
      janus-sim export --all --kind cycle_metrics -o events/ --overwrite
      janus-sim export --format minari -o datasets/
    """
    if all_runs and run_ids:
        raise ConfigError("--all", "", "name runs with --run or take them all, not both")
    if fmt != "parquet" and kinds:
        raise ConfigError(
            "--kind", "", f"--format {fmt} exports transitions; --kind is for parquet"
        )
    if dataset_id is not None and fmt != "minari":
        raise ConfigError("--dataset-id", "", "a dataset id is for --format minari")
    started = time.monotonic()
    store = open_existing(store_path)
    try:
        if all_runs:
            runs = [r.run_id for r in store.list_runs()]
            if not runs:
                raise NotFoundError("the store has no runs yet: run `janus-sim run SCENARIO` first")
        else:
            runs = list(run_ids) or [latest_run(store)]
        if fmt != "parquet":
            _export_transitions(store, runs, output, fmt, dataset_id, overwrite, quiet, started)
            return
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


def _export_transitions(
    store: DuckDBEventStore,
    runs: list[str],
    output: Path,
    fmt: str,
    dataset_id: str | None,
    overwrite: bool,
    quiet: bool,
    started: float,
) -> None:
    """--format minari / d4rl: each run's day episodes, one dataset (or file) per run."""
    runs = list(dict.fromkeys(runs))
    if dataset_id is not None and len(runs) != 1:
        raise ConfigError("--dataset-id", "", "a dataset id names one run's dataset: name one run")
    known = [r.run_id for r in store.list_runs()]
    for run_id in runs:  # every run checked before anything is written, as for parquet
        if run_id not in known:
            missing = unknown_run(run_id, f"event store {store.path}", known)
            raise NotFoundError(f"{missing}; `janus-sim runs` lists them")
    ids = [dataset_id or default_dataset_id(r) for r in runs]
    if fmt == "minari":
        for d in ids:  # every id checked before anything is written
            check_dataset_id(d)
    done: list[Path] = []
    with store.session():
        for run_id, did in zip(runs, ids, strict=True):
            with status_line(quiet, f"exporting {run_id} as {fmt}"):
                data = offline_dataset(store, run_id)
                if fmt == "minari":
                    about = (
                        f"janus-sim run {run_id} (scenario {data.scenario_name}, seed "
                        f"{data.seed}, digest {data.digest}): one episode per trading day"
                    )
                    path = write_minari(data, output, did, overwrite=overwrite, description=about)
                else:
                    path = write_d4rl(data, output, run_id, overwrite=overwrite)
            done.append(path)
            if not quiet:
                Console(stderr=True, emoji=False, soft_wrap=True).print(
                    safe(
                        f"exported {run_id}: {len(data.episodes)} episodes, "
                        f"{data.total_steps:,} steps to {path}"
                    ),
                    highlight=False,
                )
    if not quiet:
        Console(stderr=True, emoji=False).print(
            f"exported {len(done)} run(s) in {time.monotonic() - started:.1f} s", highlight=False
        )
    for path in done:
        click.echo(inert(path))
