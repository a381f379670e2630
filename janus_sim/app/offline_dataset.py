"""A run's awake transitions as an offline-RL dataset: one episode per trading day.

``offline_dataset(store, run_id)`` folds a run's ``transition_recorded`` events into
episodes, the layout Minari and D4RL use (``adapters.minari_export`` writes them):

* **Episodes are trading days** (a day's transitions share its ``cycle``), in order.
  A day of N transitions has N actions, rewards, terminations and truncations and
  **N + 1 observations**: the state of each step, then the last step's next state
  (within a day each step's ``next_state`` is the next step's ``state``: checked, a log
  where it is not is refused).
* **The close is a truncation, not a termination**: the market goes on after the close;
  the day was cut by the calendar, not ended by the agent. ``terminations`` are all
  False and ``truncations`` True at the day's last step only (also for a day an
  interrupted run cut short).
* Observations are the raw state vectors the log records (the agent reads them through
  the frozen first-day scaler, ``scaler_fitted``), float64; actions are 0 sell, 1 hold,
  2 buy.
* **Infos**, per step, as Minari lays them: N + 1 entries, the first the day's open
  (before any step: NaN, ``""`` and -1), entry k + 1 that of step k:
  ``transition_id``; ``violation`` (v_i of eq. 7 for the action taken, from
  ``transition_recorded``); ``regime`` (the bar's true regime); ``priority`` (p_i of
  eq. 7 at the night after the day, from that night's ``priorities_computed``, which
  covers the whole buffer, the day's flagged anomalies raised to its maximum); and
  ``is_weight``.
* **The IS weight is computed, not read**: the log records importance weights only
  for the transitions a replay batch drew (``replay_batch_sampled``), normalized by the
  maximum of that batch, so most transitions have none and the others several. Here it
  is eq. 9-10 over the whole buffer of that night:
  ``P(i) = p_i^alpha / sum_j p_j^alpha`` (alpha from ``run_started``),
  ``w_i = (N P(i))^-beta / max_j (N P(j))^-beta``, with beta the night's last batch's
  (``beta_end`` of the anneal: the full correction), so the least likely transition of
  the buffer weighs 1. A day whose night is not in the log (the run stopped first), or
  a transition evicted before it, gets NaN priority and weight.

Pure reading over the ``EventStore`` port; nothing is written.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from janus_sim.core import events as ev
from janus_sim.core.codec import decode
from janus_sim.core.priorities import importance_weights
from janus_sim.errors import ConfigError, StoreError
from janus_sim.ports import EventQuery, EventStore

INFO_KEYS = ("transition_id", "priority", "is_weight", "violation", "regime")
"""The per-step info arrays of every episode, in this order."""
ACTIONS = ("sell", "hold", "buy")
"""What each action index means."""


@dataclass(frozen=True, eq=False)
class DayEpisode:
    """One trading day: ``cycle`` and ``date``, ``observations`` (N + 1, d), ``actions``,
    ``rewards``, ``terminations`` and ``truncations`` (N each), ``infos`` (N + 1 each)."""

    cycle: int
    date: str
    observations: NDArray[np.float64]
    actions: NDArray[np.int64]
    rewards: NDArray[np.float64]
    terminations: NDArray[np.bool_]
    truncations: NDArray[np.bool_]
    infos: dict[str, NDArray[np.generic]] = field(default_factory=dict)

    @property
    def n_steps(self) -> int:
        return int(self.actions.size)


@dataclass(frozen=True, eq=False)
class OfflineDataset:
    """A run's episodes and what a reader needs to know of them."""

    run_id: str
    scenario_name: str
    seed: int
    digest: str | None
    status: str
    feature_names: tuple[str, ...]
    n_actions: int
    episodes: tuple[DayEpisode, ...]

    @property
    def total_steps(self) -> int:
        return sum(e.n_steps for e in self.episodes)


def offline_dataset(store: EventStore, run_id: str) -> OfflineDataset:
    """The episodes of run ``run_id`` (see the module). NotFoundError for an unknown run
    (from the store); ConfigError for a run without transitions; StoreError for a log
    whose transitions do not chain within a day."""
    info = store.get_run(run_id)
    started = _run_started(store, run_id)
    dates: dict[int, str] = {}
    for r in store.read(run_id, EventQuery(kinds=["day_opened"])).records():
        opened = decode(r.record)
        assert isinstance(opened, ev.DayOpened)
        dates[int(r.record.cycle)] = opened.date
    days: dict[int, list[ev.TransitionRecorded]] = {}
    for r in store.read(run_id, EventQuery(kinds=["transition_recorded"])).records():
        t = decode(r.record)
        assert isinstance(t, ev.TransitionRecorded)
        days.setdefault(int(r.record.cycle), []).append(t)
    if not days:
        raise ConfigError("--run", "", f"run {run_id!r} has no transitions yet: nothing to export")
    nights = _night_weights(store, run_id, started.alpha)
    episodes = tuple(
        _episode(run_id, cycle, dates.get(cycle, ""), days[cycle], nights.get(cycle))
        for cycle in sorted(days)
    )
    return OfflineDataset(
        run_id=run_id,
        scenario_name=started.scenario_name,
        seed=started.seed,
        digest=info.digest,
        status=info.status,
        feature_names=tuple(started.feature_names),
        n_actions=len(started.policy_params),
        episodes=episodes,
    )


def _run_started(store: EventStore, run_id: str) -> ev.RunStarted:
    batch = store.read(run_id, EventQuery(kinds=["run_started"], limit=1))
    for r in batch.records():
        started = decode(r.record)
        assert isinstance(started, ev.RunStarted)
        return started
    raise StoreError(f"run {run_id!r} has no run_started event: its log is damaged")


Night = dict[int, tuple[float, float]]
"""transition id -> (priority, IS weight) at one night."""


def _night_weights(store: EventStore, run_id: str, alpha: float) -> dict[int, Night]:
    """Per cycle with a night: each buffered transition's priority and IS weight."""
    nights: dict[int, Night] = {}
    for r in store.read(run_id, EventQuery(kinds=["priorities_computed"])).records():
        pc = decode(r.record)
        assert isinstance(pc, ev.PrioritiesComputed)
        cycle = int(r.record.cycle)
        p = np.asarray(pc.priorities, dtype=np.float64)
        if not p.size:
            continue
        beta = _last_beta(store, run_id, cycle)
        if beta is None:
            w = np.full(p.size, np.nan)
        else:
            scaled = p**alpha
            w = importance_weights(scaled / scaled.sum(), int(p.size), beta)
        nights[cycle] = {
            int(i): (float(pi), float(wi))
            for i, pi, wi in zip(pc.transition_ids, p, w, strict=True)
        }
    return nights


def _last_beta(store: EventStore, run_id: str, cycle: int) -> float | None:
    """The beta of the night's last replay batch (None: the night drew none)."""
    q = EventQuery(
        kinds=["replay_batch_sampled"], cycle_min=cycle, cycle_max=cycle, limit=1, tail=True
    )
    for r in store.read(run_id, q).records():
        batch = decode(r.record)
        assert isinstance(batch, ev.ReplayBatchSampled)
        return float(batch.beta)
    return None


def _episode(
    run_id: str,
    cycle: int,
    date: str,
    steps: list[ev.TransitionRecorded],
    night: Night | None,
) -> DayEpisode:
    for a, b in itertools.pairwise(steps):
        if a.next_state != b.state:
            raise StoreError(
                f"run {run_id!r}, cycle {cycle}: transition {a.transition_id}'s next state "
                f"is not transition {b.transition_id}'s state: the day's steps do not chain"
            )
    n = len(steps)
    obs = np.array([t.state for t in steps] + [steps[-1].next_state], dtype=np.float64)
    truncations = np.zeros(n, dtype=bool)
    truncations[-1] = True
    known = night or {}
    missing = (np.nan, np.nan)
    ids = [t.transition_id for t in steps]
    infos: dict[str, NDArray[np.generic]] = {
        "transition_id": np.array([-1, *ids], dtype=np.int64),
        "priority": np.array([np.nan] + [known.get(i, missing)[0] for i in ids]),
        "is_weight": np.array([np.nan] + [known.get(i, missing)[1] for i in ids]),
        "violation": np.array([np.nan] + [t.violation for t in steps], dtype=np.float64),
        "regime": np.array(["", *(t.regime for t in steps)], dtype=object),
    }
    return DayEpisode(
        cycle=cycle,
        date=date,
        observations=obs,
        actions=np.array([t.action for t in steps], dtype=np.int64),
        rewards=np.array([t.reward for t in steps], dtype=np.float64),
        terminations=np.zeros(n, dtype=bool),
        truncations=truncations,
        infos=infos,
    )


__all__ = ["ACTIONS", "INFO_KEYS", "DayEpisode", "OfflineDataset", "offline_dataset"]
