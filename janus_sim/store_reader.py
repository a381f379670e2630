"""Opening a store for reading, apart from ``wiring``: the reading commands (``at``,
``runs``, ``events``) and the notebook API open a store through this module alone, so that
they never import the engine, the Qdrant client or the scenario models."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from janus_sim.adapters.duckdb_store import (
    DEFAULT_LOCK_TIMEOUT,
    DuckDBEventStore,
    open_store,
    store_file,
)
from janus_sim.errors import NotFoundError

__all__ = ["open_reader"]


def open_reader(
    store_path: str | Path,
    *,
    hold: bool = True,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    on_wait: Callable[[str], None] | None = None,
) -> DuckDBEventStore:
    """The store at ``store_path`` opened read-only; ``hold`` keeps one session until
    ``close`` (one consistent view of a log a run may be appending to), else each read
    holds the file only while it reads. NotFoundError, saying how to make one, when
    there is no store there."""
    target = store_file(store_path)
    if not target.exists():
        raise NotFoundError(
            f"no event store at {target}: run `janus-sim run SCENARIO --store {store_path}` first"
        )
    return open_store(
        store_path, read_only=True, hold=hold, lock_timeout=lock_timeout, on_wait=on_wait
    )
