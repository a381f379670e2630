"""What a run reports and how it ends, apart from the engine that runs it.

``Observer`` is the engine's progress hooks, ``RunResult`` what a finished run returns,
``RunInterrupted`` and ``RunStalled`` the two ways a run stops before its end that its
caller reports (and ``--resume`` finishes); ``default_run_id`` names a new run. The
command line, the sweeps and the baselines use these without the engine's imports.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from janus_sim.config import Scenario
from janus_sim.errors import StoreError, StoreLocked
from janus_sim.ports import EventStore


class RunInterrupted(Exception):
    """The run was asked to stop (SIGINT/SIGTERM); it stopped at a batch boundary."""

    def __init__(self, signal_name: str, next_seq: int) -> None:
        self.signal_name = signal_name
        self.next_seq = next_seq
        super().__init__(f"interrupted by {signal_name} after event {next_seq - 1}")


class RunStalled(StoreError):
    """A running run could not write its next batch: the store stayed locked by another
    process (``locked``) past the wait. The run is marked interrupted when the store lets
    go in time for that (``marked``); either way ``--resume`` finishes it."""

    def __init__(self, run_id: str, locked: StoreLocked, next_seq: int, marked: bool) -> None:
        self.run_id, self.locked, self.next_seq, self.marked = run_id, locked, next_seq, marked
        state = (
            "the run is marked interrupted"
            if marked
            else "the run could not be marked interrupted (the store is still locked)"
        )
        super().__init__(
            f"event store {locked.path} stayed locked by {locked.holder} for "
            f"{locked.timeout:g} s after event {next_seq - 1} of run {run_id!r}; {state}"
        )


class Observer:
    """Hooks for progress display; the default does nothing."""

    def run_started(self, run_id: str, n_days: int, n_replays: int) -> None: ...

    def day_started(self, day: int, date: str) -> None: ...

    def replay_progress(self, done: int, total: int) -> None: ...

    def cycle_finished(self, cycle: int, date: str, metrics: dict[str, float]) -> None: ...


@dataclass
class RunResult:
    run_id: str
    digest: str
    n_events: int
    metrics: dict[int, dict[str, float]] = field(default_factory=dict)
    dates: dict[int, str] = field(default_factory=dict)


def default_run_id(store: EventStore, scenario: Scenario) -> str:
    """``<name>-s<seed>``, suffixed ``-2``, ``-3``... if the store already has it."""
    taken = {r.run_id for r in store.list_runs()}
    base = f"{scenario.name}-s{scenario.seed}"
    if base not in taken:
        return base
    k = 2
    while f"{base}-{k}" in taken:
        k += 1
    return f"{base}-{k}"
