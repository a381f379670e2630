"""Regression comparison of two runs' sleep cycles: metrics, schema states, event logs.

Contract of ``compare_runs(a, b, tol)``:

* **Metrics.** Every metric of every ``cycle_metrics`` event of either run is compared,
  cycle by cycle. Two values agree when ``|a - b| <= atol + rtol * max(|a|, |b|)``
  (symmetric, so ``compare(A, B)`` and ``compare(B, A)`` flag the same cycles); NaN
  agrees only with NaN, an infinity only with itself. Counts (``is_count``) must be
  equal unless ``--tol`` names them. A metric or a cycle that only one run has differs.
* **Schemas.** At each cycle both runs have, the schema states after that night (rebuilt
  with ``timetravel.state_at``) are paired by schema id, then the rest by nearest centroid
  (``schema_match``). A pair agrees when its means and covariances agree elementwise
  under the global rtol/atol and its point counts are equal; an unpaired schema differs.
* **Events.** When the run digests differ (or either is missing), the stored rows are
  compared in sequence order, in chunks, and the first divergent event is reported with
  a field-level expected (A) / actual (B) diff of its payload and the later cycles and
  metrics it reached (``divergence.Divergence``; a length difference counts). A
  difference in the run's metadata alone (``run_started``'s scenario hash and resolved
  configuration) is passed over: across code versions the first *behavioural* event is
  the one that matters.
* **Identity.** Two runs are of the same scenario when the user's scenario files (their
  fields and data) and the seeds are equal (``scenario_identity``); the defaults each
  code version filled in may differ, and ``config_changes`` names each that did.

The report is data only (frozen dataclasses); nothing here prints or opens a store.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from janus_sim import numerics
from janus_sim.app.divergence import (
    Divergence,
    FieldDiff,
    Reach,
    divergence_at,
    first_divergence_in,
    length_divergence,
)
from janus_sim.app.scenario_identity import (
    ConfigChange,
    config_changes,
    file_identity,
    resolved_config,
)
from janus_sim.app.schema_match import SchemaComparison, compare_schemas
from janus_sim.app.timetravel import SCHEMA_KINDS, Moment, state_at

# The agreement rule and its tolerances, re-exported for the callers that compare.
from janus_sim.app.tolerances import COUNT_METRICS as COUNT_METRICS
from janus_sim.app.tolerances import DEFAULT_TOLERANCES as DEFAULT_TOLERANCES
from janus_sim.app.tolerances import Tolerances as Tolerances
from janus_sim.app.tolerances import check_tolerance_names as check_tolerance_names
from janus_sim.app.tolerances import is_count as is_count
from janus_sim.app.tolerances import parse_tol as parse_tol
from janus_sim.app.tolerances import values_agree as values_agree
from janus_sim.core import events as ev
from janus_sim.core.codec import decode
from janus_sim.ports import EventQuery, EventStore


@dataclass(frozen=True)
class MetricDelta:
    name: str
    a: float | None
    b: float | None
    rtol: float
    atol: float
    count: bool
    ok: bool

    @property
    def delta(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a


@dataclass(frozen=True)
class CycleRow:
    """A run's ``cycle_metrics`` event: the night's date and metrics."""

    date: str
    metrics: Mapping[str, float]


@dataclass(frozen=True)
class CycleComparison:
    cycle: int
    date_a: str | None
    date_b: str | None
    metrics: tuple[MetricDelta, ...]
    schemas: SchemaComparison | None
    """None when only one run has the cycle, or when there are no schema states (baselines)."""

    @property
    def metrics_ok(self) -> bool:
        return (
            self.date_a is not None and self.date_b is not None and all(m.ok for m in self.metrics)
        )

    @property
    def schemas_ok(self) -> bool:
        return self.schemas is None or self.schemas.ok

    @property
    def ok(self) -> bool:
        return self.metrics_ok and self.schemas_ok

    @property
    def beyond(self) -> tuple[MetricDelta, ...]:
        return tuple(m for m in self.metrics if not m.ok)


@dataclass(frozen=True)
class RunRef:
    """Which run a side of the comparison is, for the report."""

    label: str
    run_id: str
    digest: str | None
    n_events: int
    code_version: str
    where: str = ""
    scenario_hash: str = ""
    seed: int | None = None
    numerics: dict[str, str] = field(default_factory=dict)
    """The numerics profile it ran under (``janus_sim.numerics.of``); empty if unknown."""
    identity: str = ""
    """``scenario_identity.file_identity`` of its scenario file; empty if unknown."""
    config: str = field(default="", repr=False)
    """The resolved configuration its ``run_started`` records; empty if unknown."""
    scenario_text: str = field(default="", repr=False)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready, without the bulky configuration and scenario text."""
        skip = {"config", "scenario_text"}
        return {k: v for k, v in self.__dict__.items() if k not in skip}


@dataclass(frozen=True)
class CompareReport:
    a: RunRef
    b: RunRef
    tolerances: Tolerances
    cycles: tuple[CycleComparison, ...]
    first_divergence: Divergence | None = None

    @property
    def same_scenario(self) -> bool:
        """False when both sides know their scenario file (or, failing that, its hash) and
        seed, and these differ. Defaults that changed between code versions do not count."""
        a, b = self.a, self.b
        if a.identity and b.identity:
            return (a.identity, a.seed) == (b.identity, b.seed)
        if not (a.scenario_hash and b.scenario_hash):
            return True
        return (a.scenario_hash, a.seed) == (b.scenario_hash, b.seed)

    @property
    def config_changes(self) -> tuple[ConfigChange, ...]:
        """The resolved settings that differ (defaults, for the same scenario file)."""
        if self.a.scenario_hash == self.b.scenario_hash:
            return ()
        return config_changes(self.a.config, self.b.config, self.b.scenario_text)

    @property
    def digests_equal(self) -> bool:
        return self.a.digest is not None and self.a.digest == self.b.digest

    @property
    def numerics_line(self) -> str | None:
        """When the digests differ and so do the runs' numerics profiles: one line saying
        how (the first thing to rule out before reading the metrics)."""
        if self.digests_equal:
            return None
        return numerics.difference_line(self.a.numerics, self.b.numerics)

    @property
    def metric_cycles(self) -> tuple[int, ...]:
        """Cycles whose metrics differ beyond tolerance (or that one run lacks)."""
        return tuple(c.cycle for c in self.cycles if not c.metrics_ok)

    @property
    def schema_cycles(self) -> tuple[int, ...]:
        return tuple(c.cycle for c in self.cycles if not c.schemas_ok)

    @property
    def flagged_cycles(self) -> tuple[int, ...]:
        return tuple(c.cycle for c in self.cycles if not c.ok)

    @property
    def ok(self) -> bool:
        """Everything within tolerance (a digest difference alone is not a failure)."""
        return not self.flagged_cycles


def read_cycles(store: EventStore, run_id: str) -> dict[int, CycleRow]:
    """Cycle -> (date, metrics) from the run's ``cycle_metrics`` events."""
    out: dict[int, CycleRow] = {}
    for stored in store.read(run_id, EventQuery(kinds=["cycle_metrics"])).records():
        event = decode(stored.record)
        assert isinstance(event, ev.CycleMetrics)
        out[event.cycle] = CycleRow(date=event.date, metrics=event.as_dict())
    return out


def _metric_deltas(a: CycleRow | None, b: CycleRow | None, tol: Tolerances) -> list[MetricDelta]:
    ma = a.metrics if a else {}
    mb = b.metrics if b else {}
    out = []
    for name in list(ma) + [n for n in mb if n not in ma]:
        va, vb = ma.get(name), mb.get(name)
        rtol, atol = tol.for_metric(name)
        ok = values_agree(va, vb, rtol, atol)
        out.append(MetricDelta(name, va, vb, rtol, atol, is_count(name), ok))
    return out


def compare_cycles(
    a: Mapping[int, CycleRow],
    b: Mapping[int, CycleRow],
    tol: Tolerances,
    schemas: Callable[[int], SchemaComparison] | None = None,
) -> tuple[CycleComparison, ...]:
    """Side by side, every cycle of either run; ``schemas(cycle)`` for cycles both have.

    ConfigError when a per-metric tolerance names a metric neither run has (a typo would
    otherwise silently change nothing).
    """
    check_tolerance_names(tol, {n for rows in (a, b) for row in rows.values() for n in row.metrics})
    out = []
    for cycle in sorted(set(a) | set(b)):
        ra, rb = a.get(cycle), b.get(cycle)
        both = ra is not None and rb is not None
        out.append(
            CycleComparison(
                cycle=cycle,
                date_a=ra.date if ra else None,
                date_b=rb.date if rb else None,
                metrics=tuple(_metric_deltas(ra, rb, tol)),
                schemas=schemas(cycle) if schemas is not None and both else None,
            )
        )
    return tuple(out)


def first_divergence(
    store_a: EventStore,
    run_a: str,
    store_b: EventStore,
    run_b: str,
    *,
    chunk: int = 50_000,
    progress: Callable[[int, int], None] | None = None,
    skip_metadata: bool = True,
) -> Divergence | None:
    """The first behavioural event at which the two stored logs differ, or None.

    Reads both logs in ``chunk``-sized sequence ranges, so memory stays bounded. A
    difference in ``run_started``'s metadata alone is passed over (and recorded in the
    result's ``metadata``); when nothing else differs, it is itself the divergence.
    """
    na, nb = store_a.last_seq(run_a) + 1, store_b.last_seq(run_b) + 1
    common = min(na, nb)
    metadata: tuple[FieldDiff, ...] = ()
    for lo in range(0, common, chunk):
        query = EventQuery(seq_min=lo, seq_max=min(lo + chunk, common) - 1)
        hit, metadata = first_divergence_in(
            store_a.read(run_a, query),
            store_b.read(run_b, query),
            metadata,
            skip_metadata=skip_metadata,
        )
        if hit is not None:
            return hit
        if progress is not None:
            progress(min(lo + chunk, common), common)
    if na != nb:
        shorter, longer = ("A", (store_b, run_b)) if na < nb else ("B", (store_a, run_a))
        rest = longer[0].read(longer[1], EventQuery(seq_min=common, seq_max=common))
        return length_divergence(common, shorter, rest, metadata)
    if metadata:
        first = store_a.read(run_a, EventQuery(seq_min=0, seq_max=0))
        other = store_b.read(run_b, EventQuery(seq_min=0, seq_max=0))
        return divergence_at(first, 0, other, 0)
    return None


def reach_of(cycles: Sequence[CycleComparison], divergence: Divergence) -> tuple[Reach, ...]:
    """The cycles at or after the divergence's whose comparison fails, with the metrics
    beyond tolerance in each (``schemas`` when the schema states differ)."""
    start = divergence.cycle or 0
    out = []
    for c in cycles:
        if c.cycle < start or c.ok:
            continue
        names = [m.name for m in c.beyond] + ([] if c.schemas_ok else ["schemas"])
        out.append(Reach(c.cycle, tuple(names)))
    return tuple(out)


@dataclass(frozen=True)
class RunSource:
    """A run to compare: the store holding it, its id, and a label for the report."""

    store: EventStore
    run_id: str
    label: str = ""
    where: str = ""


def run_ref(src: RunSource) -> RunRef:
    info = src.store.get_run(src.run_id)  # NotFoundError for an unknown run
    config = resolved_config(src.store, src.run_id)
    return RunRef(
        label=src.label or src.run_id,
        run_id=src.run_id,
        digest=info.digest,
        n_events=src.store.last_seq(src.run_id) + 1,
        code_version=info.code_version,
        where=src.where,
        scenario_hash=info.scenario_hash,
        seed=info.seed,
        numerics=numerics.of(info.versions),
        identity=file_identity(info.scenario_text, config),
        config=config,
        scenario_text=info.scenario_text,
    )


def compare_runs(
    a: RunSource,
    b: RunSource,
    tol: Tolerances = DEFAULT_TOLERANCES,
    *,
    chunk: int = 50_000,
    progress: Callable[[str], None] | None = None,
) -> CompareReport:
    """Compare run ``a`` with run ``b`` (see the module docstring)."""
    say = progress or (lambda _: None)
    ref_a, ref_b = run_ref(a), run_ref(b)
    say("reading cycle metrics")
    rows_a, rows_b = read_cycles(a.store, a.run_id), read_cycles(b.store, b.run_id)

    def schemas(cycle: int) -> SchemaComparison:
        say(f"schema states at cycle {cycle}")
        moment = Moment(cycle=cycle, label=f"cycle {cycle}")
        sa, _ = state_at(a.store, a.run_id, moment, kinds=SCHEMA_KINDS)
        sb, _ = state_at(b.store, b.run_id, moment, kinds=SCHEMA_KINDS)
        return compare_schemas(sa.schemas, sb.schemas, tol.rtol, tol.atol)

    cycles = compare_cycles(rows_a, rows_b, tol, schemas)
    divergence = None
    if not (ref_a.digest is not None and ref_a.digest == ref_b.digest):
        divergence = first_divergence(
            a.store,
            a.run_id,
            b.store,
            b.run_id,
            chunk=chunk,
            progress=lambda done, total: say(f"comparing events {done:,}/{total:,}"),
            skip_metadata=ref_a.scenario_hash != ref_b.scenario_hash,
        )
        if divergence is not None:
            divergence = divergence.with_reach(reach_of(cycles, divergence))
    return CompareReport(ref_a, ref_b, tol, cycles, divergence)


def jsonable(value: float | None) -> float | str | None:
    """JSON has no NaN or infinity: those become the strings "nan", "inf", "-inf"."""
    if value is None or math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
