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

import hashlib
from collections.abc import Sequence
from typing import Any, NoReturn

import numpy as np

from janus_sim.app.compare import (
    DEFAULT_TOLERANCES,
    CycleRow,
    compare_cycles,
    reach_of,
    read_cycles,
)
from janus_sim.app.divergence import (
    Divergence,
    FieldDiff,
    Reach,
    first_divergence_in,
    length_divergence,
)
from janus_sim.app.scenario_identity import ConfigChange
from janus_sim.core import events as ev
from janus_sim.core.codec import decode
from janus_sim.errors import StoreError
from janus_sim.eventlog import EventBatch
from janus_sim.ports import EventQuery, EventStore


class ReplayMismatch(StoreError):
    """A regenerated event differs from the stored event with the same sequence number
    (resume or replay check); the CLI exits 1. ``divergence`` is the full report (field
    diff, cycles reached) and ``changes`` the configuration the code resolved differently.
    """

    exit_code = 1

    def __init__(
        self,
        run_id: str,
        seq: int,
        problem: str,
        divergence: Divergence | None = None,
        changes: Sequence[ConfigChange] = (),
    ) -> None:
        self.run_id = run_id
        self.seq = seq
        self.problem = problem
        self.divergence = divergence
        self.changes = tuple(changes)
        super().__init__(f"run {run_id!r}: event {seq} {problem}")


class ConfigChanged(ReplayMismatch):
    """The stored run's scenario file and seed are this one's, but this code resolves it
    to another configuration (a default changed): the log cannot be extended, and the
    first behavioural divergence, if any, is named."""


class LogSink:
    """Takes a run's batches in sequence order; see the module docstring for the modes.

    On the first difference the sink stops appending and keeps checking nothing more: it
    only collects the fresh ``cycle_metrics`` so that the mismatch can say which later
    cycles the divergence reached, and raises once the simulation passes the stored log
    (or at ``conclude``/``finish``). ``changes`` (a resume or replay across a changed
    default) lets ``run_started``'s metadata differ and forbids appending.
    """

    def __init__(
        self,
        store: EventStore,
        run_id: str,
        *,
        stored: int,
        appends: bool,
        changes: Sequence[ConfigChange] | None = None,
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.stored = stored
        """Events the log held when the sink was made; they are checked, not written."""
        self.changes = changes
        """Not None: this code resolves the run's scenario differently (these changes)."""
        self.appends = appends and changes is None
        """Whether events beyond the stored ones are written (False: a check only)."""
        self.divergence: Divergence | None = None
        self._seen = 0  # events compared or collected so far (all below ``stored``)
        self._metadata: tuple[FieldDiff, ...] = ()
        self._fresh: dict[int, CycleRow] = {}
        self._kinds: dict[tuple[int, str], Any] = {}  # (cycle, kind) -> running sha256

    @classmethod
    def appending(cls, store: EventStore, run_id: str) -> LogSink:
        return cls(store, run_id, stored=0, appends=True)

    @classmethod
    def resuming(
        cls,
        store: EventStore,
        run_id: str,
        stored: int,
        changes: Sequence[ConfigChange] | None = None,
    ) -> LogSink:
        return cls(store, run_id, stored=stored, appends=True, changes=changes)

    @classmethod
    def checking(
        cls,
        store: EventStore,
        run_id: str,
        stored: int,
        changes: Sequence[ConfigChange] | None = None,
    ) -> LogSink:
        return cls(store, run_id, stored=stored, appends=False, changes=changes)

    def write(self, batch: EventBatch) -> None:
        """Check the part of ``batch`` the log already holds; append (or refuse) the rest."""
        first = int(batch.seq[0])
        known = min(len(batch), max(0, self.stored - first))
        self._collect(batch.take(np.arange(known)))
        self._seen = first + known
        if known and self.divergence is None:
            self._check(batch.take(np.arange(known)))
        if known == len(batch):
            return
        if self.divergence is not None:
            self._raise()
        if not self.appends:
            extra = batch.take(np.arange(known, known + 1))
            self.divergence = length_divergence(first + known, "A", extra, self._metadata)
            self._raise("is missing: the log ends before it")
        self.store.append(batch if known == 0 else batch.take(np.arange(known, len(batch))))

    def conclude(self) -> None:
        """After the simulation: raise the mismatch found on the way, if any."""
        if self.divergence is not None or self.changes is not None:
            self._raise()

    def finish(self, next_seq: int) -> None:
        """After the last batch: the log must not hold events the run did not write."""
        if self.divergence is None and next_seq < self.stored:
            extra = self.store.read(self.run_id, EventQuery(seq_min=next_seq, seq_max=next_seq))
            self.divergence = length_divergence(next_seq, "B", extra, self._metadata)
            self._raise(f"and later are extra: the replay ends at event {next_seq - 1}")
        self.conclude()

    def _collect(self, batch: EventBatch) -> None:
        """Keep the fresh cycle metrics (one event a night) and a hash of each cycle's
        events of each kind, for the reach of a mismatch."""
        _hash_kinds(batch, self._kinds)
        for i, kind in enumerate(batch.kind):
            if kind == "cycle_metrics":
                event = decode(next(iter(batch.take(np.array([i])).records())).record)
                assert isinstance(event, ev.CycleMetrics)
                self._fresh[event.cycle] = CycleRow(event.date, event.as_dict())

    def _check(self, fresh: EventBatch) -> None:
        first, last = int(fresh.seq[0]), int(fresh.seq[-1])
        stored = self.store.read(self.run_id, EventQuery(seq_min=first, seq_max=last))
        if len(stored) != len(fresh) or not np.array_equal(stored.seq, fresh.seq):
            seq, problem = _misplaced(stored.seq, fresh.seq)
            self.divergence = Divergence(seq, "seq", f"stored event {seq} {problem}")
            self._raise(problem)
        hit, self._metadata = first_divergence_in(
            stored, fresh, self._metadata, skip_metadata=self.changes is not None
        )
        if hit is not None:
            self.divergence = hit

    def _reach(self, d: Divergence) -> Divergence:
        stored = read_cycles(self.store, self.run_id)
        both = sorted(set(stored) & set(self._fresh))
        cycles = compare_cycles(
            {c: stored[c] for c in both}, {c: self._fresh[c] for c in both}, DEFAULT_TOLERANCES
        )
        metrics = {r.cycle: r.metrics for r in reach_of(cycles, d)}
        kinds: dict[tuple[int, str], Any] = {}
        _hash_kinds(self.store.read(self.run_id, EventQuery(seq_max=self._seen - 1)), kinds)
        moved: dict[int, list[str]] = {}
        for key in sorted(set(kinds) | set(self._kinds)):
            old, new = (h.digest() if h else None for h in (kinds.get(key), self._kinds.get(key)))
            if key[0] >= (d.cycle or 0) and old != new:
                moved.setdefault(key[0], []).append(f"{key[1]} events")
        reach = [
            Reach(c, tuple(metrics.get(c, ())) + tuple(moved.get(c, ())))
            for c in sorted(set(metrics) | set(moved))
        ]
        return d.with_reach(reach)

    def _raise(self, problem: str | None = None) -> NoReturn:
        d = self.divergence
        if d is not None and d.cycle is not None and d.field != "seq":
            d = self._reach(d)
        changes = tuple(self.changes or ())
        if d is None:  # a config change, and every stored event agrees with this code
            text = "; ".join(c.line() for c in changes) or "its recorded scenario hash"
            raise ConfigChanged(
                self.run_id,
                self.stored,
                f"and every stored event before it agree with this code, but this code "
                f"resolves the run's scenario differently ({text}): its log cannot be "
                "extended; use the janus-sim version that started it, or start a new run",
                None,
                changes,
            )
        what = problem or _problem(d)
        cls = ConfigChanged if self.changes is not None else ReplayMismatch
        if self.changes is not None:
            text = "; ".join(c.line() for c in changes) or "its recorded scenario hash"
            what += f" (this code resolves the run's scenario differently: {text})"
        raise cls(self.run_id, d.seq, what, d, changes)


def _misplaced(stored: np.ndarray, fresh: np.ndarray) -> tuple[int, str]:
    """(seq, what is wrong) at the first row where the stored sequence numbers part from
    the fresh ones: the same seq ``verify`` names without a replay."""
    n = min(len(stored), len(fresh))
    parts = np.flatnonzero(stored[:n] != fresh[:n])
    i = int(parts[0]) if len(parts) else n
    if i >= len(stored):
        return int(fresh[i]), "is missing"
    found = int(stored[i])
    if i and found == int(stored[i - 1]):
        return found, "is stored twice"
    if i < len(fresh) and found > int(fresh[i]):
        return int(fresh[i]), "is missing"
    return found, "is out of place"


def _hash_kinds(batch: EventBatch, into: dict[tuple[int, str], Any]) -> None:
    """Fold each row's entity and payload into the running hash of its (cycle, kind)."""
    for i, kind in enumerate(batch.kind):
        key = (int(batch.cycle[i]), kind)
        h = into.get(key)
        if h is None:
            h = into[key] = hashlib.sha256()
        h.update(batch.entity[i].encode() + b"\0" + batch.payload[i].encode() + b"\1")


def _problem(d: Divergence) -> str:
    """One line: what differs in the event, in the log's terms (stored vs replay)."""
    where = f"({d.headline().split(': ', 1)[-1]})"
    if not d.fields:
        return f"{where}: {d.detail}"
    f = d.fields[0]
    if f.path in ("kind", "version", "cycle", "t_ns", "entity"):
        return f"{f.path} is {f.expected} in the log, {f.actual} on replay {where}"
    head = f.line().replace("expected ", "log ").replace("actual ", "replay ")
    return f"payload is different {where}: {head}"
