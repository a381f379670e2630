"""The notebook API: runs, moments, events, diffs and comparisons as polars frames.

    >>> import janus_sim as js
    >>> store = js.open("store/")                      # doctest: +SKIP
    >>> run = store.run()                              # the latest run  # doctest: +SKIP
    >>> run.at("2025-12-20").schemas                   # doctest: +SKIP

Contract:

* ``open(path)`` is a read-only ``Store``; ``simulate(path)`` runs a scenario into an
  in-memory one and returns its ``Run``. Both are context managers with ``close()``.
* A ``Run`` answers ``at(WHEN)``, ``cycles()``, ``events(...)``, ``diff(A, B)`` and
  ``diff_metrics(A, B)``; ``compare(run_a, run_b)`` compares two runs. WHEN is what the
  command line takes: a date (its end), a timestamp ``YYYY-MM-DDTHH:MM[:SS]``,
  ``cycle:N``, ``seq:N`` or ``end`` (also a ``datetime.date`` or ``datetime.datetime``).
* The data is what the command line prints with ``--json`` (the same ``app.views``
  functions compute both); every frame has a fixed schema (``api_frames``), empty or not.
* Every mistake raises ``ApiError`` (a ``JanusError``) whose message is the one line the
  command line prints for it; ``cause`` is the specific error. Nothing is written.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from janus_sim import api_frames as frames
from janus_sim.app import views
from janus_sim.app.compare import CompareReport, RunSource, Tolerances, compare_runs, parse_tol
from janus_sim.app.diff import StateDiff, parse_when
from janus_sim.app.timetravel import Moment as When
from janus_sim.app.timetravel import state_at
from janus_sim.errors import ApiError, ConfigError, JanusError
from janus_sim.ports import EventStore

if TYPE_CHECKING:
    import polars as pl

    from janus_sim.core.state import SimState

__all__ = ["ApiError", "Moment", "Run", "Store", "compare", "compare_report", "open", "simulate"]

P = ParamSpec("P")
R = TypeVar("R")
INT64_MAX = 2**63 - 1


def _api(f: Callable[P, R]) -> Callable[P, R]:
    """Raise every JanusError of ``f`` as an ApiError with the same message."""

    @functools.wraps(f)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return f(*args, **kwargs)
        except ApiError:
            raise
        except JanusError as e:
            raise ApiError(str(e), e) from e

    return wrapper


def _whole(name: str, value: object, low: int) -> int:
    """``value`` as the CLI's ``WholeNumber`` option ``name`` takes it, same message."""
    expected = f"expected a whole number from {low} to {INT64_MAX}"
    shown = repr(str(value))  # as the option's text would be quoted
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(name, shown, f"is not a whole number ({expected})")
    if not low <= value <= INT64_MAX:
        raise ConfigError(name, shown, f"is out of range ({expected})")
    return value


def _when(value: str | dt.date, where: str) -> When:
    """A WHEN (text, date or datetime) as a moment; ConfigError naming ``where``."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:  # simulated time is UTC
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        text = value.isoformat(timespec="seconds" if not value.microsecond else "auto")
    elif isinstance(value, dt.date):
        text = value.isoformat()
    elif isinstance(value, str):
        text = value
    else:
        raise ConfigError(where, repr(value), "expected a WHEN: a date, cycle:N, seq:N or end")
    if not text:
        raise ConfigError(where, "''", "empty: expected a WHEN: a date, cycle:N, seq:N or end")
    try:
        return parse_when(text)
    except ValueError as e:
        # As ``janus-sim at`` words it (``cli.run_ref``): the text quoted once, then why.
        problem = str(e).removeprefix(f"{text!r}: ").removeprefix(f"{text!r} ")
        raise ConfigError(where, repr(text), problem) from e


class Store:
    """A read-only view of an event store (``open``) or an in-memory one (``simulate``).

    Use it in a ``with`` block or call ``close()``; afterwards every call raises ApiError.
    """

    def __init__(self, events: EventStore, where: str) -> None:
        self._events: EventStore | None = events
        self.where = where
        """The store's path as given, or ``"memory"``."""

    def __repr__(self) -> str:
        state = "closed" if self._events is None else "open"
        return f"<janus_sim.Store {self.where!r} ({state})>"

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the store (idempotent)."""
        if self._events is not None:
            self._events.close()
            self._events = None

    @property
    def events(self) -> EventStore:
        """The ``EventStore`` port underneath (ApiError once closed)."""
        if self._events is None:
            raise ApiError(f"the store {self.where} is closed")
        return self._events

    @_api
    def runs(self) -> pl.DataFrame:
        """One row per run, oldest first: the fields of ``janus-sim runs --json``
        (``api_frames.RUNS``)."""
        return frames.runs_frame([views.run_dict(i) for i in self.events.list_runs()])

    @_api
    def run(self, run_id: str | None = None) -> Run:
        """Run ``run_id``, or the latest run when None. ApiError naming the known runs
        for an unknown id, or saying the store has none."""
        rid = views.pick_run(self.events, run_id)
        self.events.get_run(rid)  # NotFoundError naming the known runs
        return Run(self, rid)


class Run:
    """One run of a store. Its methods read the store anew on each call."""

    def __init__(self, store: Store, run_id: str) -> None:
        self.store = store
        self.run_id = run_id

    def __repr__(self) -> str:
        return f"<janus_sim.Run {self.run_id!r} of {self.store.where!r}>"

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the run's store (for a ``simulate`` run, which owns its store)."""
        self.store.close()

    @property
    @_api
    def info(self) -> dict[str, Any]:
        """The run's row as ``runs --json`` prints it (status, digest, events, ...)."""
        return views.run_dict(self.store.events.get_run(self.run_id))

    @property
    def digest(self) -> str | None:
        """The run digest (None until the run finished)."""
        digest: str | None = self.info["digest"]
        return digest

    @_api
    def at(self, when: str | dt.date = "end") -> Moment:
        """The run as of WHEN (see the module docstring): what ``janus-sim at`` shows.
        ApiError for a WHEN outside the run (never read as the nearest end)."""
        moment = _when(when, "at")
        return Moment(self, views.schemas_at(self.store.events, self.run_id, moment))

    @_api
    def cycles(self) -> pl.DataFrame:
        """One row per sleep cycle: ``cycle``, ``date`` and each metric of that night
        (the ``cycle_metrics`` events; ``api_frames.CYCLES_FIXED``)."""
        return frames.cycles_frame(views.cycle_rows(self.store.events, self.run_id))

    @_api
    def events(
        self,
        kind: str | Sequence[str] | None = None,
        *,
        since: str | None = None,
        until: str | None = None,
        cycle: int | None = None,
        entity: str | None = None,
        limit: int | None = None,
        tail: bool = False,
    ) -> pl.DataFrame:
        """The run's events, filtered as ``janus-sim events`` filters them (every event
        when no filter is given: unlike the command, no default limit). ``payload`` is the
        stored JSON text (``api_frames.EVENTS``)."""
        kinds = (kind,) if isinstance(kind, str) else tuple(kind or ())
        query = views.event_query(
            kinds,
            cycle=None if cycle is None else _whole("--cycle", cycle, 0),
            since=since,
            until=until,
            entity=entity,
            limit=None if limit is None else _whole("--limit", limit, 1),
            tail=tail,
        )
        return frames.events_frame(self.store.events.read(self.run_id, query))

    def _diff(self, a: str | dt.date, b: str | dt.date, other: Run | None) -> StateDiff:
        rb = other or self
        view = views.diff_views(
            self.store.events,
            self.run_id,
            _when(a, "diff A"),
            rb.store.events,
            rb.run_id,
            _when(b, "diff B"),
        )
        return view.diff

    @_api
    def diff(self, a: str | dt.date, b: str | dt.date, *, other: Run | None = None) -> pl.DataFrame:
        """The schemas created, pruned and updated from moment ``a`` of this run to moment
        ``b`` (of ``other``, when given): the schema table of ``janus-sim diff``
        (``api_frames.DIFF``)."""
        return frames.diff_frame(self._diff(a, b, other))

    @_api
    def diff_metrics(
        self, a: str | dt.date, b: str | dt.date, *, other: Run | None = None
    ) -> pl.DataFrame:
        """The latest cycle metrics that differ between the two moments of ``diff``."""
        return frames.diff_metrics_frame(self._diff(a, b, other))


class Moment:
    """A run as of a moment (``Run.at``). ``label``, ``cycle`` (the moment's cycle) and
    ``last_seq`` (its last event) say which moment it is."""

    def __init__(self, run: Run, view: views.SchemaView) -> None:
        self.run = run
        self._view = view
        self.label = view.moment.label
        self.cycle = view.state.cycle
        self.last_seq = view.last_seq
        self._state: SimState | None = None

    def __repr__(self) -> str:
        return f"<janus_sim.Moment {self.run.run_id!r} as of {self.label} (event {self.last_seq})>"

    @property
    def schemas(self) -> pl.DataFrame:
        """The live schemas, in creation order: ``janus-sim at --json``'s rows
        (``api_frames.SCHEMAS``)."""
        return frames.schemas_frame(self._view.rows)

    @property
    def metrics(self) -> dict[str, float]:
        """The latest night's cycle metrics up to the moment (empty before the first)."""
        m = self._view.state.metrics
        return dict(m[max(m)]) if m else {}

    @property
    @_api
    def state(self) -> SimState:
        """The whole simulation state (``core.state.SimState``) up to the moment, folded
        from every event of the run (computed once, on first use: it reads the log up to
        the moment, where ``schemas`` starts from the latest checkpoint)."""
        if self._state is None:
            events = self.run.store.events
            self._state, _ = state_at(events, self.run.run_id, self._view.moment)
        return self._state


@_api
def open(path: str | Path, *, hold: bool = False, lock_timeout: float = 30.0) -> Store:
    """The event store at ``path`` (a directory holding janus.duckdb, or a .duckdb file),
    read-only. With ``hold`` one session is kept until ``close`` (one consistent view,
    but no other process can write the store meanwhile); without it, each call reads
    what is committed then, and a ``janus-sim run`` may write in between. A busy store
    is waited for up to ``lock_timeout`` seconds."""
    from janus_sim.store_reader import open_reader

    return Store(open_reader(path, hold=hold, lock_timeout=lock_timeout), str(path))


@_api
def simulate(
    path: str | Path, seed: int | None = None, days: int | None = None, *, run_id: str | None = None
) -> Run:
    """Run the scenario file at ``path`` in memory (nothing is written) and return the run:
    ``seed`` overrides the file's, ``days`` keeps its first N trading days (as ``doctor
    --days``), ``run_id`` names it (default ``<scenario>-s<seed>``). Without ``days`` the
    events, and so the digest, are those of ``janus-sim run PATH --seed SEED``."""
    from janus_sim.portable_check import RunOptions, adjusted_input
    from janus_sim.wiring import run_in_memory

    options = RunOptions(
        seed=None if seed is None else _whole("--seed", seed, 0),
        days=None if days is None else _whole("--days", days, 1),
    )
    inputs, _ = adjusted_input(path, options)
    store, result = run_in_memory(inputs, run_id)
    return Store(store, "memory").run(result.run_id)


def _tolerances(rtol: float, atol: float, tol: Sequence[str]) -> Tolerances:
    return Tolerances(rtol=rtol, atol=atol, per_metric=tuple(parse_tol(t) for t in tol))


@_api
def compare_report(
    run_a: Run, run_b: Run, *, rtol: float = 1e-9, atol: float = 1e-12, tol: Sequence[str] = ()
) -> CompareReport:
    """The full comparison ``janus-sim compare`` reports (``app.compare.CompareReport``):
    cycles, schema pairings, digests, the first divergent event. ``tol`` as ``--tol``:
    ``NAME=TOL`` or ``NAME=RTOL,ATOL``."""
    sources = [
        RunSource(r.store.events, r.run_id, label=r.run_id, where=r.store.where)
        for r in (run_a, run_b)
    ]
    return compare_runs(sources[0], sources[1], _tolerances(rtol, atol, tol))


def compare(
    run_a: Run, run_b: Run, *, rtol: float = 1e-9, atol: float = 1e-12, tol: Sequence[str] = ()
) -> pl.DataFrame:
    """Every metric of every cycle of the two runs, with the verdict ``janus-sim compare``
    gives it (``api_frames.COMPARE``); ``compare_report`` has the rest."""
    return frames.compare_frame(compare_report(run_a, run_b, rtol=rtol, atol=atol, tol=tol))
