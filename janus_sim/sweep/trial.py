"""One trial of a sweep, as a worker runs it: an ordinary run into the trial's own shard.

``run_trial(task)`` is a plain top-level function of picklable arguments, so any
executor (a local process pool, Ray) can ship it. It never raises for a trial's own
failure: the outcome says ``failed`` and why, and the sweep decides whether to retry.
A trial that finished before (a resumed sweep) is read back, not rerun; one that
stopped part-way is resumed, which re-simulates and checks what its shard holds, so it
ends with the digest an uninterrupted run has.

``read_outcome(shard, trial_id, export_dir)`` reads a finished trial's results from its
shard (the shard, not the sweep's tables, is the truth) and exports its events if a kill
came between the run's end and their export. It first checks the shard's run against its
digest and chain: a damaged shard is a ``DamagedShardError``, never "already finished".
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple

from janus_sim.adapters.duckdb_store import DB_FILENAME, DuckDBEventStore, open_store
from janus_sim.adapters.parquet_export import export_events, partition_dir
from janus_sim.adapters.stop_signals import StopCheck, never
from janus_sim.app.anomaly_lead import CRASH_REGIME
from janus_sim.app.anomaly_summary import anomaly_summary_of_run
from janus_sim.app.chain_check import check_chain
from janus_sim.app.novelty import NoveltyScore
from janus_sim.app.run_outcome import RunInterrupted
from janus_sim.core import events as ev
from janus_sim.core.codec import decode
from janus_sim.errors import EmptyStoreError, NotFoundError, StoreError
from janus_sim.eventlog import digest_of
from janus_sim.ports import EventQuery, RunInfo
from janus_sim.sweep.columns import SUMMARY_COLUMNS
from janus_sim.wiring import open_run, scenario_from_json

OutcomeStatus = Literal["finished", "failed"]
"""How one attempt at a trial ended."""
TrialStatus = Literal["pending", OutcomeStatus]
"""Where a trial of the sweep stands: not attempted yet (or only interrupted), or how its
last attempt ended."""


class CycleRow(NamedTuple):
    """One night of a trial, as its ``cycle_metrics`` event holds it."""

    cycle: int
    date: str
    metrics: tuple[tuple[str, float], ...]
    """(name, value) pairs in the event's order."""


@dataclass(frozen=True)
class TrialTask:
    """What a worker needs; strings and numbers only, so it pickles anywhere."""

    trial_id: str
    scenario_json: str
    scenario_source: str
    scenario_dir: str
    shard: str
    keep_vectors: bool = False
    export_dir: str | None = None
    """Where the finished run's events go as Parquet (the sweep's ``events/`` tree)."""


@dataclass(frozen=True)
class TrialOutcome:
    trial_id: str
    status: OutcomeStatus
    digest: str | None = None
    n_events: int | None = None
    elapsed_s: float | None = None
    error: str | None = None
    reused: bool = False
    """True when the shard already held the finished run (nothing was simulated)."""
    cycles: tuple[CycleRow, ...] = ()
    summary: dict[str, float | None] = field(default_factory=dict)


def _cycles(store: DuckDBEventStore, run_id: str) -> tuple[CycleRow, ...]:
    batch = store.read(run_id, EventQuery(kinds=["cycle_metrics"]))
    out: list[CycleRow] = []
    for r in batch.records():
        e = decode(r.record)
        assert isinstance(e, ev.CycleMetrics)
        out.append(CycleRow(e.cycle, e.date, e.metrics))
    return tuple(out)


def summarize(
    cycles: tuple[CycleRow, ...], lead_bars: int | None, novelty: NoveltyScore | None = None
) -> dict[str, float | None]:
    """The trial's quality figures over its nights (None where a night lacks the metric,
    e.g. ``ari_regime`` with projection off), its novelty score (``app.novelty``; None
    without one: projection off, one day, real bars) and the trough lead ``lead_bars``
    (``app.anomaly_lead``).

    ``crash_onset_lead_bars`` is the awake steps from the crash's first novel bar to its
    first flag that day; ``crash_onset_flagged`` 1 when that day flagged it, 0 when it did
    not (the lead is then None); both None when no crash was novel on a scored day."""

    def series(name: str) -> list[float]:
        return [dict(c.metrics)[name] for c in cycles if name in dict(c.metrics)]

    def last(name: str) -> float | None:
        s = series(name)
        return s[-1] if s else None

    def mean(name: str) -> float | None:
        s = series(name)
        return sum(s) / len(s) if s else None

    def total(name: str) -> float | None:
        s = series(name)
        return float(sum(s)) if s else None

    def number(value: float | None) -> float | None:
        return None if value is None else float(value)

    onset = None if novelty is None else novelty.onset_of(CRASH_REGIME)
    out = {
        "ari_regime_final": last("ari_regime"),
        "ari_regime_mean": mean("ari_regime"),
        "novelty_precision": None if novelty is None else novelty.precision,
        "novelty_recall": None if novelty is None else novelty.recall,
        "familiar_fpr": None if novelty is None else novelty.familiar_fpr,
        "crash_onset_lead_bars": None if onset is None else number(onset.lead),
        "crash_onset_flagged": None if onset is None else float(onset.lead is not None),
        "td_improvement_mean": mean("td_improvement"),
        "n_schemas_final": last("n_schemas"),
        "schemas_created_total": total("schemas_created"),
        "anomalies_total": total("anomalies"),
        "n_clusters_final": last("n_clusters"),
        "anomaly_lead_bars": number(lead_bars),
    }
    assert tuple(out) == SUMMARY_COLUMNS  # the trials table's columns, in order
    return out


def _outcome(
    store: DuckDBEventStore, trial_id: str, elapsed: float | None, reused: bool
) -> TrialOutcome:
    info = store.get_run(trial_id)
    cycles = _cycles(store, trial_id)
    summary = anomaly_summary_of_run(store, trial_id)
    lead = summary.lead
    return TrialOutcome(
        trial_id=trial_id,
        status="finished",
        digest=info.digest,
        n_events=info.n_events,
        elapsed_s=elapsed,
        reused=reused,
        cycles=cycles,
        summary=summarize(cycles, None if lead is None else lead.bars_before, summary.novelty),
    )


def read_outcome(shard: Path, trial_id: str, export_dir: Path | None) -> TrialOutcome | None:
    """The finished trial in ``shard``, or None (no shard, no run, or not finished).

    A finished trial's events missing from ``export_dir`` are exported first."""
    if not (shard / DB_FILENAME).is_file():
        return None
    try:
        store = open_store(shard, read_only=True, hold=True)
    except EmptyStoreError:  # killed while the shard's store was being created
        return None
    try:
        try:
            info = store.get_run(trial_id)
        except NotFoundError:
            return None
        if info.status != "finished":
            return None
        _check_intact(store, info, shard)
        _export(store, trial_id, export_dir, only_if_missing=True)
        return _outcome(store, trial_id, None, reused=True)
    finally:
        store.close()


class DamagedShardError(StoreError):
    """A shard's finished run no longer matches its digest or chain: it is not reused."""


def _check_intact(store: DuckDBEventStore, info: RunInfo, shard: Path) -> None:
    """DamagedShardError unless the finished run's events give its recorded digest and an
    unbroken chain from its run row (``verify`` without the fold: it reads every event
    once, so reusing a shard costs a read, never a silent trust)."""
    batch = store.read(info.run_id)
    problems = [
        f.text if f.seq is None else f"event {f.seq}: {f.text}"
        for f in check_chain(batch, info)
        if not f.note
    ]
    if digest_of([batch]) != info.digest:
        problems.append("its events do not give the recorded digest")
    if problems:
        raise DamagedShardError(
            f"shard {shard} of trial {info.run_id!r} is damaged ({problems[0]})"
        )


def _simulate(task: TrialTask, should_stop: StopCheck) -> TrialOutcome:
    inputs = scenario_from_json(task.scenario_json, task.scenario_source, task.scenario_dir)
    started = time.perf_counter()
    with open_run(
        inputs,
        task.shard,
        run_id=task.trial_id,
        keep_vectors=task.keep_vectors,
        should_stop=should_stop,
    ) as opened:
        store, engine = opened.store, opened.engine
        try:
            status = store.get_run(task.trial_id).status
        except NotFoundError:
            status = None
        if status == "finished":
            _export(store, task.trial_id, task.export_dir, only_if_missing=True)
            return _outcome(store, task.trial_id, None, reused=True)
        engine.resume() if status is not None else engine.run()
        elapsed = time.perf_counter() - started
        _export(store, task.trial_id, task.export_dir, only_if_missing=False)
        return _outcome(store, task.trial_id, elapsed, reused=False)


def _export(
    store: DuckDBEventStore,
    trial_id: str,
    export_dir: str | Path | None,
    *,
    only_if_missing: bool,
) -> None:
    if export_dir is None:
        return
    out = Path(export_dir)
    if only_if_missing and partition_dir(out, trial_id).is_dir():
        return
    export_events(store, [trial_id], out, overwrite=True)


def run_trial(task: TrialTask, should_stop: StopCheck = never) -> TrialOutcome:
    """Run (or resume, or read back) one trial; a failure is an outcome, not a raise.

    ``should_stop`` is the sweep's stop flag when the trial runs in the sweep's own process
    (the inline executor): a stop then interrupts the trial at a batch boundary and
    ``RunInterrupted`` leaves here, so the sweep stops rather than recording a failure."""
    try:
        return _simulate(task, should_stop)
    except RunInterrupted:
        raise
    except Exception as e:  # any failure of one trial is recorded; the sweep goes on
        text = str(e).strip().splitlines()[0] if str(e).strip() else ""
        return TrialOutcome(
            trial_id=task.trial_id,
            status="failed",
            error=f"{type(e).__name__}: {text}" if text else type(e).__name__,
        )
