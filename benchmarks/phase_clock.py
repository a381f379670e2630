"""Time a run's days and nights phase by phase, from the outside.

``PhaseClock.install()`` replaces, for the life of the process, the functions the engine
and ``sleep_cycle`` call with timing wrappers; ``janus_sim`` itself holds no clock. Each
trading day gets one record (``PhaseClock.days``) of wall seconds by label:

* ``awake`` (``run_day``) and ``day_log`` (encoding and appending the day's events);
* ``sleep_cycle``: the whole call, and inside it one label per phase, found by where the
  functions that ``janus_sim.core.sleep`` calls come from (``PHASE_OF_MODULE``): phase 1
  (``replay_phase``), separation training (``hippocampus``), phase 2 (``consolidation``), phase 3
  (``projection``, picked up as soon as ``sleep.py`` imports it), phase 5
  (``cycle_metrics``). Nested calls count for the outermost phase only (``cycle_metrics``
  calling ``ortho_loss`` is phase 5). What no wrapper caught (emitting the separation
  event, say) is ``other``;
* ``checkpoint``, ``night_log`` (appending the night's events) and ``phase4_vectors``
  (``Engine._sync_vectors``: Qdrant upserts, deletes, snapshot).

Contract: ``install`` is called once, before the engine runs; wrappers never change an
argument or a result, so the run's events and digest are those of an untimed run.
"""

from __future__ import annotations

import cProfile
import functools
import inspect
import resource
import time
import types
from collections.abc import Callable
from typing import Any

PHASE_OF_MODULE = {
    "janus_sim.core.replay_phase": "phase1_replay",
    "janus_sim.core.hippocampus": "separation",
    "janus_sim.core.consolidation": "phase2_consolidation",
    "janus_sim.core.map_phase": "phase3_projection",
}
"""Which phase a function called from ``sleep_cycle`` belongs to, by its module."""

PHASES = (
    "phase1_replay",
    "separation",
    "phase2_consolidation",
    "phase3_projection",
    "phase4_vectors",
    "phase5_metrics",
)


def _own_phase(name: str) -> str:
    """The phase of a function defined in ``sleep.py`` itself, by its name."""
    lowered = name.lower()
    for key, phase in (
        ("metric", "phase5_metrics"),
        ("project", "phase3_projection"),
        ("vector", "phase4_vectors"),
        ("ortho", "separation"),
        ("separat", "separation"),
        ("consolid", "phase2_consolidation"),
        ("replay", "phase1_replay"),
    ):
        if key in lowered:
            return phase
    return f"sleep.{name}"


class PhaseClock:
    """Per-day wall-clock records of a run, filled by wrappers around the engine's calls."""

    def __init__(self) -> None:
        self.days: list[dict[str, float]] = []
        self.wrapped: dict[str, str] = {}
        """Qualified name of every wrapped sleep function -> its phase label."""
        self._current: dict[str, float] = {}
        self._in_sleep = False
        self._after_sleep = False
        self._phase_depth = 0
        self._rss_before = 0.0
        self.rss_mb: list[tuple[float, float]] = []
        """Per night: the process's peak resident memory (MiB) before and after it."""
        self.profiler: cProfile.Profile | None = None
        """When set, profiles each night from ``sleep_cycle`` to the end of phase 4."""

    # -- recording -----------------------------------------------------------------

    def _add(self, label: str, seconds: float) -> None:
        self._current[label] = self._current.get(label, 0.0) + seconds

    def _timed(self, label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn``, with its wall time added to ``label`` of the current day."""

        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self._add(label, time.perf_counter() - start)

        return timed

    def _phase(self, label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn`` timed as ``label`` when called inside ``sleep_cycle``, outermost only."""

        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if not self._in_sleep or self._phase_depth:
                return fn(*args, **kwargs)
            self._phase_depth += 1
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self._add(label, time.perf_counter() - start)
                self._phase_depth -= 1

        return timed

    # -- installing ------------------------------------------------------------------

    def install(self) -> None:
        """Wrap the engine's day, log, sleep, checkpoint and vector-sync calls."""
        from janus_sim.app import engine
        from janus_sim.core import checkpoint, sleep

        self._wrap_sleep_module(sleep)
        _patch(engine, "run_day", lambda fn: self._timed("awake", self._day(fn)))
        _patch(engine, "sleep_cycle", lambda fn: self._timed("sleep_cycle", self._night(fn)))
        _patch(engine.Engine, "_flush", self._log)
        _patch(engine.Engine, "_sync_vectors", self._vectors)
        _patch(checkpoint, "take", lambda fn: self._timed("checkpoint", fn))

    def _day(self, run_day: Callable[..., Any]) -> Callable[..., Any]:
        """``run_day`` opening a new day's record."""

        def day(*args: Any, **kwargs: Any) -> Any:
            self._current = {}
            self.days.append(self._current)
            self._after_sleep = False
            return run_day(*args, **kwargs)

        return day

    def _night(self, sleep_cycle: Callable[..., Any]) -> Callable[..., Any]:
        """``sleep_cycle`` with its phases timed (and profiled, when asked)."""

        def night(*args: Any, **kwargs: Any) -> Any:
            self._in_sleep = True
            self._rss_before = peak_rss_mb()
            if self.profiler is not None:
                self.profiler.enable()
            try:
                return sleep_cycle(*args, **kwargs)
            finally:
                self._in_sleep = False
                self._after_sleep = True

        return night

    def _log(self, flush: Callable[..., Any]) -> Callable[..., Any]:
        """``Engine._flush``, timed as the day's or the night's log writes."""

        def log(*args: Any, **kwargs: Any) -> Any:
            label = "night_log" if self._after_sleep else "day_log"
            start = time.perf_counter()
            try:
                return flush(*args, **kwargs)
            finally:
                self._add(label, time.perf_counter() - start)

        return log

    def _vectors(self, sync: Callable[..., Any]) -> Callable[..., Any]:
        """``Engine._sync_vectors`` (phase 4), which ends the night."""
        timed = self._timed("phase4_vectors", sync)

        def vectors(*args: Any, **kwargs: Any) -> Any:
            try:
                return timed(*args, **kwargs)
            finally:
                if self.profiler is not None:
                    self.profiler.disable()
                self.rss_mb.append((self._rss_before, peak_rss_mb()))

        return vectors

    def _wrap_sleep_module(self, sleep: types.ModuleType) -> None:
        """Wrap what ``sleep_cycle`` calls: functions imported from a phase's module (or
        the phase module itself, when imported whole) and ``sleep.py``'s own helpers."""
        for name, obj in list(vars(sleep).items()):
            if name.startswith("__") or name == "sleep_cycle":
                continue
            if inspect.ismodule(obj) and obj.__name__ in PHASE_OF_MODULE:
                label = PHASE_OF_MODULE[obj.__name__]
                for attr, fn in list(vars(obj).items()):
                    if inspect.isfunction(fn) and fn.__module__ == obj.__name__:
                        setattr(obj, attr, self._phase(label, fn))
                        self.wrapped[f"{obj.__name__}.{attr}"] = label
            elif inspect.isfunction(obj):
                if obj.__module__ == sleep.__name__:
                    label = _own_phase(name)
                elif obj.__module__ in PHASE_OF_MODULE:
                    label = PHASE_OF_MODULE[obj.__module__]
                else:
                    continue
                setattr(sleep, name, self._phase(label, obj))
                self.wrapped[f"{obj.__module__}.{name}"] = label


def _patch(
    owner: object, name: str, wrap: Callable[[Callable[..., Any]], Callable[..., Any]]
) -> None:
    """Replace ``owner.name`` (a module's function or a class's method) by ``wrap(it)``."""
    setattr(owner, name, wrap(getattr(owner, name)))


def peak_rss_mb() -> float:
    """The process's peak resident memory so far, MiB (``ru_maxrss`` is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def summarize(day: dict[str, float]) -> dict[str, float]:
    """One day's record with the derived totals, seconds rounded to 0.1 ms.

    ``five_phases`` = ``sleep_cycle`` + ``phase4_vectors`` (every phase the code has);
    ``other`` = the part of ``sleep_cycle`` no phase wrapper caught; ``night`` = the five
    phases + ``checkpoint`` + ``night_log`` (all a night costs a run).
    """
    out = dict(day)
    inner = sum(v for k, v in day.items() if k in PHASES and k != "phase4_vectors")
    inner += sum(v for k, v in day.items() if k.startswith("sleep."))
    sleep_s = day.get("sleep_cycle", 0.0)
    out["other"] = max(0.0, sleep_s - inner)
    out["five_phases"] = sleep_s + day.get("phase4_vectors", 0.0)
    out["night"] = out["five_phases"] + day.get("checkpoint", 0.0) + day.get("night_log", 0.0)
    return {k: round(v, 4) for k, v in out.items()}
