"""The ports the application talks to; adapters implement them.

``EventStore`` is the event log. Contract (tested once for every adapter in
``tests/contract``):

* runs are created once; a second ``create_run`` with the same id is a StoreError;
* ``append`` is atomic: the whole batch becomes visible or none of it does;
* sequence numbers of a run are gap-free from 0: a batch must start at
  ``last_seq(run) + 1`` and be contiguous, else StoreError and nothing is written;
* reads return events in sequence order;
* unknown run ids raise NotFoundError.

The rules every implementation shares (append checks, messages, run statuses) are
``store_rules``; ``memory_store`` is the in-memory reference implementation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from janus_sim.core.neocortex import Schema
from janus_sim.eventlog import EventBatch

RunStatus = Literal["running", "finished", "failed", "interrupted"]


@dataclass(frozen=True)
class RunInfo:
    """A row of the runs table. Wall-clock fields are metadata: never hashed."""

    run_id: str
    scenario_name: str
    scenario_source: str
    scenario_text: str
    scenario_hash: str
    seed: int
    code_version: str
    versions: dict[str, str] = field(default_factory=dict)
    status: RunStatus = "running"
    digest: str | None = None
    n_events: int = 0
    started_at: str = ""
    finished_at: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class EventQuery:
    """Filters for ``EventStore.read``; ``None`` means no filter. Bounds are inclusive.

    ``tail`` keeps the last ``limit`` matches instead of the first (still in seq order).
    """

    kinds: Sequence[str] | None = None
    cycle_min: int | None = None
    cycle_max: int | None = None
    t_min: int | None = None
    t_max: int | None = None
    seq_min: int | None = None
    seq_max: int | None = None
    entity: str | None = None
    limit: int | None = None
    tail: bool = False


class EventStore(Protocol):
    def create_run(self, info: RunInfo) -> None: ...

    def append(self, batch: EventBatch) -> None: ...

    def finish_run(
        self, run_id: str, status: RunStatus, digest: str | None, message: str | None = None
    ) -> None: ...

    def get_run(self, run_id: str) -> RunInfo: ...

    def list_runs(self) -> list[RunInfo]:
        """All runs, oldest first."""
        ...

    def last_seq(self, run_id: str) -> int:
        """The highest sequence number of the run, or -1 when it has no events."""
        ...

    def read(self, run_id: str, query: EventQuery = EventQuery()) -> EventBatch: ...

    def close(self) -> None: ...


# Imports for the VectorStore port, kept next to it (the port was appended to this module).


class VectorStore(Protocol):
    """Schemas as searchable vectors (spec section 3: one point per schema, eq. 33).

    Contract (tested in ``tests/contract/test_vector_store.py``):

    * a point is a schema: its vector is the schema mean and its payload carries the
      schema id, the flattened covariance, the mean itself (the stored vector may be
      normalized by a cosine index), num_points, avg_reward and both timestamps (ISO text
      and raw nanoseconds);
    * ``upsert`` of an id that exists replaces that point; ``delete`` of an id that does
      not exist is a no-op;
    * ``search`` returns at most ``k`` (schema id, cosine score) pairs, best first, equal
      scores ordered by schema id, so the answer is deterministic for the same contents;
    * ``ids`` is sorted; ``points`` maps each id to its payload plus ``"vector"``;
    * operations on a collection that does not exist raise StoreError, except
      ``ensure_collection`` and ``recreate``; every backend failure is a StoreError with
      a one-line message naming where (URL or path) and what failed.
    """

    def ensure_collection(self, name: str, dim: int) -> None:
        """Create the collection (cosine distance, ``dim`` wide) unless it exists.

        StoreError when it exists with another dimension.
        """
        ...

    def recreate(self, name: str, dim: int) -> None:
        """Drop the collection if it exists and create it empty."""
        ...

    def upsert(self, name: str, schemas: Sequence[Schema]) -> None:
        """Insert or replace one point per schema, as one batch."""
        ...

    def delete(self, name: str, ids: Sequence[str]) -> None:
        """Remove the points of these schema ids (unknown ids are ignored)."""
        ...

    def search(self, name: str, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """Top-``k`` schemas by cosine similarity to ``vector`` (eq. 33), ties by id."""
        ...

    def ids(self, name: str) -> list[str]:
        """Every schema id in the collection, sorted."""
        ...

    def points(self, name: str) -> dict[str, dict[str, Any]]:
        """Schema id -> payload with the stored vector under ``"vector"`` (for tests)."""
        ...

    def snapshot(self, name: str, target_dir: Path) -> Path:
        """Write a snapshot or export of the collection under ``target_dir``; its path."""
        ...

    def close(self) -> None: ...


class SnapshotShelf(Protocol):
    """Where the nightly snapshots of the schema collections are kept (phase 4).

    Contract: a snapshot is a named blob inside a folder (one folder per collection, one
    name per night, ``core/vector_snapshot.snapshot_name``); ``save`` replaces it
    atomically (a reader sees the old bytes or the new, never a part); ``remove`` takes
    each named snapshot away atomically and ignores names that are not there; ``names``
    is sorted; ``load`` of a name that is not there is a NotFoundError; every other
    failure is a StoreError naming the file. ``where`` names a snapshot for messages.
    """

    def save(self, folder: str, name: str, data: bytes) -> None: ...

    def load(self, folder: str, name: str) -> bytes: ...

    def names(self, folder: str) -> list[str]: ...

    def remove(self, folder: str, names: Sequence[str]) -> None: ...

    def where(self, folder: str, name: str | None = None) -> str: ...
