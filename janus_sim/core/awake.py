"""The awake day: market bars -> agent actions -> transitions into the episodic buffer.

``run_day`` reads the run's fixed inputs (``world.World``: bars, features, the compiled
constraints) and emits the day's events through the recorder, which folds them into the
state as they are emitted. With projection enabled, each recorded state is also
projected onto the last night's map and flagged when it is far from everything the map
holds (eq. 32, ``anomaly_monitor.py``): ``anomaly_flagged`` right after its
``transition_recorded``, followed by the responses it triggers (``responses.py``: raised
risk, which the agent obeys from the next bar, and operator alerts).
"""

from __future__ import annotations

import numpy as np

from janus_sim.core import events as ev
from janus_sim.core.agent import choose_action, next_position, step_reward
from janus_sim.core.anomaly_monitor import AnomalyMonitor
from janus_sim.core.logic import ConstraintSet
from janus_sim.core.responses import DayResponses
from janus_sim.core.state import Recorder, SimState
from janus_sim.core.world import World


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
    monitor = _monitor(world, rec.state) if proj.enabled else None
    responses = DayResponses(world.scenario.responses, cycle)
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
    violations = DayViolations(world.constraints, world.market_ctx[first:last], agent.max_position)
    pnl = 0.0
    for i in range(first, last):
        for e in responses.before_step(i, int(bars.t_ns[i])):
            rec.emit(e)
        position = state.position
        s = world.state_vector(i, position)
        seen = world.acting_view(state, i, s)
        a = choose_action(
            state.params,
            seen,
            agent.epsilon,
            rng,
            position=position,
            limit=agent.position_limit,
            risk_cap=responses.risk_cap,
        )
        new_position = next_position(position, a, agent.max_position)
        r = step_reward(position, new_position, bars.close[i], bars.close[i + 1], agent.cost_bps)
        ctx = np.append(world.market_ctx[i], float(position))
        violation = violations.of(i - first, position, a, ctx)
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
                for e in responses.flagged(i, int(bars.t_ns[i]), tid):
                    rec.emit(e)
        ctx_rows.append(ctx)
        actions.append(a)
        pnl += r

    for e in responses.close(int(bars.t_ns[last])):
        rec.emit(e)
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


def _monitor(world: World, state: SimState) -> AnomalyMonitor | None:
    """Today's anomaly monitor: last night's map, and for the ``memory`` reference the
    buffer as the night left it (chronological order; through the frozen scaler)."""
    proj = world.scenario.projection
    memory = None
    if proj.anomaly_reference == "memory" and state.projection is not None:
        buf, _ = state.require_buffer()
        memory = state.view(buf.states[buf.chronological_slots()])[:, world.memory_cols]
    return AnomalyMonitor.of(
        state.projection,
        proj.tau_anomaly,
        proj.anomaly_reference,
        memory,
        proj.anomaly_persistence,
    )


class DayViolations:
    """v_i (``ConstraintSet.violation``) of every action at every position for a day's
    bars, evaluated in batches of bars: a bar's violation then costs a lookup, not an
    evaluation of the constraints on one row (0.17 ms each).

    ``of`` returns what ``constraints.violation(ctx[None, :], [a])[0]`` returns, bit for
    bit: every predicate, the clipping and the weighted sum are computed row by row, so a
    row's value does not depend on the batch around it. A row the table cannot hold (a
    position beyond ``max_position``, a context that is not finite or has a negative
    drawdown) is evaluated on its own when asked for, so it raises where it did. A batch
    holds about ``BATCH_ROWS`` rows (bars x positions x actions), computed when a bar past
    the last batch is first asked for; with more positions than a batch holds (a huge
    ``max_position``) every bar is evaluated on its own.
    """

    BATCH_ROWS = 65_536

    def __init__(self, constraints: ConstraintSet, market_ctx: np.ndarray, max_position: int):
        self.constraints = constraints
        self._market = np.asarray(market_ctx, dtype=np.float64)
        self._lo = -max_position
        self._positions = np.arange(-max_position, max_position + 1, dtype=np.float64)
        per_bar = 3 * len(self._positions)
        self._bars = self.BATCH_ROWS // per_bar  # per batch; 0: no table
        self._start = 0
        self._table = np.empty((0, len(self._positions), 3))
        self._ok = np.zeros((0, len(self._positions), 3), dtype=bool)

    def _fill(self, start: int) -> None:
        """Evaluate the batch of bars from ``start``; rows in (bar, position, action) order,
        each the context ``run_day`` builds."""
        market = self._market[start : start + self._bars]
        n_bars, n_pos = len(market), len(self._positions)
        ctx = np.column_stack(
            [
                np.repeat(market, n_pos * 3, axis=0),
                np.tile(np.repeat(self._positions, 3), n_bars),
            ]
        )
        acts = np.tile(np.arange(3, dtype=np.int64), n_bars * n_pos)
        ok = np.all(np.isfinite(ctx), axis=1) & ~(ctx[:, 2] < 0)
        table = np.full(len(ctx), np.nan)
        table[ok] = self.constraints.violation(ctx[ok], acts[ok])
        self._start = start
        self._table = table.reshape(n_bars, n_pos, 3)
        self._ok = ok.reshape(n_bars, n_pos, 3)

    def of(self, bar: int, position: int, action: int, ctx: np.ndarray) -> float:
        """v_i of taking ``action`` at ``position`` on the day's bar ``bar`` (0-based),
        whose context row is ``ctx``."""
        k = position - self._lo
        if self._bars and 0 <= k < len(self._positions) and 0 <= bar < len(self._market):
            if not self._start <= bar < self._start + len(self._table):
                self._fill(bar)
            i = bar - self._start
            if self._ok[i, k, action]:
                return float(self._table[i, k, action])
        return float(self.constraints.violation(ctx[None, :], np.array([action]))[0])
