"""What the agent did about the anomalies it flagged (spec 2.2.2), read from a run's events.

Two responses: a *risk span* (``risk_raised`` ... ``risk_restored``: no new exposure
beyond a limit for a while) and an *operator alert* (``operator_alerted``: K anomalies
within a window of bars). The run summary and the HTML report both list them from here.

A ``risk_restored`` closes the oldest ``risk_raised`` still open (spans do not overlap:
an anomaly inside a span extends it instead of raising another). A ``risk_raised``
that no ``risk_restored`` closes (a run cut short) is a span still open at the end of
the log; a ``risk_restored`` without one before it keeps what it says by itself. A run
written before the responses existed has neither event: no span, no alert.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, replace

from janus_sim.core import events as ev
from janus_sim.core.codec import decode
from janus_sim.ports import EventQuery, EventStore

KINDS = ("risk_raised", "risk_restored", "operator_alerted")
"""The event kinds ``anomaly_responses`` reads."""


@dataclass(frozen=True, slots=True)
class RiskSpan:
    cycle: int
    raised_t_ns: int
    restored_t_ns: int | None
    """When the usual limit came back (None: still raised at the end of the log)."""
    transition_id: int | None
    """The anomaly that raised it (None: its ``risk_raised`` is not in the log)."""
    position_limit: int | None
    n_bars: int | None
    """Awake steps taken under it (None while still open)."""
    n_anomalies: int | None
    """Anomalies flagged in it (None while still open)."""

    @property
    def is_open(self) -> bool:
        return self.restored_t_ns is None


@dataclass(frozen=True, slots=True)
class Alert:
    cycle: int
    t_ns: int
    n_anomalies: int
    window_bars: int
    first_transition_id: int
    last_transition_id: int


@dataclass(frozen=True, slots=True)
class AnomalyResponses:
    spans: tuple[RiskSpan, ...]
    """In order of raising."""
    alerts: tuple[Alert, ...]
    """In log order."""

    @property
    def bars_under_risk(self) -> int:
        """Awake steps under raised risk, over the closed spans."""
        return sum(s.n_bars or 0 for s in self.spans)

    @property
    def n_open(self) -> int:
        return sum(s.is_open for s in self.spans)

    @property
    def first_alert(self) -> Alert | None:
        return self.alerts[0] if self.alerts else None


def anomaly_responses(events: Iterable[ev.Event]) -> AnomalyResponses:
    """The risk spans and operator alerts of a run's events in sequence order (kinds
    outside ``KINDS`` are ignored)."""
    spans: list[RiskSpan] = []
    open_spans: deque[int] = deque()  # positions in ``spans`` of spans not yet restored
    alerts: list[Alert] = []
    for e in events:
        if isinstance(e, ev.RiskRaised):
            open_spans.append(len(spans))
            spans.append(
                RiskSpan(
                    cycle=e.cycle,
                    raised_t_ns=e.t_ns,
                    restored_t_ns=None,
                    transition_id=e.transition_id,
                    position_limit=e.position_limit,
                    n_bars=None,
                    n_anomalies=None,
                )
            )
        elif isinstance(e, ev.RiskRestored):
            if open_spans:
                i = open_spans.popleft()
            else:  # its risk_raised is not in the log
                i = len(spans)
                spans.append(RiskSpan(e.cycle, e.raised_t_ns, None, None, None, None, None))
            spans[i] = replace(
                spans[i],
                raised_t_ns=e.raised_t_ns,
                restored_t_ns=e.t_ns,
                n_bars=e.n_bars,
                n_anomalies=e.n_anomalies,
            )
        elif isinstance(e, ev.OperatorAlerted):
            alerts.append(
                Alert(
                    cycle=e.cycle,
                    t_ns=e.t_ns,
                    n_anomalies=e.n_anomalies,
                    window_bars=e.window_bars,
                    first_transition_id=e.first_transition_id,
                    last_transition_id=e.last_transition_id,
                )
            )
    return AnomalyResponses(tuple(spans), tuple(alerts))


def responses_of_run(store: EventStore, run_id: str) -> AnomalyResponses:
    """``anomaly_responses`` over a stored run (reads the response events only)."""
    batch = store.read(run_id, EventQuery(kinds=list(KINDS)))
    return anomaly_responses(decode(r.record) for r in batch.records())
