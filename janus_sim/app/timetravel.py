"""Time travel: the state of a run at any moment, rebuilt by folding its log.

A moment is a simulated time (``as of`` a date means its last nanosecond), a cycle (the
state after that night's sleep) or a sequence number. The rebuild is the same fold the
live engine runs, over the events up to that moment.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from janus_sim.core.codec import decode
from janus_sim.core.state import SimState, apply
from janus_sim.errors import NotFoundError
from janus_sim.ports import EventQuery, EventStore
from janus_sim.timefmt import NS_PER_DAY, format_ns


@dataclass(frozen=True)
class Moment:
    """Exactly one of the bounds is set; none means the end of the run."""

    t_ns: int | None = None
    cycle: int | None = None
    seq: int | None = None
    label: str = "the end of the run"


SCHEMA_KINDS = (
    "schema_created",
    "schema_updated",
    "schema_pruned",
    "schema_checkpoint",
    "state_checkpoint",
    "cycle_metrics",
)
"""The events the schema view depends on: no other event touches the schemas. `at` and
`diff` start from the latest checkpoint at or before the moment (``state_checkpoint``;
``schema_checkpoint`` in logs of janus-sim 0.1), with the latest night's metrics before
it, and fold only these kinds after it, so their cost does not grow with the length of
the run."""
CHECKPOINT_KINDS = ("schema_checkpoint", "state_checkpoint")


def state_at(
    store: EventStore, run_id: str, moment: Moment, *, kinds: tuple[str, ...] | None = None
) -> tuple[SimState, int]:
    """(state, seq of the last event up to the moment). With ``kinds``, only those events
    are folded (see SCHEMA_KINDS).

    NotFoundError when the run has no events yet, when the moment precedes the run, and
    when it lies beyond the run's end (so far): a time after its last day, a cycle after
    its last cycle, a seq after its last event. A moment out of range is never read as
    the nearest end.
    """
    end = store.read(run_id, EventQuery(limit=1, tail=True))
    if len(end) == 0:
        raise NotFoundError(
            f"run {run_id!r} has no events yet, so it has no state as of {moment.label}"
        )
    last_t, last_cycle, last_seq = int(end.t_ns[0]), int(end.cycle[0]), int(end.seq[0])
    ends = f"is after run {run_id!r} ends"
    if moment.seq is not None and moment.seq > last_seq:
        raise NotFoundError(f"{moment.label} {ends} (its last event is {last_seq})")
    if moment.cycle is not None and moment.cycle > last_cycle:
        raise NotFoundError(f"{moment.label} {ends} (its last cycle is {last_cycle})")
    if moment.t_ns is not None:
        last_day_end = last_t - last_t % NS_PER_DAY + NS_PER_DAY - 1
        if moment.t_ns > last_day_end:  # past the run's last day
            raise NotFoundError(f"{moment.label} {ends} ({format_ns(last_t)})")
    bound = EventQuery(t_max=moment.t_ns, cycle_max=moment.cycle, seq_max=moment.seq)
    last = store.read(run_id, replace(bound, limit=1, tail=True))
    if len(last) == 0:
        first = store.read(run_id, EventQuery(limit=1))
        start = format_ns(int(first.t_ns[0]))
        raise NotFoundError(f"{moment.label} is before run {run_id!r} starts ({start})")
    state = SimState()
    query = replace(bound, kinds=kinds)
    if kinds is not None and set(CHECKPOINT_KINDS) <= set(kinds):
        cp = store.read(run_id, replace(bound, kinds=CHECKPOINT_KINDS, limit=1, tail=True))
        if len(cp):
            from_seq = int(cp.seq[0])
            query = replace(query, seq_min=from_seq)
            # The latest metrics before the checkpoint (the view keeps the latest night's
            # metrics; reading every night's would make `at` grow with the log).
            if "cycle_metrics" in kinds:
                before = replace(
                    bound, kinds=["cycle_metrics"], seq_max=from_seq - 1, limit=1, tail=True
                )
                for stored in store.read(run_id, before).records():
                    apply(decode(stored.record), state)
    for stored in store.read(run_id, query).records():
        apply(decode(stored.record), state)
    state.cycle = int(last.cycle[0])  # the moment's cycle, even when filtered events end earlier
    return state, int(last.seq[0])


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
