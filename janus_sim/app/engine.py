"""The engine: drives days through the core and hands the events to the log.

It is given everything it touches (the store, the vector store, the stop flag, the
bars); ``janus_sim.wiring`` assembles it. Where the batches go is its ``LogSink``
(``log_sink.py``): appended for a new run, checked then appended for a resume, checked
only for ``replay_check``.

For each trading day: the awake day, then the sleep cycle; after each, the recorder's
events are encoded, stamped with gap-free sequence numbers and appended to the store as
one batch, and the run digest is updated. The run row says ``running`` until the last
batch (``run_finished``) is committed; a run that stops early is marked ``failed`` with
the reason, so no run can look complete when it is not.

Each night ends with a whole-state checkpoint (``core/checkpoint.py``: buffer window,
priorities, policy, separation weights, schemas, generator states, phase 3's among
them; the portable map itself is rebuilt from the night's ``projection_fitted``).
Resuming a run that
stopped early re-simulates it from the start (or, when asked, from its last stored
checkpoint): the engine is deterministic, so every regenerated event must equal the
stored one (checked, not appended) until the stored log ends, after which new events
are appended. The log is
never rewritten, and the resumed run's digest equals that of an uninterrupted run. The
same replay from event 0, run over a finished log, is ``replay_check``: it names the
first stored event that this code and scenario would not have written.

BLAS is pinned to one thread for the whole run (threadpoolctl) so results cannot depend
on the machine's core count.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
from threadpoolctl import threadpool_limits

from janus_sim import __version__, numerics
from janus_sim.app.log_sink import LogSink
from janus_sim.app.run_inputs import initial_event, library_versions, run_generators
from janus_sim.app.run_outcome import Observer, RunInterrupted, RunResult, RunStalled
from janus_sim.app.scenario_identity import (
    ConfigChange,
    config_changes,
    data_change,
    file_identity,
    resolved_config,
)
from janus_sim.app.vector_sync import collection_name, sync_schemas
from janus_sim.config import Scenario
from janus_sim.config.names import check_run_id
from janus_sim.core import checkpoint, vector_snapshot
from janus_sim.core import events as ev
from janus_sim.core.awake import run_day
from janus_sim.core.codec import CodecError, decode, encode
from janus_sim.core.map_phase import ProjectionModel
from janus_sim.core.market import ObservedBars
from janus_sim.core.neocortex import Schema
from janus_sim.core.sleep import sleep_cycle
from janus_sim.core.state import Recorder, SimState
from janus_sim.core.world import World
from janus_sim.errors import NotFoundError, StoreError, StoreLocked
from janus_sim.eventlog import EventBatch, RunDigest
from janus_sim.ports import EventQuery, EventStore, RunInfo, SnapshotShelf, VectorStore

DIGEST_CHUNK = 100_000
"""Events per read when hashing a stored prefix on resume (bounds memory)."""


class Engine:
    """Runs one scenario into one store under one run id."""

    def __init__(
        self,
        scenario: Scenario,
        store: EventStore,
        *,
        run_id: str,
        scenario_source: str = "",
        scenario_text: str = "",
        observer: Observer | None = None,
        clock: Callable[[], str] | None = None,
        should_stop: Callable[[], str | None] | None = None,
        vector_store: VectorStore | None = None,
        snapshots: SnapshotShelf | None = None,
        market_data: ObservedBars | None = None,
    ) -> None:
        self.scenario = scenario
        self.store = store
        self.run_id = run_id
        self.observer = observer or Observer()
        self._source = scenario_source
        # Without the file's text, keep the canonical JSON (valid YAML): verify --replay
        # re-simulates from whatever is stored here.
        self._text = scenario_text or scenario.canonical_json()
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
        self._should_stop = should_stop or (lambda: None)
        # Phase 4: the vector store is a projection of the log, kept in sync after each
        # night; it never enters the log, and its failure never stops the run.
        self.vector_store = vector_store
        self.vector_error: str | None = None
        self._snapshots = snapshots
        # The bars of a data-backed market, read by the caller (adapters.bars_file).
        self._market_data = market_data
        self._synced: dict[str, Schema] | None = None  # None: collection not made yet
        self._digest = RunDigest()
        self._next_seq = 0
        self._log: LogSink | None = None  # made by run / resume / replay_check
        self.state: SimState | None = None
        """The live state once ``run`` has started (for inspection and tests)."""

    def _flush(self, rec: Recorder) -> None:
        records = [encode(e) for e in rec.drain()]
        if not records:
            return
        batch = EventBatch.from_records(self.run_id, self._next_seq, records)
        self._sink().write(batch)
        self._digest.update(batch)
        self._next_seq += len(records)
        signal_name = self._should_stop()
        if signal_name is not None:
            raise RunInterrupted(signal_name, self._next_seq)

    def _sink(self) -> LogSink:
        if self._log is None:
            raise RuntimeError("the engine writes only inside run, resume or replay_check")
        return self._log

    def _sync_vectors(self, state: SimState, dim: int) -> None:
        """Phase 4 outside the core: upsert the night's new and changed schemas and delete
        the pruned (one batch each), save the night's snapshot (the bytes whose checksum
        ``vector_store_synced`` recorded) and remove those retention lets go."""
        vs = self.vector_store
        if vs is None or self.vector_error is not None or not self._sink().appends:
            return
        name = collection_name(self.run_id)
        try:
            if self._synced is None:
                vs.recreate(name, dim)  # a fresh projection, also when resuming
                self._synced = {}
            after = dict(state.schemas)
            sync_schemas(vs, name, self._synced, after)
            self._synced = after
            record = state.vector_sync
            if self._snapshots is not None and record is not None:
                self._save_snapshot(self._snapshots, name, record, after)
        except StoreError as e:
            self.vector_error = str(e)

    def _save_snapshot(
        self,
        shelf: SnapshotShelf,
        name: str,
        record: ev.VectorStoreSynced,
        schemas: dict[str, Schema],
    ) -> None:
        data = vector_snapshot.snapshot_text(schemas.values()).encode("utf-8")
        if vector_snapshot.checksum(data) != record.checksum:
            raise RuntimeError(f"snapshot {record.snapshot} differs from what the log recorded")
        shelf.save(name, record.snapshot, data)
        keep = self.scenario.vector_store.snapshots_keep
        if keep > 0:  # every older one, not only tonight's: a resume may have skipped some
            last = record.cycle - keep
            old = [n for n in shelf.names(name) if (c := vector_snapshot.cycle_of(n)) and c <= last]
            shelf.remove(name, old)

    def _check_resumable(self) -> tuple[RunInfo, int, tuple[ConfigChange, ...] | None]:
        """The stored run (it must be of this scenario file and seed), its number of
        events, and, when this code resolves that file to another configuration (a
        default changed), the settings that differ (else None)."""
        info = self.store.get_run(self.run_id)
        sc = self.scenario
        stored_config = resolved_config(self.store, self.run_id)
        same_file = file_identity(info.scenario_text, stored_config) == file_identity(
            self._text, sc.canonical_json()
        )
        changed = data_change(info.scenario_text, stored_config, self._text, sc.canonical_json())
        if changed is not None and info.seed == sc.seed:
            raise StoreError(f"run {self.run_id!r}: {changed}")
        if info.seed != sc.seed or not (same_file or info.scenario_hash == sc.scenario_hash()):
            raise StoreError(
                f"run {self.run_id!r} was started from another scenario file or seed "
                f"(scenario hash {info.scenario_hash[:12]}, seed {info.seed}); "
                "resume it with the same scenario file and --seed"
            )
        changes = None
        if info.scenario_hash != sc.scenario_hash():
            changes = config_changes(stored_config, sc.canonical_json(), self._text)
        return info, self.store.last_seq(self.run_id) + 1, changes

    def resume(self, *, from_checkpoint: bool = False) -> RunResult:
        """Finish a run that stopped early; its digest equals an uninterrupted run's.

        By default every stored night is re-simulated and checked, which also proves that
        this code still writes the stored log. ``from_checkpoint`` restores the last
        nightly checkpoint instead: faster on long runs, but the nights before it are
        trusted, not re-checked (``verify --replay`` checks them).

        When this code resolves the run's scenario file to another configuration (a
        default changed), nothing is appended: the stored nights are re-simulated to name
        the first behavioural divergence, and ``ConfigChanged`` reports it with the
        settings that differ.
        """
        info, stored, changes = self._check_resumable()
        if info.status == "finished":
            raise StoreError(f"run {self.run_id!r} already finished; nothing to resume")
        if changes is not None:
            self._log = LogSink.checking(self.store, self.run_id, stored, changes)
            with threadpool_limits(limits=1):
                self._simulate(from_checkpoint=False)
            self._log.conclude()
        self._log = LogSink.resuming(self.store, self.run_id, stored)
        self.store.finish_run(self.run_id, "running", None, f"resumed at event {stored}")
        return self._execute(from_checkpoint=from_checkpoint)

    def replay_check(self) -> RunResult:
        """Re-simulate a stored run and check every stored event; appends nothing.

        Raises ReplayMismatch naming the first event that differs or is missing/extra
        (``ConfigChanged`` when this code resolves the run's scenario differently).
        """
        _, stored, changes = self._check_resumable()
        sink = self._log = LogSink.checking(self.store, self.run_id, stored, changes)
        with threadpool_limits(limits=1):
            result = self._simulate(from_checkpoint=False)
        sink.finish(self._next_seq)
        return result

    def run(self) -> RunResult:
        """Simulate a new run into the store. ConfigError (nothing written) when the run
        id breaks ``config.names`` (every new run is checked here: ``--run-id``, default
        ids, sweep trials, baselines); StoreError when the id is taken."""
        sc = self.scenario
        check_run_id(self.run_id, "run id")
        try:
            self.store.get_run(self.run_id)
        except NotFoundError:
            pass
        else:
            raise StoreError(
                f"run id {self.run_id!r} already exists in the store; choose another --run-id"
            )
        self._log = LogSink.appending(self.store, self.run_id)
        self.store.create_run(
            RunInfo(
                run_id=self.run_id,
                scenario_name=sc.name,
                scenario_source=self._source,
                scenario_text=self._text,
                scenario_hash=sc.scenario_hash(),
                seed=sc.seed,
                code_version=__version__,
                versions={**library_versions(), **numerics.profile(sc)},
                started_at=self._clock(),
            )
        )
        return self._execute(from_checkpoint=False)

    def _execute(self, *, from_checkpoint: bool) -> RunResult:
        try:
            with threadpool_limits(limits=1):
                result = self._simulate(from_checkpoint=from_checkpoint)
            self._sink().conclude()
        except RunInterrupted as e:
            self.store.finish_run(self.run_id, "interrupted", None, f"{e}; resume with --resume")
            raise
        except StoreLocked as e:
            # Not a failure of the run: it stopped at a batch boundary like an interrupt,
            # and its status must say so (not 'running', as if a writer were still on it).
            stalled = RunStalled(self.run_id, e, self._next_seq, marked=False)
            try:
                self.store.finish_run(self.run_id, "interrupted", None, f"{stalled}; --resume")
            except StoreError:
                raise stalled from e
            raise RunStalled(self.run_id, e, self._next_seq, marked=True) from e
        except BaseException as e:
            reason = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
            self.store.finish_run(self.run_id, "failed", None, reason)
            raise
        try:
            self.store.finish_run(self.run_id, "finished", result.digest)
        except StoreLocked as e:  # every event is stored; --resume records the end
            raise RunStalled(self.run_id, e, self._next_seq, marked=False) from e
        return result

    def _start(self, world: World) -> Recorder:
        """A fresh state with the run's initial parameters (``run_started``)."""
        rec = Recorder(SimState())
        rec.emit(initial_event(self.scenario, world))
        self._flush(rec)
        return rec

    def _from_checkpoint(
        self, world: World, result: RunResult
    ) -> tuple[Recorder, dict[str, np.random.Generator], int] | None:
        """Resume at the stored log's last checkpoint instead of re-simulating every night.

        Restores the state and generators, hashes the stored events up to the checkpoint
        into the digest, and returns (recorder, generators, next day). ``None`` when the
        log has no usable checkpoint: then the whole run is re-simulated and checked.
        """
        read = self.store.read
        run = self.run_id
        cps = read(run, EventQuery(kinds=["state_checkpoint"], limit=1, tail=True))
        if not len(cps):
            return None
        cp_seq = int(cps.seq[0])
        try:
            cp = decode(next(cps.records()).record)
            started = decode(next(read(run, EventQuery(seq_max=0)).records()).record)
            if not isinstance(cp, ev.StateCheckpoint) or not isinstance(started, ev.RunStarted):
                return None
            transitions = read(
                run,
                EventQuery(
                    kinds=["transition_recorded"], t_min=cp.buffer_oldest_t_ns, seq_max=cp_seq
                ),
            )
            kinds = ["day_closed", "cycle_metrics", "projection_fitted"]
            days = read(run, EventQuery(kinds=kinds, seq_max=cp_seq))
            both = transitions.concat(days)
            history = both.take(np.argsort(both.seq, kind="stable"))
            state = checkpoint.restore(started, cp, (decode(r.record) for r in history.records()))
        except (CodecError, ValueError):
            return None  # a damaged checkpoint: the full re-simulation will say where
        generators = checkpoint.generators_of(cp)
        if self.scenario.projection.enabled and (
            "projection" not in generators or state.projection is None
        ):
            return None  # a log from before the map was checkpointed: re-simulate it
        for lo in range(0, cp_seq + 1, DIGEST_CHUNK):
            hi = min(cp_seq, lo + DIGEST_CHUNK - 1)
            self._digest.update(read(run, EventQuery(seq_min=lo, seq_max=hi)))
        self._next_seq = cp_seq + 1
        for cycle, metrics in sorted(state.metrics.items()):
            result.metrics[cycle] = metrics
            result.dates[cycle] = world.date(cycle - 1)
        return Recorder(state), generators, cp.cycle

    def _simulate(self, *, from_checkpoint: bool) -> RunResult:
        sc = self.scenario
        world = World.build(sc, self._market_data)
        result = RunResult(run_id=self.run_id, digest="", n_events=0)
        # The portable map's chain is rebuilt from the last night's projection_fitted
        # event and the checkpointed projection generator; umap-learn's fitted models are
        # not in the log, so with that backend a resume re-simulates every night.
        sink = self._sink()
        portable_map = not sc.projection.enabled or sc.projection.map_backend == "portable"
        use_cp = from_checkpoint and sink.appends and sink.stored and portable_map
        resumed = self._from_checkpoint(world, result) if use_cp else None
        projection = ProjectionModel(sc.projection, sc.seed) if sc.projection.enabled else None
        if resumed is None:
            rec, generators = self._start(world), run_generators(sc.seed)
            first_day = 0
        else:
            rec, generators, first_day = resumed
            if projection is not None:
                projection.resume(rec.state, generators.pop("projection"))
        self.state = rec.state
        self.observer.run_started(self.run_id, world.n_days, sc.replay.n_replays)
        for day in range(first_day, world.n_days):
            self.observer.day_started(day, world.date(day))
            run_day(world, day, rec, generators["agent"])
            self._flush(rec)
            metrics = sleep_cycle(
                world,
                day,
                rec,
                generators["replay"],
                self.observer.replay_progress,
                projection=projection,
            )
            rec.emit(checkpoint.take(rec.state, _with_map(generators, projection)))
            self._flush(rec)
            self._sync_vectors(rec.state, len(world.memory_cols))
            result.metrics[day + 1] = metrics
            result.dates[day + 1] = world.date(day)
            self.observer.cycle_finished(day + 1, world.date(day), metrics)
        buf, _ = rec.state.require_buffer()
        rec.emit(
            ev.RunFinished(
                cycle=world.n_days,
                t_ns=rec.state.t_ns,
                entity="run",
                n_cycles=world.n_days,
                n_transitions=buf.next_id,
            )
        )
        self._flush(rec)
        result.digest = self._digest.hexdigest()
        result.n_events = self._digest.n_events
        return result


def _with_map(
    generators: dict[str, np.random.Generator], projection: ProjectionModel | None
) -> dict[str, np.random.Generator]:
    """The generators a checkpoint keeps: the run's, and phase 3's when the map is on."""
    return generators if projection is None else {**generators, "projection": projection.rng}
