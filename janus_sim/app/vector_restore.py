"""Restore a run's schema collection as of one night from that night's snapshot (issue 19,
item 4).

The log says what the collection held after night N: its ``vector_store_synced`` event
names the snapshot and records the SHA-256 of its bytes. ``restore_collection`` finds
that event, reads the snapshot from the shelf, refuses it when its checksum differs from
the log's (nothing is touched then), and recreates the collection from its points, in one
batch. The result equals ``rebuild_collection`` as of cycle N (tested): a snapshot is a
faster way to the same points, never another truth.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from janus_sim.app.vector_sync import collection_name
from janus_sim.core.codec import CodecError, decode
from janus_sim.core.events import VectorStoreSynced
from janus_sim.core.neocortex import Schema
from janus_sim.core.vector_snapshot import checksum, cycle_of, schema_of
from janus_sim.errors import NotFoundError, StoreError
from janus_sim.ports import EventQuery, EventStore, SnapshotShelf, VectorStore
from janus_sim.scenario_text import parse_scenario


@dataclass(frozen=True)
class Restored:
    """What ``restore_collection`` did: the collection, the night, its points, the file."""

    collection: str
    cycle: int
    n_points: int
    snapshot: str


def _cycles(numbers: list[int]) -> str:
    return ", ".join(str(c) for c in numbers) if numbers else "none"


def synced_nights(store: EventStore, run_id: str) -> dict[int, VectorStoreSynced]:
    """The run's ``vector_store_synced`` events by cycle (NotFoundError for no run)."""
    out: dict[int, VectorStoreSynced] = {}
    for row in store.read(run_id, EventQuery(kinds=[VectorStoreSynced.KIND])).records():
        try:
            event = decode(row.record)
        except CodecError as e:
            raise StoreError(f"run {run_id!r}: event {row.seq} does not decode: {e}") from e
        if isinstance(event, VectorStoreSynced):
            out[event.cycle] = event
    return out


def read_snapshot(data: bytes, where: str) -> list[Schema]:
    """The schemas of a snapshot file's bytes; StoreError naming ``where`` when a line is
    not a point ``snapshot_text`` writes."""
    out: list[Schema] = []
    for n, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
        try:
            out.append(schema_of(json.loads(line)["payload"]))
        except (ValueError, KeyError, TypeError) as e:
            raise StoreError(f"snapshot {where}, line {n}: not a schema point ({e})") from e
    return out


@dataclass(frozen=True)
class Night:
    """A checked snapshot, ready to load: the collection, its width and its schemas."""

    collection: str
    cycle: int
    dim: int
    schemas: list[Schema]
    snapshot: str


def checked_night(store: EventStore, shelf: SnapshotShelf, run_id: str, cycle: int) -> Night:
    """The snapshot of run ``run_id``'s night ``cycle``, read and checked against the log;
    touches no vector store.

    NotFoundError: the run recorded no such night, or no snapshot of it is kept (the
    message names the cycles whose snapshots are). StoreError: the snapshot's checksum is
    not the log's, or a line of it is no schema point (the message names the file).
    """
    nights = synced_nights(store, run_id)
    if not nights:
        raise NotFoundError(
            f"run {run_id!r} recorded no vector store snapshots (its log predates them): "
            "recreate its collection with janus-sim rebuild --qdrant"
        )
    if cycle not in nights:
        raise NotFoundError(
            f"run {run_id!r} has no night {cycle}: its nights are {min(nights)}-{max(nights)}"
        )
    record = nights[cycle]
    name = collection_name(run_id)
    kept = shelf.names(name)
    if record.snapshot not in kept:
        have = sorted(c for n in kept if (c := cycle_of(n)) is not None and c in nights)
        raise NotFoundError(
            f"no snapshot of run {run_id!r} for cycle {cycle} in {shelf.where(name)}; "
            f"snapshots are kept for cycles: {_cycles(have)}"
        )
    where = shelf.where(name, record.snapshot)
    data = shelf.load(name, record.snapshot)
    found = checksum(data)
    if found != record.checksum:
        raise StoreError(
            f"snapshot {where} does not match the log (it hashes to {found}, the log "
            f"recorded {record.checksum}): not restored; janus-sim rebuild --qdrant "
            "recreates the collection from the log"
        )
    schemas = read_snapshot(data, where)
    if schemas:
        dim = schemas[0].dim
    else:  # an empty night: the collection's width is the schemas' feature count
        info = store.get_run(run_id)
        dim = len(parse_scenario(info.scenario_text, info.scenario_source).memory_columns())
    return Night(name, cycle, dim, schemas, where)


def load_night(vs: VectorStore, night: Night) -> Restored:
    """Recreate ``night``'s collection in ``vs`` from its schemas, in one batch."""
    vs.recreate(night.collection, night.dim)
    vs.upsert(night.collection, night.schemas)
    return Restored(night.collection, night.cycle, len(night.schemas), night.snapshot)


def restore_collection(
    store: EventStore, vs: VectorStore, shelf: SnapshotShelf, run_id: str, cycle: int
) -> Restored:
    """Recreate run ``run_id``'s collection as it was after night ``cycle``
    (``checked_night`` then ``load_night``; its errors leave ``vs`` untouched)."""
    return load_night(vs, checked_night(store, shelf, run_id, cycle))


__all__ = [
    "Night",
    "Restored",
    "checked_night",
    "load_night",
    "read_snapshot",
    "restore_collection",
    "synced_nights",
]
