"""The trough lead: how long before a crash's price trough the anomaly monitor (eq. 32)
first flagged anything, read from a run's events. A secondary figure.

A run *has a crash* when a bar's true regime is ``crash`` or, for markets without labels
(real bars), when the price falls at least ``min_drawdown`` (10%) from a peak to the run's
lowest close. The *trough* is the transition at the run's lowest price (the first one if
it repeats); the *lead* is the number of awake steps (bars; the last bar of a day is not
a step) from the first ``anomaly_flagged`` at or before the trough to the trough.

Any flag before the trough counts, a false alarm on a calm day included, so a monitor
that flags more looks earlier. On synthetic markets the monitor's headline figures are
``app.novelty``'s instead: precision, recall and the familiar-bar false-positive rate
against the true regimes, and each novel regime's onset lead (bars from its first bar to
its first flag). This lead stays for what they cannot score: real bars, which carry no
regime, where it is the only figure, and beside the novelty figures as a secondary one
(the run summary, the HTML report, the sweep's ``anomaly_lead_bars`` column).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from janus_sim.core import events as ev
from janus_sim.core.codec import decode
from janus_sim.ports import EventQuery, EventStore

CRASH_REGIME = "crash"
MIN_DRAWDOWN = 0.10


@dataclass(frozen=True, slots=True)
class CrashLead:
    trough_id: int
    """The transition at the lowest price."""
    trough_t_ns: int
    trough_price: float
    peak_price: float
    """The highest price at or before the trough."""
    drawdown: float
    """1 - trough / peak."""
    first_anomaly_id: int | None
    """The first transition flagged at or before the trough (None: none was)."""
    first_anomaly_t_ns: int | None
    anomalies_before: int
    """Transitions flagged at or before the trough."""

    @property
    def bars_before(self) -> int | None:
        """Awake steps from the first anomaly to the trough (0: flagged at the trough)."""
        if self.first_anomaly_id is None:
            return None
        return self.trough_id - self.first_anomaly_id


def crash_lead(
    events: Iterable[ev.Event], *, min_drawdown: float = MIN_DRAWDOWN
) -> CrashLead | None:
    """The crash lead of a run's ``transition_recorded`` and ``anomaly_flagged`` events
    (others are ignored); None when the run has no crash (see the module docstring)."""
    trough: ev.TransitionRecorded | None = None
    peak_before = peak = float("-inf")
    labelled_crash = False
    flagged: list[tuple[int, int]] = []
    for e in events:
        if isinstance(e, ev.TransitionRecorded):
            labelled_crash = labelled_crash or e.regime == CRASH_REGIME
            peak = max(peak, e.price)
            if trough is None or e.price < trough.price:
                trough, peak_before = e, peak
        elif isinstance(e, ev.AnomalyFlagged):
            flagged.append((e.transition_id, e.t_ns))
    if trough is None or peak_before <= 0:
        return None
    drawdown = 1.0 - trough.price / peak_before
    if not labelled_crash and drawdown < min_drawdown:
        return None
    before = sorted(f for f in flagged if f[0] <= trough.transition_id)
    return CrashLead(
        trough_id=trough.transition_id,
        trough_t_ns=trough.t_ns,
        trough_price=trough.price,
        peak_price=peak_before,
        drawdown=drawdown,
        first_anomaly_id=before[0][0] if before else None,
        first_anomaly_t_ns=before[0][1] if before else None,
        anomalies_before=len(before),
    )


def crash_lead_of_run(
    store: EventStore, run_id: str, *, min_drawdown: float = MIN_DRAWDOWN
) -> CrashLead | None:
    """``crash_lead`` over a stored run (reads its transitions and anomalies only)."""
    batch = store.read(run_id, EventQuery(kinds=["transition_recorded", "anomaly_flagged"]))
    return crash_lead((decode(r.record) for r in batch.records()), min_drawdown=min_drawdown)
