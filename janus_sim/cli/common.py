"""Shared pieces of the command line: the --store option, stores and output consoles."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import click
from rich.console import Console

from janus_sim.adapters.duckdb_store import (
    DEFAULT_LOCK_TIMEOUT,
    DuckDBEventStore,
    open_store,
    store_file,
)
from janus_sim.adapters.stop_signals import exit_code
from janus_sim.errors import ConfigError, NotFoundError
from janus_sim.timefmt import S_PER_DAY

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
    """The folder beside the store's database: its Qdrant store, locks and snapshots."""
    return store_file(path).parent


def lock_timeout() -> float:
    """Seconds to wait for a store another process is using (env JANUS_STORE_WAIT)."""
    raw = os.environ.get("JANUS_STORE_WAIT", "")
    if not raw:
        return DEFAULT_LOCK_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value < S_PER_DAY:
        raise ConfigError(
            "JANUS_STORE_WAIT", "", f"expected seconds from 0 to {S_PER_DAY} (got {raw!r})"
        )
    return value


def say_waiting(message: str) -> None:
    Console(stderr=True).print(f"[yellow]waiting:[/] {message}")


def open_existing(path: Path) -> DuckDBEventStore:
    """The store for a reading command: one session, held until ``close``, so the
    command sees one consistent log even while a run appends to it."""
    target = store_file(path)
    if not target.exists():
        raise NotFoundError(
            f"no event store at {target}: run `janus-sim run SCENARIO --store {path}` first"
        )
    return open_store(
        path, read_only=True, hold=True, lock_timeout=lock_timeout(), on_wait=say_waiting
    )


def latest_run(store: DuckDBEventStore) -> str:
    infos = store.list_runs()
    if not infos:
        raise NotFoundError("the store has no runs yet: run `janus-sim run SCENARIO` first")
    return infos[-1].run_id


def stopped_exit_code(signal_name: str) -> int:
    """The shell's code for a command stopped by ``signal_name``: 128 + its number."""
    return exit_code(signal_name)


@contextlib.contextmanager
def open_stores(paths: Sequence[Path]) -> Iterator[list[DuckDBEventStore]]:
    """The stores at ``paths``, opened for reading, in order; closed on exit.

    Paths naming one database file share one held session, so refs into one store read
    one consistent view of it (and the file is attached once).
    """
    opened: dict[Path, DuckDBEventStore] = {}
    try:
        stores = []
        for path in paths:
            key = store_file(path).resolve()
            if key not in opened:
                opened[key] = open_existing(path)
            stores.append(opened[key])
        yield stores
    finally:
        for store in opened.values():
            store.close()
