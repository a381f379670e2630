"""Running a sweep: every trial of a plan, on an executor, into one sweep folder.

The sweep is a loop of rounds. Round one runs every trial the folder does not already
hold finished; each later round (up to ``retries`` of them) runs again the trials that
failed, so a failing trial costs a bounded number of attempts and never stops the
others. Every finished attempt is logged, and the tables are rewritten after each one.

Resuming is running the same sweep into the same folder: a trial whose shard holds its
finished run, intact (its digest and chain check), is read back, not rerun; a damaged
shard is moved aside (``damaged/``) and its trial run again; one that stopped part-way
is resumed by its run's own ``--resume`` path, so it ends with the digest of an
uninterrupted run. A folder
holding a different sweep is refused (``SweepFolder.bind``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from janus_sim.adapters.stop_signals import StopCheck, never
from janus_sim.app.run_outcome import RunInterrupted
from janus_sim.errors import StoreError
from janus_sim.sweep.executors import Executor
from janus_sim.sweep.folder import SweepFolder
from janus_sim.sweep.plan import SweepPlan
from janus_sim.sweep.results import TrialRecord, cycles_frame, trials_frame
from janus_sim.sweep.trial import (
    DamagedShardError,
    TrialOutcome,
    TrialStatus,
    TrialTask,
    read_outcome,
)


class SweepObserver(Protocol):
    def started(self, total: int, reused: int, workers: int, executor: str) -> None: ...

    def round_started(self, attempt: int, n_trials: int) -> None: ...

    def trial_done(self, record: TrialRecord, will_retry: bool) -> None: ...


class QuietObserver:
    def started(self, total: int, reused: int, workers: int, executor: str) -> None:
        pass

    def round_started(self, attempt: int, n_trials: int) -> None:
        pass

    def trial_done(self, record: TrialRecord, will_retry: bool) -> None:
        pass


@dataclass(frozen=True)
class SweepResult:
    records: tuple[TrialRecord, ...]
    resumed: bool
    """True when the folder already held this sweep."""
    reused: int
    """Trials found finished in their shards and not rerun."""
    damaged: tuple[str, ...] = ()
    """One line per shard found damaged on resume (set aside, its trial run again)."""

    def count(self, status: TrialStatus) -> int:
        return sum(r.status == status for r in self.records)


class SweepInterrupted(Exception):
    """The sweep was stopped (Ctrl-C, SIGTERM); the folder holds what finished."""

    def __init__(self, signal_name: str) -> None:
        super().__init__(f"stopped by {signal_name}")
        self.signal_name = signal_name


def _task(plan: SweepPlan, folder: SweepFolder, rec: TrialRecord, vectors: bool) -> TrialTask:
    t = rec.trial
    return TrialTask(
        trial_id=t.trial_id,
        scenario_json=t.scenario_json,
        scenario_source=str(t.scenario_file),
        scenario_dir=str(t.scenario_file.parent),
        shard=str(folder.shard(t.trial_id)),
        keep_vectors=vectors,
        export_dir=str(folder.events_dir),
    )


def _write(folder: SweepFolder, plan: SweepPlan, records: Sequence[TrialRecord]) -> None:
    folder.write_tables(trials_frame(records, plan.swept_fields), cycles_frame(records))


def run_sweep(
    plan: SweepPlan,
    folder: SweepFolder,
    executor: Executor,
    *,
    retries: int | None = None,
    keep_vectors: bool = False,
    observer: SweepObserver | None = None,
    should_stop: StopCheck = never,
) -> SweepResult:
    """Run the plan's unfinished trials; ``retries`` defaults to the sweep file's.

    ``should_stop`` is the cooperative stop flag (``adapters.stop_signals.StopFlag``):
    once it names a signal the workers are stopped, the tables written, and
    ``SweepInterrupted`` raised; the next sweep into the folder resumes."""
    obs = observer or QuietObserver()
    extra = plan.spec.retries if retries is None else retries
    resumed = folder.bind(
        plan.name, plan.sweep_hash, str(plan.source), [t.trial_id for t in plan.trials]
    )
    folder.lock()
    try:
        records = [TrialRecord(trial=t) for t in plan.trials]
        by_id = {r.trial.trial_id: r for r in records}
        took: dict[str, float] = {}  # a finished trial's run time, as its worker measured it
        for line in folder.attempts():
            rec = by_id.get(str(line.get("trial_id")))
            if rec is not None:
                rec.attempts += 1
                rec.error = line.get("error")
                if line.get("status") == "finished" and line.get("elapsed_s") is not None:
                    took[rec.trial.trial_id] = float(line["elapsed_s"])
        reused = 0
        damaged: list[str] = []
        for rec in records:
            try:
                found = read_outcome(
                    folder.shard(rec.trial.trial_id), rec.trial.trial_id, folder.events_dir
                )
            except DamagedShardError as e:
                # Not trusted, not lost: set aside (say where) and the trial runs afresh.
                aside = folder.set_aside(rec.trial.trial_id)
                damaged.append(f"{e}: moved to {aside}; the trial runs again")
                found = None
            except StoreError:
                # An unreadable shard sinks only its trial: the trial runs, and its
                # worker records the same error as a failed attempt.
                found = None
            if found is not None:
                found = replace(found, elapsed_s=took.get(rec.trial.trial_id))
                rec.status, rec.outcome, rec.error = "finished", found, None
                reused += 1
        obs.started(len(records), reused, executor.workers, executor.name)
        _write(folder, plan, records)
        folder.write_views()
        todo = [r for r in records if r.status != "finished"]
        try:
            for attempt in range(1 + extra):
                if not todo:
                    break
                obs.round_started(attempt + 1, len(todo))
                tasks = [_task(plan, folder, r, keep_vectors) for r in todo]
                failed: list[TrialRecord] = []
                for outcome in executor.run(tasks, should_stop):
                    rec = by_id[outcome.trial_id]
                    _record(folder, rec, outcome)
                    retry = rec.status == "failed" and attempt < extra
                    if rec.status == "failed":
                        failed.append(rec)
                    obs.trial_done(rec, retry)
                    _write(folder, plan, records)
                stopped = should_stop()
                if stopped is not None:
                    raise SweepInterrupted(stopped)
                todo = sorted(failed, key=lambda r: r.trial.index)
        except RunInterrupted as e:  # a trial in this process (inline) saw the flag first
            executor.abort()
            raise SweepInterrupted(e.signal_name) from None
        except BaseException:  # SweepInterrupted, or a Ctrl-C without a stop flag
            executor.abort()
            raise
        finally:
            executor.close()
            _write(folder, plan, records)
            folder.write_views()
        return SweepResult(
            records=tuple(records), resumed=resumed, reused=reused, damaged=tuple(damaged)
        )
    finally:
        folder.unlock()


def _record(folder: SweepFolder, rec: TrialRecord, outcome: TrialOutcome) -> None:
    rec.attempts += 1
    rec.outcome = outcome if outcome.status == "finished" else rec.outcome
    rec.status = outcome.status
    rec.error = outcome.error
    folder.log_attempt(
        {
            "trial_id": outcome.trial_id,
            "attempt": rec.attempts,
            "status": outcome.status,
            "digest": outcome.digest,
            "elapsed_s": outcome.elapsed_s,
            "error": outcome.error,
        }
    )
