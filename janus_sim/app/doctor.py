"""The doctor's verdict: did any perturbation that must not matter change the run?

``janus-sim doctor`` runs one scenario several times, each under a perturbation that
must not change a deterministic run (thread counts, the hash seed, a fresh process: see
``janus_sim.portable_check.doctor_settings``), each run writing its log to a store.
``diagnose`` compares every run with the first (the reference): a run is the same when
its digest and event count are; for one that is not, it names the first divergent event
of the two logs (``compare.first_divergence``). A run that failed is a difference too,
with its error and no divergence.

Data only, over ports: the stores are opened by the caller's ``open_store``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from janus_sim.app.compare import first_divergence
from janus_sim.app.divergence import Divergence
from janus_sim.ports import EventStore


class RunOutcome(Protocol):
    """One perturbed run: its name, digest and event count, the store holding its log
    (as run ``run_id`` of ``diagnose``) and the error that stopped it, if any."""

    @property
    def name(self) -> str: ...

    @property
    def digest(self) -> str: ...

    @property
    def n_events(self) -> int: ...

    @property
    def store(self) -> str: ...

    @property
    def error(self) -> str: ...


@dataclass(frozen=True)
class DoctorRow:
    name: str
    env: dict[str, str]
    digest: str
    n_events: int
    same: bool
    """Digest and event count equal to the reference's (the reference itself: True)."""
    error: str = ""
    divergence: Divergence | None = None
    """The first event at which this run's log leaves the reference's, when not same."""


@dataclass(frozen=True)
class DoctorReport:
    scenario: str
    seed: int
    notes: tuple[str, ...]
    """How the scenario was adjusted for the runs (projection forced on, fewer days)."""
    rows: tuple[DoctorRow, ...]
    """The reference first."""

    @property
    def ok(self) -> bool:
        return all(r.same for r in self.rows)

    @property
    def differing(self) -> tuple[DoctorRow, ...]:
        return tuple(r for r in self.rows if not r.same)


def diagnose(
    outcomes: Sequence[RunOutcome],
    envs: Sequence[dict[str, str]],
    open_store: Callable[[str], EventStore],
    run_id: str,
) -> tuple[DoctorRow, ...]:
    """A row per outcome, compared with ``outcomes[0]`` (the reference); ``envs[i]`` is
    the environment outcome i ran under (shown, not compared).

    ``open_store(path)`` opens a store for reading; each is closed before this returns.
    A reference that failed makes every row a difference (nothing to compare with)."""
    if not outcomes:
        raise ValueError("diagnose needs at least the reference outcome")
    ref = outcomes[0]
    rows = []
    for o, env in zip(outcomes, envs, strict=True):
        ran = not o.error and not ref.error
        same = ran and (o.digest, o.n_events) == (ref.digest, ref.n_events)
        divergence = None
        if ran and not same:
            divergence = _first_divergence(open_store, ref.store, o.store, run_id)
        rows.append(DoctorRow(o.name, dict(env), o.digest, o.n_events, same, o.error, divergence))
    return tuple(rows)


def _first_divergence(
    open_store: Callable[[str], EventStore], store_a: str, store_b: str, run_id: str
) -> Divergence | None:
    a = open_store(store_a)
    try:
        b = open_store(store_b)
        try:
            return first_divergence(a, run_id, b, run_id)
        finally:
            b.close()
    finally:
        a.close()
