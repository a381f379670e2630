"""Which transitions joined which schema, read back from a run's log.

``schema_created`` names each schema's founder and ``schema_updated`` (v2) the
transitions it absorbed that night, in order, with their squared Mahalanobis distance to
the schema just before each joined. A v1 ``schema_updated`` (janus-sim 0.1 logs) says
only how many joined: its membership is unknown, and ``Joined.known`` is False for any
span that contains one (``count`` still adds its points). Regimes come from the
``transition_recorded`` events, looked up only for the transitions named.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from janus_sim.core import events as ev
from janus_sim.core.codec import decode
from janus_sim.ports import EventQuery, EventStore

MEMBERSHIP_KINDS = ("schema_created", "schema_updated")


@dataclass(frozen=True)
class Joiner:
    transition_id: int
    mahalanobis_sq: float | None
    """Squared Mahalanobis distance to the schema just before it joined (regularized
    covariance, see ``events.SchemaUpdated``); None for the founder, which had none."""
    regime: str = ""
    """Its true regime ("" when not looked up)."""


@dataclass(frozen=True)
class Joined:
    """What joined one schema over a span of a run (a night, or the nights between two
    moments): ``count`` points in all, ``joiners`` in joining order. ``known`` is False
    when some of the span's events did not record who joined (v1): then ``joiners`` holds
    only those that were recorded and ``count`` exceeds ``len(joiners)``."""

    schema_id: str
    count: int
    joiners: tuple[Joiner, ...]
    known: bool

    def regime_counts(self) -> list[tuple[str, int]]:
        """(regime, joiners of it), most first, ties by name; unlooked-up regimes as "?"."""
        counts: dict[str, int] = {}
        for j in self.joiners:
            counts[j.regime or "?"] = counts.get(j.regime or "?", 0) + 1
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))

    def as_json(self) -> dict[str, object]:
        return {
            "count": self.count,
            "membership_known": self.known,
            "transitions": [j.transition_id for j in self.joiners],
            "mahalanobis_sq": [j.mahalanobis_sq for j in self.joiners],
            "regimes": [j.regime for j in self.joiners],
        }


def _own(event: ev.SchemaCreated | ev.SchemaUpdated) -> Joined:
    """What one schema event says joined its schema."""
    if isinstance(event, ev.SchemaCreated):
        founder = Joiner(event.transition_id, None, event.regime)
        return Joined(event.schema_id, 1, (founder,), True)
    if event.joined is None or event.joined_mahalanobis_sq is None:
        return Joined(event.schema_id, event.points_added, (), False)
    joiners = tuple(
        Joiner(t, d) for t, d in zip(event.joined, event.joined_mahalanobis_sq, strict=True)
    )
    return Joined(event.schema_id, event.points_added, joiners, True)


def _merge(a: Joined, b: Joined) -> Joined:
    return Joined(a.schema_id, a.count + b.count, a.joiners + b.joiners, a.known and b.known)


def joined_by_schema(events: Iterable[ev.Event]) -> dict[str, Joined]:
    """Schema id -> what joined it over ``events`` (other kinds ignored), in the order
    the schemas first appear."""
    out: dict[str, Joined] = {}
    for e in events:
        if isinstance(e, ev.SchemaCreated | ev.SchemaUpdated):
            own = _own(e)
            out[e.schema_id] = _merge(out[e.schema_id], own) if e.schema_id in out else own
    return out


def joined_by_night(events: Iterable[ev.Event]) -> dict[int, dict[str, Joined]]:
    """Cycle -> ``joined_by_schema`` of that night's schema events."""
    nights: dict[int, list[ev.Event]] = {}
    for e in events:
        if isinstance(e, ev.SchemaCreated | ev.SchemaUpdated):
            nights.setdefault(e.cycle, []).append(e)
    return {c: joined_by_schema(es) for c, es in nights.items()}


def with_regimes(joined: Mapping[str, Joined], regime_of: Mapping[int, str]) -> dict[str, Joined]:
    """``joined`` with each joiner's regime filled in from ``regime_of`` (transition id ->
    regime) where it is there and not already known."""
    return {
        sid: replace(
            j,
            joiners=tuple(
                x if x.regime else replace(x, regime=regime_of.get(x.transition_id, ""))
                for x in j.joiners
            ),
        )
        for sid, j in joined.items()
    }


def transition_regimes(
    store: EventStore, run_id: str, ids: Iterable[int], seq_max: int | None = None
) -> dict[int, str]:
    """Transition id -> true regime, for ``ids`` recorded up to ``seq_max``. Reads the
    ``transition_recorded`` rows but parses only the payloads of those named."""
    wanted = {f"transition:{t}" for t in ids}
    if not wanted:
        return {}
    batch = store.read(run_id, EventQuery(kinds=["transition_recorded"], seq_max=seq_max))
    out: dict[int, str] = {}
    for entity, payload in zip(batch.entity, batch.payload, strict=True):
        if entity in wanted:
            out[int(entity.split(":", 1)[1])] = str(json.loads(payload)["regime"])
    return out


def joined_between(
    store: EventStore, run_id: str, seq_after: int, seq_upto: int
) -> dict[str, Joined]:
    """What joined each schema in the events ``seq_after < seq <= seq_upto`` of a run,
    with the joiners' regimes; empty when the span is empty."""
    if seq_upto <= seq_after:
        return {}
    query = EventQuery(kinds=list(MEMBERSHIP_KINDS), seq_min=seq_after + 1, seq_max=seq_upto)
    joined = joined_by_schema(decode(s.record) for s in store.read(run_id, query).records())
    ids = [x.transition_id for j in joined.values() for x in j.joiners if not x.regime]
    return with_regimes(joined, transition_regimes(store, run_id, ids, seq_upto))
