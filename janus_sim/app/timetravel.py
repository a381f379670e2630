"""Time travel: the state of a run at any moment, rebuilt by folding its log.

A moment is a simulated time (``as of`` a date means its last nanosecond), a cycle (the
state after that night's sleep) or a sequence number. The rebuild is the same fold the
live engine runs, over the events up to that moment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from janus_sim.core.codec import decode
from janus_sim.core.state import SimState, apply
from janus_sim.errors import NotFoundError
from janus_sim.ports import EventQuery, EventStore
from janus_sim.timefmt import format_ns


@dataclass(frozen=True)
class Moment:
    """Exactly one of the bounds is set; none means the end of the run."""

    t_ns: int | None = None
    cycle: int | None = None
    seq: int | None = None
    label: str = "the end of the run"


def state_at(store: EventStore, run_id: str, moment: Moment) -> tuple[SimState, int]:
    """(state, last folded seq). NotFoundError when the moment precedes the run."""
    query = EventQuery(t_max=moment.t_ns, cycle_max=moment.cycle, seq_max=moment.seq)
    batch = store.read(run_id, query)
    if len(batch) == 0:
        first = store.read(run_id, EventQuery(limit=1))
        start = format_ns(int(first.t_ns[0])) if len(first) else "(no events)"
        raise NotFoundError(f"{moment.label} is before run {run_id!r} starts ({start})")
    state = SimState()
    for stored in batch.records():
        apply(decode(stored.record), state)
    return state, int(batch.seq[-1])


def schema_rows(state: SimState) -> list[dict[str, object]]:
    """One plain row per live schema, in creation order (for tables and JSON)."""
    rows: list[dict[str, object]] = []
    for sid, sch in state.schemas.items():
        regimes = state.schema_regimes.get(sid, {})
        total = sum(regimes.values())
        dominant = max(sorted(regimes), key=lambda r: regimes[r]) if regimes else ""
        rows.append(
            {
                "id": sid,
                "points": sch.n_points,
                "avg_reward": sch.avg_reward,
                "created": format_ns(sch.created_ns),
                "updated": format_ns(sch.updated_ns),
                "mean_norm": float(np.linalg.norm(sch.mean)),
                "cov_trace": float(np.trace(sch.cov)),
                "dominant_regime": dominant,
                "dominant_share": regimes.get(dominant, 0) / total if total else 0.0,
            }
        )
    return rows
