"""The awake day's responses to anomalies (spec 2.2.2), beside the replay priority.

Two of the four responses act during the day (the other two are the ``anomaly_flagged``
event and the top replay priority of phase 1):

* **Raised risk.** An anomaly at step i raises the risk from step i + 1: the agent takes
  no new exposure beyond ``risk_position_limit`` (it may hold or reduce) until
  ``risk_span_bars`` steps after the latest anomaly, or the day's last bar. A
  ``risk_raised`` event opens the span, a ``risk_restored`` event closes it with both
  times, the steps taken under it and its anomalies.
* **Operator alert.** ``alert_anomalies`` flags within the last ``alert_window_bars``
  steps emit an ``operator_alerted`` event. One alert per persistent episode: the next
  can come only after a whole window without a flag, and its count starts afresh.

Both live within one day: a night's consolidation and a new map come between days, and
nothing is carried over (the checkpoint after the night needs nothing of them).
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from janus_sim.core import events as ev

if TYPE_CHECKING:
    from janus_sim.config import Responses


class DayResponses:
    """The responses' bookkeeping for one day; each method returns the events to emit."""

    def __init__(self, cfg: Responses, cycle: int) -> None:
        self.cfg = cfg
        self.cycle = cycle
        self._raised_t: int | None = None
        self._until = -1  # the last step under raised risk
        self._steps = 0
        self._anomalies = 0
        self._recent: deque[tuple[int, int]] = deque()  # (step, transition) of recent flags
        self._quiet_from = -1  # after an alert, the step from which alerts may come again

    @property
    def risk_cap(self) -> int | None:
        """The exposure cap in force now, None when risk is not raised."""
        return None if self._raised_t is None else self.cfg.risk_position_limit

    def before_step(self, step: int, t_ns: int) -> list[ev.Event]:
        """Called before the agent acts at ``step``: ends a span that is over."""
        if self._raised_t is not None and step > self._until:
            return [self._restore(t_ns)]
        if self._raised_t is not None:
            self._steps += 1
        return []

    def flagged(self, step: int, t_ns: int, transition_id: int) -> list[ev.Event]:
        """Called after the anomaly at ``step``: raises or extends the risk, may alert."""
        out: list[ev.Event] = []
        cfg = self.cfg
        if cfg.risk_span_bars > 0:
            if self._raised_t is None:
                self._raised_t, self._steps, self._anomalies = t_ns, 0, 0
                out.append(
                    ev.RiskRaised(
                        cycle=self.cycle,
                        t_ns=t_ns,
                        entity="risk",
                        transition_id=transition_id,
                        position_limit=cfg.risk_position_limit,
                        span_bars=cfg.risk_span_bars,
                    )
                )
            self._anomalies += 1
            self._until = step + cfg.risk_span_bars
        out += self._alert(step, t_ns, transition_id)
        return out

    def _alert(self, step: int, t_ns: int, transition_id: int) -> list[ev.Event]:
        cfg = self.cfg
        if step < self._quiet_from:  # the alerted episode goes on: no second alert
            self._quiet_from = step + cfg.alert_window_bars
            return []
        recent = self._recent
        recent.append((step, transition_id))
        while recent[0][0] <= step - cfg.alert_window_bars:
            recent.popleft()
        out: list[ev.Event] = []
        if len(recent) >= cfg.alert_anomalies:
            out.append(
                ev.OperatorAlerted(
                    cycle=self.cycle,
                    t_ns=t_ns,
                    entity="operator",
                    n_anomalies=len(recent),
                    window_bars=cfg.alert_window_bars,
                    first_transition_id=recent[0][1],
                    last_transition_id=transition_id,
                )
            )
            recent.clear()
            self._quiet_from = step + cfg.alert_window_bars
        return out

    def close(self, t_ns: int) -> list[ev.Event]:
        """Called at the day's last bar: ends a span still open."""
        return [self._restore(t_ns)] if self._raised_t is not None else []

    def _restore(self, t_ns: int) -> ev.RiskRestored:
        raised = self._raised_t
        if raised is None:
            raise RuntimeError("no raised risk to restore")
        event = ev.RiskRestored(
            cycle=self.cycle,
            t_ns=t_ns,
            entity="risk",
            raised_t_ns=raised,
            n_bars=self._steps,
            n_anomalies=self._anomalies,
        )
        self._raised_t = None
        return event
