"""What changed between two moments of a run, or between two runs: schemas created,
pruned and updated (by how much), and the deltas of the latest cycle metrics.

Schemas are matched by id; ids are deterministic (``schema-<cycle>-<n>``), so across two
runs of different code an id names "the n-th schema born that night", not the same memory.
Between two moments of one run the diff also says which transitions joined each created
or updated schema (``app.membership``); across runs, or backwards in time, it cannot.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from janus_sim.app.membership import Joined, joined_between
from janus_sim.app.timetravel import Moment
from janus_sim.core.state import SimState
from janus_sim.errors import ConfigError
from janus_sim.ports import EventStore
from janus_sim.timefmt import MomentOutOfRange, parse_event_time


@dataclass(frozen=True)
class SchemaChange:
    schema_id: str
    points_before: int
    points_after: int
    mean_shift: float
    """Euclidean distance between the two means."""
    cov_change: float
    """Frobenius norm of the covariance difference."""


@dataclass
class StateDiff:
    created: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    updated: list[SchemaChange] = field(default_factory=list)
    metrics: dict[str, tuple[float, float]] = field(default_factory=dict)
    """name -> (value at A, value at B) for metrics that differ."""
    points: dict[str, int] = field(default_factory=dict)
    """Points of each created schema (at B) and each pruned one (at A)."""
    joined: dict[str, Joined] | None = None
    """Created or updated schema -> what joined it from A to B (``with_membership``);
    None when not computed (A and B not in one run, or B before A)."""

    @property
    def empty(self) -> bool:
        return not (self.created or self.pruned or self.updated or self.metrics)

    def as_json(self) -> dict[str, object]:
        """The changes as ``diff --json`` prints them (beside the two sides it names)."""
        return {
            "created": self.created,
            "pruned": self.pruned,
            "updated": [u.__dict__ for u in self.updated],
            "points": self.points,
            "joined": None
            if self.joined is None
            else {sid: j.as_json() for sid, j in self.joined.items()},
            "metrics": {k: {"a": va, "b": vb} for k, (va, vb) in self.metrics.items()},
        }


def _latest_metrics(state: SimState) -> dict[str, float]:
    return state.metrics[max(state.metrics)] if state.metrics else {}


def diff_states(a: SimState, b: SimState) -> StateDiff:
    out = StateDiff()
    out.created = [sid for sid in b.schemas if sid not in a.schemas]
    out.pruned = [sid for sid in a.schemas if sid not in b.schemas]
    out.points = {sid: b.schemas[sid].n_points for sid in out.created}
    out.points.update({sid: a.schemas[sid].n_points for sid in out.pruned})
    for sid, before in a.schemas.items():
        after = b.schemas.get(sid)
        if after is None:
            continue
        same = (
            before.n_points == after.n_points
            and np.array_equal(before.mean, after.mean)
            and np.array_equal(before.cov, after.cov)
        )
        if not same:
            out.updated.append(
                SchemaChange(
                    schema_id=sid,
                    points_before=before.n_points,
                    points_after=after.n_points,
                    mean_shift=float(np.linalg.norm(after.mean - before.mean)),
                    cov_change=float(np.linalg.norm(after.cov - before.cov)),
                )
            )
    ma, mb = _latest_metrics(a), _latest_metrics(b)
    for name in list(ma) + [n for n in mb if n not in ma]:
        va, vb = ma.get(name, float("nan")), mb.get(name, float("nan"))
        if va != vb:
            out.metrics[name] = (va, vb)
    return out


def with_membership(
    d: StateDiff, store: EventStore, run_id: str, seq_a: int, seq_b: int
) -> StateDiff:
    """``d`` (a diff from event ``seq_a`` to ``seq_b`` of run ``run_id``, B not before A)
    with ``joined`` set: what joined each schema created or updated between them (a
    schema created and pruned in between is in neither list, so it is left out)."""
    if seq_b < seq_a:
        raise ValueError(f"membership runs forwards: B (event {seq_b}) precedes A ({seq_a})")
    shown = set(d.created) | {u.schema_id for u in d.updated}
    joined = joined_between(store, run_id, seq_a, seq_b)
    d.joined = {sid: j for sid, j in joined.items() if sid in shown}
    return d


def parse_when(when: str) -> Moment:
    """A WHEN as a moment: ``YYYY-MM-DD`` (its last nanosecond), a timestamp
    (``YYYY-MM-DDTHH:MM[:SS]``), ``cycle:N`` (after that night), ``seq:N`` (after that
    event) or ``end``. The label is WHEN as given, or ``cycle N``/``event N``.

    Raises ValueError naming the accepted forms.
    """
    if when == "end":
        return Moment(label="the end of the run")
    kind, sep, number = when.partition(":")
    if sep and kind in {"cycle", "seq"}:
        # isascii: str.isdigit() also accepts digits such as '²' that int() refuses.
        if not (number.isascii() and number.isdigit()):
            raise ValueError(f"{when!r}: expected {kind}:N with N a whole number >= 0")
        n = int(number)
        return (
            Moment(cycle=n, label=f"cycle {n}")
            if kind == "cycle"
            else Moment(seq=n, label=f"event {n}")
        )
    try:
        return Moment(t_ns=parse_event_time(when, end_of_day=True), label=when)
    except MomentOutOfRange:
        raise  # a date, but out of range: the other forms are beside the point
    except ValueError as e:
        raise ValueError(f"{e}, cycle:N, seq:N or end") from e


def parse_spec(text: str) -> tuple[str | None, Moment]:
    """``[RUN@]WHEN`` (the form ``diff`` took before ``[STORE:]RUN@WHEN``): the run, if
    named, and the moment. Raises ConfigError naming the text."""
    run_id, _, when = text.rpartition("@")
    try:
        return run_id or None, parse_when(when)
    except ValueError as e:
        raise ConfigError(text, "", f"{e} (optionally RUN@ first)") from e
