"""Columnar event batches and the run digest: the unit the stores append and read.

An ``EventBatch`` is a contiguous run of encoded events of one run, held as columns
(numpy for numbers, lists for strings) so a store can hand it to Arrow/DuckDB without a
per-row Python loop. The run digest is a SHA-256 over the ordered events' sequence
number, kind, version, cycle, simulated time, entity and payload: wall-clock time never
enters it, and neither does the run id (the same scenario and seed digest the same in
any store, under any run id).

The hash chain is the per-row form of the same idea: a store gives row ``i`` the hash
``h_i = sha256(h_{i-1} || row_i)``, where ``row_i`` is the row's bytes as the digest
reads them and ``h_{-1}`` is the run's genesis (``run_genesis``): a hash of the run row's
identity (scenario name, scenario text, scenario hash, seed), so an edit of the run row
breaks the chain at its first row while the digest, which covers the events only, stays
what it always was. Stores written before the genesis existed started from 32 zero bytes
(``GENESIS``); ``verify`` accepts either. Recomputing the chain finds the first row that
was altered, inserted, deleted or moved (``first_broken_link``). Like the digest it
leaves out the run id and the wall clock (a run's chain does not depend on its name). It
detects changes made by anyone who does not rewrite every later row's hash as well; that
anchor is the digest kept with the run (and, for a stronger guarantee, a digest kept
outside the store, e.g. a baseline).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from janus_sim.core.codec import EncodedEvent

ARROW_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("seq", pa.int64()),
        ("cycle", pa.int32()),
        ("t_ns", pa.int64()),
        ("kind", pa.large_string()),
        ("entity", pa.large_string()),
        ("version", pa.int16()),
        ("payload", pa.large_string()),
    ]
)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One event as read back from a store."""

    run_id: str
    seq: int
    record: EncodedEvent


@dataclass(frozen=True, eq=False)
class EventBatch:
    """Encoded events ``seq[0] .. seq[-1]`` of run ``run_id``, as columns."""

    run_id: str
    seq: np.ndarray
    cycle: np.ndarray
    t_ns: np.ndarray
    kind: list[str]
    entity: list[str]
    version: np.ndarray
    payload: list[str]
    chain: list[bytes] | None = None
    """The rows' chain hashes as a store read them back (``None`` for unsaved batches)."""

    def __len__(self) -> int:
        return len(self.kind)

    @classmethod
    def from_records(
        cls, run_id: str, first_seq: int, records: Sequence[EncodedEvent]
    ) -> EventBatch:
        n = len(records)
        return cls(
            run_id=run_id,
            seq=np.arange(first_seq, first_seq + n, dtype=np.int64),
            cycle=np.fromiter((r.cycle for r in records), dtype=np.int32, count=n),
            t_ns=np.fromiter((r.t_ns for r in records), dtype=np.int64, count=n),
            kind=[r.kind for r in records],
            entity=[r.entity for r in records],
            version=np.fromiter((r.version for r in records), dtype=np.int16, count=n),
            payload=[r.payload for r in records],
        )

    @classmethod
    def empty(cls, run_id: str) -> EventBatch:
        return cls.from_records(run_id, 0, [])

    def records(self) -> Iterator[StoredEvent]:
        for i in range(len(self)):
            yield StoredEvent(
                run_id=self.run_id,
                seq=int(self.seq[i]),
                record=EncodedEvent(
                    kind=self.kind[i],
                    version=int(self.version[i]),
                    cycle=int(self.cycle[i]),
                    t_ns=int(self.t_ns[i]),
                    entity=self.entity[i],
                    payload=self.payload[i],
                ),
            )

    def is_contiguous(self) -> bool:
        return len(self) == 0 or bool(np.all(np.diff(self.seq) == 1))

    def to_arrow(self) -> pa.Table:
        """The batch as ``ARROW_SCHEMA`` columns, built from the numpy arrays and lists
        without a per-row Python step."""
        n = len(self)
        return pa.table(
            [
                pa.repeat(pa.scalar(self.run_id, pa.string()), n),
                pa.array(self.seq, pa.int64()),
                pa.array(self.cycle, pa.int32()),
                pa.array(self.t_ns, pa.int64()),
                pa.array(self.kind, pa.large_string()),
                pa.array(self.entity, pa.large_string()),
                pa.array(self.version, pa.int16()),
                pa.array(self.payload, pa.large_string()),
            ],
            schema=ARROW_SCHEMA,
        )

    @classmethod
    def from_arrow(cls, run_id: str, table: pa.Table) -> EventBatch:
        """Columns ``seq, cycle, t_ns, kind, entity, version, payload`` (and ``chain``
        when present) of ``table``."""
        names = table.column_names
        return cls(
            run_id=run_id,
            seq=table.column("seq").to_numpy().astype(np.int64, copy=False),
            cycle=table.column("cycle").to_numpy().astype(np.int32, copy=False),
            t_ns=table.column("t_ns").to_numpy().astype(np.int64, copy=False),
            kind=_repeated_text(table.column("kind")),
            entity=table.column("entity").to_pylist(),
            version=table.column("version").to_numpy().astype(np.int16, copy=False),
            payload=table.column("payload").to_pylist(),
            chain=table.column("chain").to_pylist() if "chain" in names else None,
        )

    def take(self, idx: np.ndarray) -> EventBatch:
        """The rows at positions ``idx``, in that order."""
        rows = idx.tolist()
        return EventBatch(
            run_id=self.run_id,
            seq=self.seq[idx],
            cycle=self.cycle[idx],
            t_ns=self.t_ns[idx],
            kind=[self.kind[i] for i in rows],
            entity=[self.entity[i] for i in rows],
            version=self.version[idx],
            payload=[self.payload[i] for i in rows],
            chain=None if self.chain is None else [self.chain[i] for i in rows],
        )

    def concat(self, other: EventBatch) -> EventBatch:
        if other.run_id != self.run_id:
            raise ValueError("cannot concatenate batches of different runs")
        return EventBatch(
            run_id=self.run_id,
            seq=np.concatenate([self.seq, other.seq]),
            cycle=np.concatenate([self.cycle, other.cycle]),
            t_ns=np.concatenate([self.t_ns, other.t_ns]),
            kind=self.kind + other.kind,
            entity=self.entity + other.entity,
            version=np.concatenate([self.version, other.version]),
            payload=self.payload + other.payload,
            chain=None if self.chain is None or other.chain is None else self.chain + other.chain,
        )


def _repeated_text(column: pa.ChunkedArray) -> list[str]:
    """A string column of few distinct values (event kinds) as a list, each distinct
    string made once and shared, not once per row as ``to_pylist`` makes them."""
    coded = column.combine_chunks().dictionary_encode()
    if coded.null_count:
        return column.to_pylist()
    words = np.array(coded.dictionary.to_pylist(), dtype=object)
    return words[coded.indices.to_numpy(zero_copy_only=False)].tolist()


def _rows(batch: EventBatch) -> Iterator[bytes]:
    """Each row's bytes as the digest and the chain read them (fields in a fixed order).

    The reference definition, one row at a time; ``_row_buffer`` builds the same bytes
    for a whole batch at C speed and is what the digest and the chain use."""
    seq, version, cycle, t_ns = (
        c.tolist() for c in (batch.seq, batch.version, batch.cycle, batch.t_ns)
    )
    for i in range(len(batch)):
        yield (
            f"{seq[i]}\x1f{batch.kind[i]}\x1f{version[i]}\x1f{cycle[i]}\x1f{t_ns[i]}\x1f"
            f"{batch.entity[i]}\x1f{batch.payload[i]}\x1e".encode()
        )


_ROW_ORDER = ("seq", "kind", "version", "cycle", "t_ns", "entity", "payload")
_EMPTY = pa.scalar("", pa.large_string())
_BETWEEN_FIELDS = pa.scalar("\x1f", pa.large_string())
_END_OF_ROW = pa.scalar("\x1e", pa.large_string())


def _large_text(column: pa.ChunkedArray) -> pa.Array:
    """One column as one Arrow large-string array (integers in decimal, as ``str``)."""
    col = column.combine_chunks()
    return col if col.type == pa.large_string() else pc.cast(col, pa.large_string())


_ARROW_FROM = 200
"""Batches of at least this many rows build their row bytes with Arrow (measured: the
two cross between 100 and 1,000 rows); the bytes are the same either way."""


def _reference_buffer(batch: EventBatch) -> tuple[memoryview, list[int]]:
    parts = list(_rows(batch))
    return memoryview(b"".join(parts)), np.cumsum([0, *map(len, parts)]).tolist()


def _row_buffer(batch: EventBatch, table: pa.Table | None = None) -> tuple[memoryview, list[int]]:
    """All rows' bytes (``_rows``) end to end, and the ``n + 1`` offsets between them.

    Built by Arrow kernels over ``table`` (``batch.to_arrow()``, which a store that has
    it passes in) instead of one f-string per row; integers print in decimal exactly as
    Python's ``str`` does. Text Arrow cannot hold (a lone surrogate, say) takes the
    reference path, so it fails exactly as it always did."""
    n = len(batch)
    if not n:
        return memoryview(b""), [0]
    if n < _ARROW_FROM:  # Arrow's fixed cost per call (~0.1 ms) beats it on few rows
        return _reference_buffer(batch)
    if table is None:
        try:
            table = batch.to_arrow()
        except (pa.ArrowException, TypeError, ValueError, UnicodeError):
            return _reference_buffer(batch)
    text = [_large_text(table.column(name)) for name in _ROW_ORDER]
    # The short fields first (each followed by the separator), then one join that copies
    # every payload once: cheaper than joining the payloads with anything twice.
    head = pc.binary_join_element_wise(*text[:-1], _EMPTY, _BETWEEN_FIELDS)
    rows = pc.binary_join_element_wise(head, text[-1], _END_OF_ROW, _EMPTY)
    if rows.null_count:  # a None where a string belongs: Python's f-string writes "None"
        return _reference_buffer(batch)
    offsets_buf, data_buf = rows.buffers()[1:3]
    where = np.frombuffer(offsets_buf, dtype=np.int64)[rows.offset : rows.offset + n + 1]
    start, end = int(where[0]), int(where[-1])
    data = memoryview(data_buf)[start:end] if data_buf is not None else memoryview(b"")
    return data, (where - start).tolist()


GENESIS = bytes(32)
"""The hash before a run's first row in stores written before ``run_genesis`` existed."""


def run_genesis(scenario_name: str, scenario_text: str, scenario_hash: str, seed: int) -> bytes:
    """The hash before a run's first row: the run row's identity, which never changes
    after ``create_run`` (the run id aside, so that a chain does not depend on a name)."""
    blob = "\x1f".join(("janus-run-v1", scenario_name, scenario_text, scenario_hash, str(seed)))
    return hashlib.sha256(blob.encode()).digest()


def chain_hashes(prev: bytes, batch: EventBatch, table: pa.Table | None = None) -> list[bytes]:
    """The chain hashes of ``batch``'s rows, continuing from ``prev`` (see the docstring);
    ``table`` is ``batch.to_arrow()`` when the caller has it already."""
    data, offsets = _row_buffer(batch, table)
    out: list[bytes] = []
    h = prev
    sha = hashlib.sha256
    for a, b in pairwise(offsets):
        h = sha(h + data[a:b]).digest()
        out.append(h)
    return out


def first_broken_link(batch: EventBatch, prev: bytes | None = None) -> int | None:
    """Position of the first row whose stored chain hash is not the recomputed one.

    ``prev`` is the hash before the first row (a genesis, or the row before a slice);
    None takes the first row's stored hash as given and checks every link after it
    (``verify`` passes the run's genesis)."""
    if batch.chain is None or (len(batch) and batch.chain[0] is None):
        return 0 if len(batch) else None
    if prev is None:
        if not len(batch):
            return None
        rest = first_broken_link(batch.take(np.arange(1, len(batch))), batch.chain[0])
        return None if rest is None else rest + 1
    for i, (stored, fresh) in enumerate(zip(batch.chain, chain_hashes(prev, batch), strict=True)):
        if stored != fresh:
            return i
    return None


class RunDigest:
    """Incremental SHA-256 over a run's ordered events (see the module docstring)."""

    def __init__(self) -> None:
        self._h = hashlib.sha256()
        self.n_events = 0

    def update(self, batch: EventBatch) -> None:
        # The rows end to end are what a row-by-row update would hash: one call.
        self._h.update(_row_buffer(batch)[0])
        self.n_events += len(batch)

    def hexdigest(self) -> str:
        return self._h.hexdigest()


def digest_of(batches: Sequence[EventBatch]) -> str:
    d = RunDigest()
    for b in batches:
        d.update(b)
    return d.hexdigest()


ROW_FIELDS = ("kind", "version", "cycle", "t_ns", "entity", "payload")
"""The stored columns two logs are compared on, in reporting order (``seq`` aside)."""


def first_difference(a: EventBatch, b: EventBatch) -> tuple[int, str] | None:
    """(row, field) of the first row, over the two batches' common length, at which they
    differ; the field is the first of ``ROW_FIELDS`` that differs in that row. None when
    the common rows are equal (lengths are the caller's to compare).

    The one rule for "where do two logs part": the engine's resume and replay check and
    ``compare`` all use it."""
    n = min(len(a), len(b))
    first: tuple[int, str] | None = None
    for name in ROW_FIELDS:
        ca, cb = getattr(a, name), getattr(b, name)
        if isinstance(ca, np.ndarray):
            idx = np.flatnonzero(ca[:n] != cb[:n])
            hit = int(idx[0]) if len(idx) else None
        elif ca[:n] == cb[:n]:  # C-speed for the common case of equal string columns
            hit = None
        else:
            hit = next(i for i in range(n) if ca[i] != cb[i])
        # Strictly earlier rows only: at a tie the field named first in ROW_FIELDS stands.
        if hit is not None and (first is None or hit < first[0]):
            first = (hit, name)
    return first
