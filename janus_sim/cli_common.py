"""Shared pieces of the command line: the --store option, stores and output consoles."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from janus_sim.adapters.duckdb_store import DuckDBEventStore, open_store
from janus_sim.errors import NotFoundError

STORE_HELP = "Event store: a directory (holding janus.duckdb) or a .duckdb file."

store_option = click.option(
    "--store",
    "store_path",
    default="store",
    show_default=True,
    envvar="JANUS_SIM_STORE",
    type=click.Path(path_type=Path),
    help=STORE_HELP + " Env: JANUS_SIM_STORE.",
)


def stdout() -> Console:
    """Tables on stdout; piped output gets a wide console instead of rich's 80 columns."""
    console = Console()
    return console if console.is_terminal else Console(width=160)


def store_dir(path: Path) -> Path:
    return path.parent if path.suffix == ".duckdb" else path


def open_existing(path: Path) -> DuckDBEventStore:
    target = path if path.suffix == ".duckdb" else path / "janus.duckdb"
    if not target.exists():
        raise NotFoundError(
            f"no event store at {target}: run `janus-sim run SCENARIO --store {path}` first"
        )
    return open_store(path, read_only=True)


def latest_run(store: DuckDBEventStore) -> str:
    infos = store.list_runs()
    if not infos:
        raise NotFoundError("the store has no runs yet: run `janus-sim run SCENARIO` first")
    return infos[-1].run_id
