"""In-memory reference implementation of the ``EventStore`` port.

Every contract rule of ``janus_sim.ports`` is enforced here in plain Python (the rules
themselves are ``store_rules``) so that the contract suite (``tests/contract``) has an
obviously-correct twin for the DuckDB adapter. Nothing is persisted and nothing touches
the world beyond the wall-clock metadata of ``store_rules.now_utc``, which is why it
lives beside the port rather than among the adapters; batches are copied on the way in
and on the way out so callers can never alias stored data.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from janus_sim.errors import StoreError
from janus_sim.eventlog import EventBatch, chain_hashes, run_genesis
from janus_sim.ports import EventQuery, RunInfo, RunStatus
from janus_sim.store_rules import (
    ALL_EVENTS,
    check_append,
    check_query,
    check_status,
    now_utc,
    unknown_run,
)


def _copy(batch: EventBatch) -> EventBatch:
    return EventBatch(
        run_id=batch.run_id,
        seq=np.array(batch.seq, dtype=np.int64),
        cycle=np.array(batch.cycle, dtype=np.int32),
        t_ns=np.array(batch.t_ns, dtype=np.int64),
        kind=list(batch.kind),
        entity=list(batch.entity),
        version=np.array(batch.version, dtype=np.int16),
        payload=list(batch.payload),
    )


class MemoryEventStore:
    """The ``EventStore`` port over a dict of runs and a list of batches per run."""

    where = "memory store"

    def __init__(self) -> None:
        self._runs: dict[str, RunInfo] = {}  # insertion-ordered: list_runs is oldest first
        self._batches: dict[str, list[EventBatch]] = {}
        self._last_seq: dict[str, int] = {}
        self._tip: dict[str, bytes] = {}  # each run's last chain hash
        self._closed = False

    def _open(self) -> None:
        if self._closed:
            raise StoreError(f"{self.where} is closed")

    def _info(self, run_id: str) -> RunInfo:
        self._open()
        info = self._runs.get(run_id)
        if info is None:
            raise unknown_run(run_id, self.where, list(self._runs))
        return info

    def create_run(self, info: RunInfo) -> None:
        """Register a new run; StoreError if the id is taken. Empty ``started_at`` is set."""
        self._open()
        check_status(info.status, self.where)
        if info.run_id in self._runs:
            raise StoreError(f"{self.where}: run {info.run_id!r} already exists")
        if not info.started_at:
            info = replace(info, started_at=now_utc())
        self._runs[info.run_id] = replace(info, versions=dict(info.versions))
        self._batches[info.run_id] = []
        self._last_seq[info.run_id] = -1
        self._tip[info.run_id] = run_genesis(
            info.scenario_name, info.scenario_text, info.scenario_hash, info.seed
        )

    def append(self, batch: EventBatch) -> None:
        """All of ``batch`` or nothing; see ``check_append`` for the sequence rules."""
        self._info(batch.run_id)
        check_append(batch, self._last_seq[batch.run_id], self.where)
        if len(batch) == 0:
            return
        # Validate the string columns here: DuckDB rejects non-strings and NULLs, and the
        # reference store must reject exactly what the real one does.
        strings = {"kind": batch.kind, "entity": batch.entity, "payload": batch.payload}
        for name, column in strings.items():
            if not all(isinstance(v, str) for v in column):
                raise StoreError(
                    f"{self.where}: batch for run {batch.run_id!r} has a non-string {name}; "
                    "nothing written"
                )
        stored = _copy(batch)
        chain = chain_hashes(self._tip[batch.run_id], stored)
        self._batches[batch.run_id].append(replace(stored, chain=chain))
        self._last_seq[batch.run_id] = int(batch.seq[-1])
        self._tip[batch.run_id] = chain[-1]

    def finish_run(
        self, run_id: str, status: RunStatus, digest: str | None, message: str | None = None
    ) -> None:
        """Record the outcome; ``n_events`` becomes the number of stored events."""
        info = self._info(run_id)
        check_status(status, self.where)
        self._runs[run_id] = replace(
            info,
            status=status,
            digest=digest,
            message=message,
            finished_at=now_utc(),
            n_events=self._last_seq[run_id] + 1,
        )

    def get_run(self, run_id: str) -> RunInfo:
        return self._as_read(self._info(run_id))

    def list_runs(self) -> list[RunInfo]:
        """All runs, oldest first; a run not finished with its stored events counted
        (as the DuckDB store reads them)."""
        self._open()
        return [self._as_read(i) for i in self._runs.values()]

    def _as_read(self, info: RunInfo) -> RunInfo:
        n = info.n_events if info.status == "finished" else self._last_seq[info.run_id] + 1
        return replace(info, versions=dict(info.versions), n_events=n)

    def last_seq(self, run_id: str) -> int:
        """The highest sequence number of the run, or -1 when it has no events."""
        self._info(run_id)
        return self._last_seq[run_id]

    def read(self, run_id: str, query: EventQuery = ALL_EVENTS) -> EventBatch:
        """Events of ``run_id`` matching ``query`` (inclusive bounds), in seq order."""
        self._info(run_id)
        check_query(query, self.where)
        everything = replace(EventBatch.empty(run_id), chain=[])
        for b in self._batches[run_id]:
            everything = everything.concat(b)
        q = query
        mask = np.ones(len(everything), dtype=bool)
        for column, lo, hi in (
            (everything.cycle, q.cycle_min, q.cycle_max),
            (everything.t_ns, q.t_min, q.t_max),
            (everything.seq, q.seq_min, q.seq_max),
        ):
            if lo is not None:
                mask &= column >= lo
            if hi is not None:
                mask &= column <= hi
        if q.kinds is not None:
            wanted = set(q.kinds)
            mask &= np.fromiter((k in wanted for k in everything.kind), bool, len(everything))
        if q.entity is not None:
            mask &= np.fromiter((e == q.entity for e in everything.entity), bool, len(everything))
        idx = np.flatnonzero(mask)
        if q.limit is not None:
            idx = idx[len(idx) - min(q.limit, len(idx)) :] if q.tail else idx[: q.limit]
        return everything.take(idx)

    def close(self) -> None:
        """Drop everything; later calls raise StoreError. Idempotent."""
        self._closed = True
        self._runs.clear()
        self._batches.clear()
        self._last_seq.clear()
        self._tip.clear()
