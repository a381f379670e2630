"""The data behind the reading commands (``runs``, ``events``, ``at``, ``diff``), as plain
values over the ``EventStore`` port: the command line prints them, the notebook API
(``janus_sim.api``) turns them into polars frames. One function per question, so that
both answer it the same way, with the same one-line errors.

Nothing here prints, opens a store or imports polars.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from janus_sim.app.diff import StateDiff, diff_states, with_membership
from janus_sim.app.timetravel import SCHEMA_KINDS, Moment, schema_rows, state_at
from janus_sim.core.state import SimState
from janus_sim.errors import ConfigError, NotFoundError
from janus_sim.eventlog import EventBatch
from janus_sim.ports import EventQuery, EventStore, RunInfo
from janus_sim.timefmt import format_ns, parse_event_time

NO_RUNS = "the store has no runs yet: run `janus-sim run SCENARIO` first"


def pick_run(store: EventStore, run_id: str | None) -> str:
    """``run_id`` as given, or the latest run when None (NotFoundError if there is none).

    A given id is not checked here: the first read of an unknown run raises the store's
    NotFoundError, which names the known runs."""
    if run_id is not None:
        return run_id
    infos = store.list_runs()
    if not infos:
        raise NotFoundError(NO_RUNS)
    return infos[-1].run_id


def run_dict(info: RunInfo) -> dict[str, Any]:
    """A run row as ``runs --json`` prints it: every field but the bulky scenario text."""
    return {k: v for k, v in info.__dict__.items() if k != "scenario_text"}


# --- events ----------------------------------------------------------------------------


def event_query(
    kinds: tuple[str, ...] = (),
    *,
    cycle: int | None = None,
    since: str | None = None,
    until: str | None = None,
    entity: str | None = None,
    limit: int | None = None,
    tail: bool = False,
) -> EventQuery:
    """The filter of ``events``: kinds (each a known event kind), one cycle, simulated
    times (``since`` from its start, ``until`` to the end of a date), one entity, the
    first (or, with ``tail``, the last) ``limit`` matches.

    ConfigError ("--kind: unknown kind ...", "--since/--until: ...") otherwise."""
    from janus_sim.core.events import EVENT_KINDS

    for k in kinds:
        if k not in EVENT_KINDS:
            raise ConfigError("--kind", "", f"unknown kind {k!r}; known: {', '.join(EVENT_KINDS)}")
    try:
        t_min = parse_event_time(since, end_of_day=False) if since else None
        t_max = parse_event_time(until, end_of_day=True) if until else None
    except ValueError as e:
        raise ConfigError("--since/--until", "", str(e)) from e
    return EventQuery(
        kinds=kinds or None,
        cycle_min=cycle,
        cycle_max=cycle,
        t_min=t_min,
        t_max=t_max,
        entity=entity,
        limit=limit,
        tail=tail,
    )


def event_dicts(batch: EventBatch) -> list[dict[str, Any]]:
    """One dict per event, in seq order, as ``events --json`` prints them (the payload
    decoded from its JSON text)."""
    out = []
    for e in batch.records():
        r = e.record
        out.append(
            {
                "run_id": e.run_id,
                "seq": e.seq,
                "cycle": r.cycle,
                "t": format_ns(r.t_ns),
                "t_ns": r.t_ns,
                "kind": r.kind,
                "entity": r.entity,
                "version": r.version,
                "payload": json.loads(r.payload),
            }
        )
    return out


# --- cycles ----------------------------------------------------------------------------


def cycle_rows(store: EventStore, run_id: str) -> list[dict[str, Any]]:
    """One row per sleep cycle (its ``cycle_metrics`` event), in cycle order: ``cycle``,
    ``date`` and every metric of that night."""
    # Here, not at the top: compare imports scipy (schema matching), which `at` never needs.
    from janus_sim.app.compare import read_cycles

    rows = read_cycles(store, run_id)
    return [{"cycle": c, "date": rows[c].date, **rows[c].metrics} for c in sorted(rows)]


# --- at and diff -----------------------------------------------------------------------


@dataclass(frozen=True)
class SchemaView:
    """The schemas of run ``run_id`` as of ``moment``: the folded schema ``state`` (only
    ``SCHEMA_KINDS`` are folded), whose ``cycle`` is the moment's, and the seq of the
    last event up to the moment."""

    run_id: str
    moment: Moment
    state: SimState
    last_seq: int

    @property
    def rows(self) -> list[dict[str, object]]:
        """One plain row per live schema, in creation order (``timetravel.schema_rows``)."""
        return schema_rows(self.state)

    def as_json(self) -> dict[str, object]:
        """What ``at --json`` prints."""
        return {
            "run_id": self.run_id,
            "as_of": self.moment.label,
            "last_seq": self.last_seq,
            "cycle": self.state.cycle,
            "schemas": self.rows,
        }


def schemas_at(store: EventStore, run_id: str, moment: Moment) -> SchemaView:
    """The schema view of a run at a moment; NotFoundError for a moment outside the run
    (``timetravel.state_at``)."""
    state, last = state_at(store, run_id, moment, kinds=SCHEMA_KINDS)
    return SchemaView(run_id, moment, state, last)


@dataclass(frozen=True)
class DiffView:
    """Moment A, moment B and what changed between them (``diff.StateDiff``)."""

    a: SchemaView
    b: SchemaView
    diff: StateDiff


def diff_views(
    store_a: EventStore,
    run_a: str,
    moment_a: Moment,
    store_b: EventStore,
    run_b: str,
    moment_b: Moment,
) -> DiffView:
    """What changed from ``moment_a`` of ``run_a`` to ``moment_b`` of ``run_b``. Within one
    run of one store object (one session: one consistent view), with B not before A, the
    diff also says who joined each created or updated schema (``with_membership``)."""
    va = schemas_at(store_a, run_a, moment_a)
    vb = schemas_at(store_b, run_b, moment_b)
    d = diff_states(va.state, vb.state)
    # Who joined is a fact of one run's history between the moments: not across runs.
    if store_a is store_b and run_a == run_b and va.last_seq <= vb.last_seq:
        with_membership(d, store_b, run_b, va.last_seq, vb.last_seq)
    return DiffView(va, vb, d)
