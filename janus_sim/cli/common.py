"""Shared pieces of the command line: the --store option, stores and output consoles."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import click
from rich.console import Console

from janus_sim.adapters.duckdb_store import (
    DEFAULT_LOCK_TIMEOUT,
    DuckDBEventStore,
    store_file,
)
from janus_sim.adapters.stop_signals import exit_code
from janus_sim.app.views import pick_run
from janus_sim.cli.safe_text import safe
from janus_sim.errors import ConfigError
from janus_sim.store_reader import open_reader
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


INT64_MAX = 2**63 - 1
"""The largest count, cycle or sequence number a store's BIGINT columns can hold."""


class WholeNumber(click.ParamType[int]):
    """An option's whole number from ``low`` to ``high``; anything else is a one-line
    ConfigError naming the option, the value and the range (not click's usage text, and
    never a number the store cannot hold, such as ``--limit 99999999999999999999``)."""

    name = "integer"

    def __init__(self, low: int, high: int = INT64_MAX) -> None:
        self.low, self.high = low, high

    def convert(self, value: object, param: click.Parameter | None, ctx: object) -> int:
        where = param.opts[0] if param is not None and param.opts else "value"
        expected = f"expected a whole number from {self.low} to {self.high}"
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            text = str(value).strip()
            # ASCII digits only: str.isdigit() also accepts '²', which int() refuses.
            if re.fullmatch(r"[+-]?[0-9]+", text) is None:
                raise ConfigError(where, repr(value), f"is not a whole number ({expected})")
            if len(text) > 40:  # far out of range; int() of a huge text is slow
                raise ConfigError(where, repr(value)[:40] + "...", f"is out of range ({expected})")
            number = int(text)
        if not self.low <= number <= self.high:
            raise ConfigError(where, repr(value), f"is out of range ({expected})")
        return number


def stdout() -> Console:
    """Tables on stdout; piped output gets a wide console instead of rich's 80 columns.

    Emoji codes are off: a ``:name:`` in user text must print as written (``safe_text``)."""
    console = Console(emoji=False)
    return console if console.is_terminal else Console(width=160, emoji=False)


def stderr() -> Console:
    """Rich output on stderr (progress, warnings), emoji codes off like ``stdout``."""
    return Console(stderr=True, emoji=False)


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
    stderr().print(f"[yellow]waiting:[/] {safe(message)}")


def open_existing(path: Path) -> DuckDBEventStore:
    """The store for a reading command: one session, held until ``close``, so the
    command sees one consistent log even while a run appends to it
    (``store_reader.open_reader``)."""
    return open_reader(path, hold=True, lock_timeout=lock_timeout(), on_wait=say_waiting)


def latest_run(store: DuckDBEventStore) -> str:
    """The latest run's id; NotFoundError when the store has none (``views.pick_run``)."""
    return pick_run(store, None)


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
