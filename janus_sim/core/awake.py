"""The awake day: market bars -> agent actions -> transitions into the episodic buffer.

``World`` holds what a run computes once from its scenario (bars, features, the compiled
constraints); ``run_day`` emits the day's events through the recorder, which folds them
into the state as they are emitted. With projection enabled, each recorded state is also
projected onto the last night's map and flagged when it is far from every cluster
(eq. 32, ``projection.AnomalyMonitor``): ``anomaly_flagged`` right after its
``transition_recorded``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from janus_sim.core import events as ev
from janus_sim.core.agent import choose_action, next_position, step_reward
from janus_sim.core.features import feature_matrix, market_context
from janus_sim.core.logic import ConstraintSet
from janus_sim.core.map_phase import AnomalyMonitor
from janus_sim.core.market import Bars, ObservedBars, generate_bars, observed_market
from janus_sim.core.rng import component_rng
from janus_sim.core.scaler import expanding
from janus_sim.core.state import Recorder, SimState

if TYPE_CHECKING:
    from janus_sim.config import Scenario


@dataclass(frozen=True, eq=False)
class World:
    """The run's fixed inputs, derived from the scenario and seed alone."""

    scenario: Scenario
    bars: Bars
    features: np.ndarray
    position_col: int | None
    market_ctx: np.ndarray
    constraints: ConstraintSet
    memory_cols: np.ndarray
    """Columns of the state that schemas see (``neocortex.features``)."""
    warmup: np.ndarray
    """The first day's features under the expanding causal standardization the agent
    acts on before the scaler is fitted (``scaler.expanding``)."""

    @classmethod
    def build(cls, scenario: Scenario, data: ObservedBars | None = None) -> World:
        """The world of ``scenario``. A market of real bars (``market.data``) needs its
        bars read by the caller (an adapter) and passed as ``data``; the core reads no file.
        """
        market_rng = component_rng(scenario.seed, "market")
        if scenario.market.data is not None:
            if data is None:
                raise ValueError(
                    "the scenario's market is a data file: read it (adapters.bars_file) "
                    "and pass its bars to World.build"
                )
            bars = observed_market(data, scenario.calendar, market_rng)
        else:
            bars = generate_bars(scenario.market, scenario.calendar, market_rng)
        features, pos_col = feature_matrix(bars, scenario.agent.features)
        constraints = ConstraintSet.compile(
            scenario.logic.constraints, scenario.logic.predicates, scenario.agent.position_limit
        )
        names = scenario.agent.features
        memory = np.array(scenario.memory_columns(), dtype=np.intp)
        first_day = features[bars.day_slice(0)] if len(bars.dates) else features[:0]
        warmup = expanding(first_day, names)
        return cls(
            scenario, bars, features, pos_col, market_context(bars), constraints, memory, warmup
        )

    @property
    def n_days(self) -> int:
        return len(self.bars.dates)

    def state_vector(self, bar: int, position: int) -> np.ndarray:
        s = self.features[bar].copy()
        if self.position_col is not None:
            s[self.position_col] = position / self.scenario.agent.position_limit
        return s

    def acting_view(self, state: SimState, bar: int, raw: np.ndarray) -> np.ndarray:
        """What the agent sees of the raw state at ``bar``: the scaler's view once fitted,
        the causal warm-up standardization before (the first day)."""
        if state.scaler is not None:
            return state.scaler.apply(raw)
        s = self.warmup[bar].copy()
        if self.position_col is not None:
            s[self.position_col] = raw[self.position_col]
        return s

    def date(self, day: int) -> str:
        return self.bars.dates[day].isoformat()


def run_day(world: World, day: int, rec: Recorder, rng: np.random.Generator) -> None:
    """Simulate trading day ``day`` (0-based); its events belong to cycle ``day + 1``."""
    state = rec.state
    buf, _ = state.require_buffer()
    agent = world.scenario.agent
    bars = world.bars
    cycle = day + 1
    span = bars.day_slice(day)
    first, last = span.start, span.stop - 1
    regimes = [bars.regime_names[r] for r in bars.regime[first : last + 1]]
    proj = world.scenario.projection
    monitor = AnomalyMonitor.of(state.projection, proj.tau_anomaly) if proj.enabled else None
    rec.emit(
        ev.DayOpened(
            cycle=cycle,
            t_ns=int(bars.t_ns[first] - bars.bar_ns),
            entity=f"day:{world.date(day)}",
            date=world.date(day),
            n_bars=last - first + 1,
            open_price=float(bars.open[first]),
            regimes=tuple(dict.fromkeys(regimes)),
        )
    )
    ctx_rows: list[np.ndarray] = []
    actions: list[int] = []
    pnl = 0.0
    for i in range(first, last):
        position = state.position
        s = world.state_vector(i, position)
        seen = world.acting_view(state, i, s)
        a = choose_action(
            state.params, seen, agent.epsilon, rng, position=position, limit=agent.position_limit
        )
        new_position = next_position(position, a, agent.max_position)
        r = step_reward(position, new_position, bars.close[i], bars.close[i + 1], agent.cost_bps)
        ctx = np.append(world.market_ctx[i], float(position))
        violation = float(world.constraints.violation(ctx[None, :], np.array([a]))[0])
        if buf.is_full():
            rec.emit(
                ev.TransitionEvicted(
                    cycle=cycle,
                    t_ns=int(bars.t_ns[i]),
                    entity=f"transition:{buf.oldest_id}",
                    transition_id=buf.oldest_id,
                )
            )
        tid = buf.next_id
        rec.emit(
            ev.TransitionRecorded(
                cycle=cycle,
                t_ns=int(bars.t_ns[i]),
                entity=f"transition:{tid}",
                transition_id=tid,
                dt_ns=int(bars.t_ns[i + 1] - bars.t_ns[i]),
                state=tuple(s.tolist()),
                action=a,
                reward=r,
                next_state=tuple(world.state_vector(i + 1, new_position).tolist()),
                done=i + 1 == last,
                price=float(bars.close[i]),
                regime=bars.regime_names[bars.regime[i]],
                ctx=tuple(ctx.tolist()),
                violation=violation,
                position_after=new_position,
            )
        )
        if monitor is not None:
            flagged = monitor.flag(
                seen[world.memory_cols], cycle=cycle, t_ns=int(bars.t_ns[i]), transition_id=tid
            )
            if flagged is not None:
                rec.emit(flagged)
        ctx_rows.append(ctx)
        actions.append(a)
        pnl += r

    logic = world.scenario.logic
    truths = world.constraints.truth_of_actions(np.array(ctx_rows), np.array(actions))
    rec.emit(
        ev.DayClosed(
            cycle=cycle,
            t_ns=int(bars.t_ns[last]),
            entity=f"day:{world.date(day)}",
            date=world.date(day),
            n_transitions=len(actions),
            close_price=float(bars.close[last]),
            pnl=pnl,
            sat_agg=float(world.constraints.day_sat_agg(truths, logic.p_forall, logic.p_sat_agg)),
            constraint_truth=tuple(world.constraints.day_truth(truths, logic.p_forall).tolist()),
        )
    )
