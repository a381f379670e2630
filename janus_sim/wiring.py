"""The composition root: the one place that loads a scenario and wires a run together.

Everything that runs a scenario goes through here, so a run started by ``janus-sim run``,
a sweep trial in a worker and ``verify --replay`` are assembled the same way:

* ``load_scenario(path)``: the scenario file, then its bars (their hash pinned into the
  scenario), as a ``ScenarioInput``; ``stored_scenario(info)`` does the same from the
  copy a run keeps in its log, and ``scenario_from_json`` from a sweep trial's settings;
* ``open_run(...)``: the vector store (first, so an unreachable Qdrant fails before a
  byte is written), the event store, the run's lock and the engine, held together in one
  ``ExitStack`` that closes them in reverse order however the block ends;
* ``open_reader(path)``: a store for reading commands and the notebook API;
  ``run_in_memory(inputs)``: a whole run into an in-memory store (``janus_sim.api``).

``app`` never imports adapters, and adapters never import ``app``; this module and the
command line are where the two meet.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from janus_sim.adapters.bars_file import load_market_data
from janus_sim.adapters.duckdb_store import (
    DEFAULT_LOCK_TIMEOUT,
    DuckDBEventStore,
    open_store,
    store_file,
)
from janus_sim.adapters.qdrant_recovery import in_use_elsewhere, set_aside_local
from janus_sim.adapters.qdrant_store import URL_ENV, open_vector_store
from janus_sim.adapters.run_lock import RunLock
from janus_sim.adapters.scenario_file import load_scenario as read_scenario_file
from janus_sim.adapters.snapshot_files import SNAPSHOTS_DIRNAME, SnapshotFiles
from janus_sim.adapters.stop_signals import StopCheck, never
from janus_sim.app import in_memory
from janus_sim.app.engine import Engine
from janus_sim.app.run_inputs import ScenarioInput
from janus_sim.app.run_outcome import Observer, RunResult, default_run_id
from janus_sim.app.vector_restore import Restored, checked_night, load_night
from janus_sim.app.vector_sync import rebuild_collection
from janus_sim.config import Scenario
from janus_sim.errors import StoreError
from janus_sim.memory_store import MemoryEventStore
from janus_sim.ports import EventStore, RunInfo
from janus_sim.scenario_text import parse_scenario


def load_scenario(path: str | Path) -> ScenarioInput:
    """The scenario file at ``path`` and its bars (read relative to the file's folder).

    Raises ConfigError naming the file (and the field) for anything missing or bad; the
    bars are read before any store opens, so bad data fails before anything is written."""
    scenario, text = read_scenario_file(path)
    scenario, bars = load_market_data(scenario, Path(path).parent, str(path))
    return ScenarioInput(scenario, text, str(path), bars)


def stored_scenario(info: RunInfo) -> ScenarioInput:
    """The scenario a stored run was started from, under its seed: parsed from the text in
    the run row, with its bars read again relative to the file it came from (recorded as an
    absolute path; one recorded relative, by an older janus-sim, is read from here). A
    changed bars file then fails the engine's check ("the data file ... changed")."""
    source = info.scenario_source or f"the scenario stored with run {info.run_id!r}"
    scenario = parse_scenario(info.scenario_text, source)
    scenario, bars = load_market_data(scenario, Path(info.scenario_source).parent, source)
    return ScenarioInput(scenario.with_seed(info.seed), info.scenario_text, source, bars)


def _where(source: str) -> str:
    """A scenario file's path as a run records it: absolute, so that ``--replay`` and
    ``--resume`` find its data file from any directory (a name that is no file as is)."""
    path = Path(source)
    return str(path.absolute()) if source and path.is_file() else source


def rebuild_vectors(
    store: EventStore, store_dir: Path, run_id: str, qdrant_url: str | None
) -> tuple[int, Path | None]:
    """Recreate run ``run_id``'s schema collection from its log: (schemas, where a damaged
    embedded Qdrant folder was moved, or None). An embedded folder the client cannot read
    (broken JSON, a collection that is no SQLite file) is moved aside and made anew: it
    holds derived data only. A server's errors, and a folder another process holds, are
    raised as they are."""
    try:
        with open_vector_store(store_dir, qdrant_url) as vectors:
            return rebuild_collection(store, vectors, run_id), None
    except StoreError as e:
        if qdrant_url or os.environ.get(URL_ENV) or in_use_elsewhere(e):
            raise
    aside = set_aside_local(store_dir)
    with open_vector_store(store_dir, None) as vectors:
        return rebuild_collection(store, vectors, run_id), aside


def restore_vectors(
    store: EventStore, store_dir: Path, run_id: str, cycle: int, qdrant_url: str | None
) -> Restored:
    """Recreate run ``run_id``'s schema collection as of night ``cycle`` from the snapshot
    kept under ``store_dir/snapshots`` (``app.vector_restore``), in the embedded Qdrant or
    the server at ``qdrant_url``. The snapshot is checked against the log before the
    vector store is touched."""
    shelf = SnapshotFiles(Path(store_dir) / SNAPSHOTS_DIRNAME)
    night = checked_night(store, shelf, run_id, cycle)  # refused before Qdrant is opened
    with open_vector_store(store_dir, qdrant_url) as vectors:
        return load_night(vectors, night)


def scenario_from_json(scenario_json: str, source: str, scenario_dir: str | Path) -> ScenarioInput:
    """A sweep trial's scenario (canonical JSON with its settings applied) and its bars."""
    scenario = Scenario.model_validate_json(scenario_json)
    scenario, bars = load_market_data(scenario, scenario_dir, source)
    return ScenarioInput(scenario, scenario_json, source, bars)


@dataclass(frozen=True)
class OpenRun:
    """A run ready to go: ``engine`` writes into ``store`` (the DuckDB store itself, for
    what reads or exports it afterwards) under ``engine.run_id``, with the run's lock held
    and the schema collection open if kept (``engine.vector_store``)."""

    store: DuckDBEventStore
    engine: Engine


@contextlib.contextmanager
def open_run(
    inputs: ScenarioInput,
    store_path: str | Path,
    *,
    run_id: str | Callable[[DuckDBEventStore], str],
    keep_vectors: bool,
    qdrant_url: str | None = None,
    observer: Observer | None = None,
    should_stop: StopCheck = never,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[OpenRun]:
    """Open everything a run writes to, in the order that fails safest, and close it all.

    ``run_id`` is the run's name, or a function of the open store that picks one (the
    CLI's default name, or the run to resume). The vector store (phase 4) opens first
    and only with ``keep_vectors``; its nightly snapshots go to ``<store folder>/snapshots/
    <collection>/cycle-NNNN.jsonl``.
    The run's lock (``RunLock``) is taken before the engine is built: one process per
    run. Nothing is simulated here: call ``engine.run()``, ``resume()`` or
    ``replay_check()`` inside the block."""
    folder = store_file(store_path).parent  # the store's Qdrant, locks and snapshots
    with contextlib.ExitStack() as stack:
        vectors = None
        if keep_vectors:
            vectors = stack.enter_context(contextlib.closing(open_vector_store(folder, qdrant_url)))
        store = stack.enter_context(
            contextlib.closing(open_store(store_path, lock_timeout=lock_timeout, on_wait=on_wait))
        )
        store.check_intact()  # never add a run to a damaged file (verify would fail it)
        rid = run_id if isinstance(run_id, str) else run_id(store)
        stack.enter_context(RunLock(folder, rid))
        engine = Engine(
            inputs.scenario,
            store,
            run_id=rid,
            scenario_source=_where(inputs.source),
            scenario_text=inputs.text,
            observer=observer,
            should_stop=should_stop,
            vector_store=vectors,
            snapshots=SnapshotFiles(folder / SNAPSHOTS_DIRNAME),
            market_data=inputs.bars,
        )
        yield OpenRun(store, engine)


def run_in_memory(
    inputs: ScenarioInput, run_id: str | None = None
) -> tuple[MemoryEventStore, RunResult]:
    """Run ``inputs`` into a new in-memory store, without a schema collection: the store
    (holding only this run, named ``run_id`` or ``<scenario>-s<seed>``) and the result.
    The events are those ``janus-sim run`` would write: the digest is the same."""
    return in_memory.run_in_memory(
        inputs.scenario,
        run_id=run_id or default_run_id(MemoryEventStore(), inputs.scenario),
        source=_where(inputs.source),
        text=inputs.text,
        bars=inputs.bars,
    )
