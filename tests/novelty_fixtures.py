"""Hand-built runs for the tests of ``app.novelty``: the events the score reads, from a
script of days, with their truth worked out independently of the module under test.

A script is a list of days, each a list of bars ``(regime, flagged)``. ``run_events``
turns it into the event stream the engine writes: per day ``day_opened``, then per bar a
``transition_evicted`` when the FIFO buffer of ``capacity`` is full, its
``transition_recorded`` and, for a flagged bar, an ``anomaly_flagged`` right after it;
``day_closed``; then the night's ``projection_fitted`` when the night is mapped
(``map_from``: the first night with a map; None: no night is). Transition ids count from
0 in bar order.

``truth`` computes what the score should say from the same script with a plain list as
the buffer: per bar, whether it is scored (its day opened with a map) and novel (its
regime was absent from the buffer at the day's open).

``days("cc", "cSsxX")`` is the compact form: a letter per bar (``c`` calm, ``s`` stress,
``x`` crash, ``r`` rebound, ``u`` unlabelled), upper case when it is flagged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from janus_sim.core import events as ev
from janus_sim.core.market import UNLABELLED
from tests.factories import MINUTE_NS, anomaly, transition

Bar = tuple[str, bool]
"""(true regime, flagged by the monitor)."""
Script = Sequence[Sequence[Bar]]
DAY_NS = 86_400_000_000_000
REGIME_OF = {"c": "calm", "s": "stress", "x": "crash", "r": "rebound", "u": UNLABELLED}


def days(*texts: str) -> list[list[Bar]]:
    """The compact script form (see the module docstring)."""
    return [[(REGIME_OF[ch.lower()], ch.isupper()) for ch in text] for text in texts]


def date_of(day: int) -> str:
    """The date of day ``day`` (0-based) of a script."""
    return f"2025-12-{day + 1:02d}"


def flag(tid: int, t_ns: int, cycle: int = 1) -> ev.AnomalyFlagged:
    return anomaly(tid, t_ns, cycle)


def projection_fitted(cycle: int, t_ns: int) -> ev.ProjectionFitted:
    """A night's map with nothing on it (the score only needs to know that it exists)."""
    return ev.ProjectionFitted(
        cycle=cycle,
        t_ns=t_ns,
        entity=f"projection:{cycle}",
        method="empty",
        params=(),
        point_ids=(),
        coords=(),
        labels=(),
        centres=(),
        center=(0.0, 0.0, 0.0),
        scale=1.0,
        projector="",
        projector_rmse=0.0,
    )


def run_events(
    script: Script, *, capacity: int | None = None, map_from: int | None = 1
) -> list[ev.Event]:
    """The events of ``script`` in log order (see the module docstring)."""
    out: list[ev.Event] = []
    buffer: list[int] = []  # transition ids, oldest first
    tid = 0
    for d, bars in enumerate(script):
        cycle, t0 = d + 1, (d + 1) * DAY_NS
        out.append(
            ev.DayOpened(
                cycle=cycle,
                t_ns=t0,
                entity=f"day:{date_of(d)}",
                date=date_of(d),
                n_bars=len(bars) + 1,
                open_price=100.0,
                regimes=tuple(dict.fromkeys(r for r, _ in bars)),
            )
        )
        for i, (regime, flagged) in enumerate(bars):
            t = t0 + (i + 1) * MINUTE_NS
            if capacity is not None and len(buffer) == capacity:
                oldest = buffer.pop(0)
                out.append(
                    ev.TransitionEvicted(
                        cycle=cycle, t_ns=t, entity=f"transition:{oldest}", transition_id=oldest
                    )
                )
            out.append(replace(transition(tid, t, [0.0]), cycle=cycle, regime=regime))
            buffer.append(tid)
            if flagged:
                out.append(flag(tid, t, cycle))
            tid += 1
        close = t0 + (len(bars) + 1) * MINUTE_NS
        out.append(
            ev.DayClosed(
                cycle=cycle,
                t_ns=close,
                entity=f"day:{date_of(d)}",
                date=date_of(d),
                n_transitions=len(bars),
                close_price=100.0,
                pnl=0.0,
                sat_agg=1.0,
                constraint_truth=(),
            )
        )
        if map_from is not None and cycle >= map_from:
            out.append(projection_fitted(cycle, close + MINUTE_NS))
    return out


@dataclass(frozen=True)
class BarTruth:
    tid: int
    day: int
    regime: str
    flagged: bool
    scored: bool
    novel: bool


def truth(
    script: Script, *, capacity: int | None = None, map_from: int | None = 1
) -> list[BarTruth]:
    """Every bar of ``script`` with whether it is scored and novel (see the module doc)."""
    out: list[BarTruth] = []
    buffer: list[str] = []  # the buffered transitions' regimes, oldest first
    for d, bars in enumerate(script):
        known = set(buffer)
        scored = map_from is not None and d >= map_from  # night d (1-based) mapped
        for regime, flagged in bars:
            out.append(BarTruth(len(out), d, regime, flagged, scored, regime not in known))
            buffer.append(regime)
            if capacity is not None and len(buffer) > capacity:
                del buffer[0]
    return out
