"""Where the engine's batches go: appended to the log, or checked against what it holds.

The engine regenerates a run's events in sequence order and hands each batch to one
``LogSink``. Events below ``stored`` (the length of the log when the sink was made) are
already in the log; each is compared with the stored one and the first difference is a
``ReplayMismatch``. Events at or beyond ``stored`` are appended, or, for a check-only
sink (``verify --replay``), are themselves a mismatch: the log ends before them.

* a new run: ``LogSink.appending(store, run_id)`` (nothing stored, everything appended);
* a resume: ``LogSink.resuming(store, run_id, stored)`` (check the prefix, append the rest);
* a replay check: ``LogSink.checking(store, run_id, stored)`` (check everything; then
  ``finish`` says whether the log holds events the replay did not write).
"""

from __future__ import annotations

import numpy as np

from janus_sim.errors import StoreError
from janus_sim.eventlog import EventBatch, first_difference
from janus_sim.ports import EventQuery, EventStore


class ReplayMismatch(StoreError):
    """A regenerated event differs from the stored event with the same sequence number
    (resume or replay check); the CLI exits 1."""

    exit_code = 1

    def __init__(self, run_id: str, seq: int, problem: str) -> None:
        self.run_id = run_id
        self.seq = seq
        self.problem = problem
        super().__init__(f"run {run_id!r}: event {seq} {problem}")


class LogSink:
    """Takes a run's batches in sequence order; see the module docstring for the modes."""

    def __init__(self, store: EventStore, run_id: str, *, stored: int, appends: bool) -> None:
        self.store = store
        self.run_id = run_id
        self.stored = stored
        """Events the log held when the sink was made; they are checked, not written."""
        self.appends = appends
        """Whether events beyond the stored ones are written (False: a check only)."""

    @classmethod
    def appending(cls, store: EventStore, run_id: str) -> LogSink:
        return cls(store, run_id, stored=0, appends=True)

    @classmethod
    def resuming(cls, store: EventStore, run_id: str, stored: int) -> LogSink:
        return cls(store, run_id, stored=stored, appends=True)

    @classmethod
    def checking(cls, store: EventStore, run_id: str, stored: int) -> LogSink:
        return cls(store, run_id, stored=stored, appends=False)

    def write(self, batch: EventBatch) -> None:
        """Check the part of ``batch`` the log already holds; append (or refuse) the rest."""
        first = int(batch.seq[0])
        known = min(len(batch), max(0, self.stored - first))
        if known:
            self._check(batch.take(np.arange(known)))
        if known < len(batch):
            if not self.appends:
                raise ReplayMismatch(
                    self.run_id, first + known, "is missing: the log ends before it"
                )
            self.store.append(batch if known == 0 else batch.take(np.arange(known, len(batch))))

    def finish(self, next_seq: int) -> None:
        """After the last batch: the log must not hold events the run did not write."""
        if next_seq < self.stored:
            raise ReplayMismatch(
                self.run_id,
                next_seq,
                f"and later are extra: the replay ends at event {next_seq - 1}",
            )

    def _check(self, fresh: EventBatch) -> None:
        first, last = int(fresh.seq[0]), int(fresh.seq[-1])
        stored = self.store.read(self.run_id, EventQuery(seq_min=first, seq_max=last))
        if len(stored) != len(fresh) or not np.array_equal(stored.seq, fresh.seq):
            missing = sorted(set(fresh.seq.tolist()) - set(stored.seq.tolist()))
            raise ReplayMismatch(self.run_id, missing[0] if missing else first, "is missing")
        diff = first_difference(stored, fresh)
        if diff is not None:
            row, name = diff
            a, b = getattr(stored, name)[row], getattr(fresh, name)[row]
            raise ReplayMismatch(
                self.run_id,
                int(fresh.seq[row]),
                f"{name} is {_short(a)} in the log, {_short(b)} on replay",
            )


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
