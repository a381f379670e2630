"""Bisection over a line of commits, and what makes a revision's run "bad".

``search(n, test)`` finds the first bad candidate of ``0 .. n-1`` where 0 is known good
and ``n-1`` known bad (the caller has tested both), as ``git bisect`` does: it tests the
untested candidate nearest the middle of the open interval, keeps ``lo`` good and ``hi``
bad, and ends when nothing between them is left to test. A candidate whose run cannot
be made is skipped (``git bisect skip``): the search goes on around it, and when skipped
candidates are all that lie between the last good and the first bad, the first bad
commit is one of them or ``hi`` (``SearchResult.candidates``). It assumes, as bisection
must, that once the run changed it stays changed.

``Criterion.judge`` says whether a run is bad:

* against the good revision's digest (a scenario): a different digest;
* against a baseline (``app.baseline``): what ``baseline check`` fails on - a different
  digest or event count, or a cycle metric beyond tolerance;
* against a baseline with ``metrics_only``: only a cycle metric beyond tolerance (a
  changed digest whose metrics agree is good).

Data only: the runs and their stores come from the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from janus_sim.app.baseline import Baseline
from janus_sim.app.compare import DEFAULT_TOLERANCES, Tolerances, compare_cycles, read_cycles
from janus_sim.errors import JanusError
from janus_sim.ports import EventStore

Verdict = Literal["good", "bad", "skip"]


@dataclass(frozen=True)
class Probe:
    """What testing one revision found: its verdict, its run's digest (empty when it
    could not run) and why (what differs, or the error that made it a skip)."""

    verdict: Verdict
    digest: str = ""
    reason: str = ""


@dataclass(frozen=True)
class SearchResult:
    last_good: int
    first_bad: int
    skipped: tuple[int, ...]
    """Skipped candidates between ``last_good`` and ``first_bad``: any of them may be the
    first bad one."""

    @property
    def candidates(self) -> tuple[int, ...]:
        """The candidates that may be the first bad one (just ``first_bad`` when exact)."""
        return (*self.skipped, self.first_bad)


def steps_left(untested: int) -> int:
    """Roughly how many more tests a bisection of ``untested`` candidates needs after
    the next one (the most, ignoring skips)."""
    return max(untested.bit_length() - 1, 0)


def search(
    n: int,
    test: Callable[[int], Probe],
    on_test: Callable[[int, int, int], None] | None = None,
) -> SearchResult:
    """The first bad candidate (see the module doc); ``on_test(i, left, steps)`` is called
    before candidate ``i`` is tested, with the untested candidates left after it."""
    if n < 2:
        raise ValueError(f"a bisection needs a good and a bad candidate, got {n}")
    lo, hi, skipped = 0, n - 1, set[int]()
    while True:
        inside = [i for i in range(lo + 1, hi) if i not in skipped]
        if not inside:
            break
        mid = (lo + hi) // 2
        pick = min(inside, key=lambda i: (abs(i - mid), i))
        if on_test is not None:
            on_test(pick, len(inside) - 1, steps_left(len(inside)))
        verdict = test(pick).verdict
        if verdict == "good":
            lo = pick
        elif verdict == "bad":
            hi = pick
        else:
            skipped.add(pick)
    return SearchResult(lo, hi, tuple(sorted(i for i in skipped if lo < i < hi)))


@dataclass(frozen=True)
class Criterion:
    """What makes a run bad (module doc): differing from ``digest`` (the good revision's),
    or, with a ``baseline``, failing it (``metrics_only``: on metrics alone)."""

    digest: str = ""
    baseline: Baseline | None = None
    metrics_only: bool = False
    tolerances: Tolerances = DEFAULT_TOLERANCES

    @property
    def name(self) -> str:
        if self.baseline is None:
            return "digest"
        return "baseline metrics" if self.metrics_only else "baseline"

    def judge(self, store: EventStore, run_id: str) -> Probe:
        """The verdict on run ``run_id`` of ``store``."""
        info = store.get_run(run_id)
        digest = info.digest or ""
        n_events = store.last_seq(run_id) + 1
        base = self.baseline
        if base is None:
            if digest == self.digest:
                return Probe("good", digest)
            return Probe("bad", digest, f"digest {digest[:16]}, good {self.digest[:16]}")
        cycles = compare_cycles(base.cycles, read_cycles(store, run_id), self.tolerances)
        problems = []
        flagged = [c.cycle for c in cycles if not c.ok]
        if flagged:
            names = sorted({m.name for c in cycles for m in c.beyond})
            problems.append(
                f"cycles {', '.join(map(str, flagged))} beyond tolerance "
                f"({', '.join(names) or 'a cycle only one side has'})"
            )
        if not self.metrics_only:
            if digest != base.digest:
                problems.append(f"digest {digest[:16]}, baseline {base.digest[:16]}")
            if n_events != base.n_events:
                problems.append(f"{n_events} events, baseline {base.n_events}")
        return Probe("bad" if problems else "good", digest, "; ".join(problems))


class BisectError(JanusError):
    """The ends of a bisection do not allow one: good already bad, bad not bad, or an end
    whose run cannot be made (exit 2)."""
