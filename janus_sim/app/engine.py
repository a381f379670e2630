"""The engine: the composition root that drives days through the core into the log.

For each trading day: the awake day, then the sleep cycle; after each, the recorder's
events are encoded, stamped with gap-free sequence numbers and appended to the store as
one batch, and the run digest is updated. The run row says ``running`` until the last
batch (``run_finished``) is committed; a run that stops early is marked ``failed`` with
the reason, so no run can look complete when it is not.

BLAS is pinned to one thread for the whole run (threadpoolctl) so results cannot depend
on the machine's core count.
"""

from __future__ import annotations

import datetime as dt
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata

from threadpoolctl import threadpool_limits

from janus_sim import __version__
from janus_sim.config import Scenario
from janus_sim.core import events as ev
from janus_sim.core.agent import init_params
from janus_sim.core.awake import World, run_day
from janus_sim.core.codec import encode
from janus_sim.core.hippocampus import init_separation
from janus_sim.core.rng import component_rng
from janus_sim.core.sleep import sleep_cycle
from janus_sim.core.state import Recorder, SimState
from janus_sim.errors import NotFoundError, StoreError
from janus_sim.eventlog import EventBatch, RunDigest
from janus_sim.ports import EventStore, RunInfo

NUMERIC_PACKAGES = (
    "numpy",
    "scipy",
    "numba",
    "polars",
    "duckdb",
    "pyarrow",
    "pydantic",
    "threadpoolctl",
)


def library_versions() -> dict[str, str]:
    """Versions of Python, janus-sim and the numeric libraries (run metadata)."""
    out = {"python": platform.python_version(), "janus-sim": __version__}
    for name in NUMERIC_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


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
    ) -> None:
        self.scenario = scenario
        self.store = store
        self.run_id = run_id
        self.observer = observer or Observer()
        self._source = scenario_source
        self._text = scenario_text
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
        self._digest = RunDigest()
        self._next_seq = 0
        self.state: SimState | None = None
        """The live state once ``run`` has started (for inspection and tests)."""

    def _flush(self, rec: Recorder) -> None:
        records = [encode(e) for e in rec.drain()]
        if not records:
            return
        batch = EventBatch.from_records(self.run_id, self._next_seq, records)
        self.store.append(batch)
        self._digest.update(batch)
        self._next_seq += len(records)

    def run(self) -> RunResult:
        sc = self.scenario
        try:
            self.store.get_run(self.run_id)
        except NotFoundError:
            pass
        else:
            raise StoreError(
                f"run id {self.run_id!r} already exists in the store; choose another --run-id"
            )
        self.store.create_run(
            RunInfo(
                run_id=self.run_id,
                scenario_name=sc.name,
                scenario_source=self._source,
                scenario_text=self._text,
                scenario_hash=sc.scenario_hash(),
                seed=sc.seed,
                code_version=__version__,
                versions=library_versions(),
                started_at=self._clock(),
            )
        )
        try:
            with threadpool_limits(limits=1):
                result = self._simulate()
        except BaseException as e:
            reason = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
            self.store.finish_run(self.run_id, "failed", None, reason)
            raise
        self.store.finish_run(self.run_id, "finished", result.digest)
        return result

    def _simulate(self) -> RunResult:
        sc = self.scenario
        world = World.build(sc)
        init = component_rng(sc.seed, "init")
        agent_rng = component_rng(sc.seed, "agent")
        replay_rng = component_rng(sc.seed, "replay")
        d = len(sc.agent.features)
        params = init_params(d, init)
        sep_w, sep_b = init_separation(d, sc.hippocampus.hidden_dim, init)
        rec = Recorder(SimState())
        self.state = rec.state
        start_ns = int(world.bars.t_ns[0] - world.bars.bar_ns)
        rec.emit(
            ev.RunStarted(
                cycle=0,
                t_ns=start_ns,
                entity="run",
                scenario_name=sc.name,
                scenario_hash=sc.scenario_hash(),
                seed=sc.seed,
                feature_names=sc.agent.features,
                constraint_names=world.constraints.names,
                capacity=sc.hippocampus.capacity,
                alpha=sc.replay.alpha,
                policy_params=tuple(tuple(r) for r in params.tolist()),
                sep_weights=tuple(tuple(r) for r in sep_w.tolist()),
                sep_bias=tuple(sep_b.tolist()),
            )
        )
        self._flush(rec)
        self.observer.run_started(self.run_id, world.n_days, sc.replay.n_replays)
        result = RunResult(run_id=self.run_id, digest="", n_events=0)
        for day in range(world.n_days):
            self.observer.day_started(day, world.date(day))
            run_day(world, day, rec, agent_rng)
            self._flush(rec)
            metrics = sleep_cycle(world, day, rec, replay_rng, self.observer.replay_progress)
            self._flush(rec)
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
