"""The report's data model: one plain dataclass per report section, no HTML.

``report_data.build_report`` fills it from a run's log; renderers read it. Every field
is a plain Python value (str, int, float, None, lists and tuples of them) so that
``dataclasses.asdict`` of a ``ReportData`` is JSON as it stands. A section whose events
the log lacks has empty series and a ``note`` saying why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from janus_sim.app.membership import Joined
from janus_sim.ports import RunStatus


@dataclass(frozen=True)
class Header:
    run_id: str
    scenario_name: str
    seed: int
    status: RunStatus
    digest: str | None
    n_events: int
    code_version: str
    first_date: str
    last_date: str
    n_days: int
    n_nights: int
    has_projection: bool


@dataclass(frozen=True)
class MapSlice:
    """One night's map; per-point lists in the event's order (schemas first, then the
    shown sample of states). ``schema`` is the point's schema id, or for a state the
    nearest schema centroid on this map ("" when the map has none); ``regime`` the true
    regime of a state or the dominant regime of a schema ("" unknown)."""

    cycle: int
    date: str
    method: str
    n_points: int
    n_clusters: int
    projector_rmse: float
    kind: list[str]
    ids: list[str]
    x: list[float]
    y: list[float]
    z: list[float]
    cluster: list[int]
    regime: list[str]
    schema: list[str]


@dataclass(frozen=True)
class MapSection:
    slices: list[MapSlice]
    note: str | None = None


@dataclass(frozen=True)
class TimelineSection:
    """Per night: schemas created, updated, pruned and live; ``sizes[s][c]`` is schema
    ``schema_ids[s]``'s point count after night ``cycles[c]`` (``None``: not alive)."""

    cycles: list[int]
    dates: list[str]
    created: list[int]
    updated: list[int]
    pruned: list[int]
    live: list[int]
    schema_ids: list[str]
    sizes: list[list[int | None]]
    note: str | None = None


@dataclass(frozen=True)
class PrioritySection:
    """Per night, histograms of the buffer's priorities over shared ``log10`` edges:
    ``before`` as computed at the start of replay, ``after`` with the night's updates."""

    cycles: list[int]
    dates: list[str]
    log10_edges: list[float]
    before: list[list[int]]
    after: list[list[int]]
    median_before: list[float]
    median_after: list[float]
    note: str | None = None


@dataclass(frozen=True)
class ConstraintSection:
    """``truth[k][d]``: constraint ``names[k]``'s truth on day ``dates[d]``."""

    names: list[str]
    dates: list[str]
    truth: list[list[float]]
    sat_agg: list[float]
    note: str | None = None


@dataclass(frozen=True)
class Anomaly:
    bar: int
    price: float
    time: str
    transition_id: int
    distance: float
    threshold: float


@dataclass(frozen=True)
class Lead:
    """The crash lead of ``app.anomaly_lead.crash_lead`` in bar positions of the price
    path: the trough (the run's lowest price), the first anomaly flagged at or before it
    (``None``: none was), ``lead_bars`` between them, the anomalies flagged up to the
    trough and the drawdown from the peak before it."""

    trough: int
    trough_price: float
    drawdown: float
    first_anomaly: int | None
    lead_bars: int | None
    before_trough: int


@dataclass(frozen=True)
class PriceSection:
    """The price path by bar number (bars of all days back to back; ``bar`` are the
    positions kept after thinning), true-regime ``segments`` as (first, last, regime)
    bars, day starts, anomalies and the anomaly lead (``None`` without a crash)."""

    n_bars: int
    bar: list[int]
    price: list[float]
    time: list[str]
    day_starts: list[int]
    day_dates: list[str]
    segments: list[tuple[int, int, str]]
    anomalies: list[Anomaly]
    lead: Lead | None
    note: str | None = None


@dataclass(frozen=True)
class SchemaSection:
    """``rows[c]``: ``timetravel.schema_rows`` of the state after night ``cycles[c]``;
    ``joined[c]``: schema id -> what joined it that night (``app.membership``, with the
    joiners' true regimes), for the schemas created or updated that night."""

    cycles: list[int]
    dates: list[str]
    rows: list[list[dict[str, object]]]
    joined: list[dict[str, Joined]]
    note: str | None = None


@dataclass(frozen=True)
class MetricsSection:
    """``values[m][c]``: metric ``names[m]`` of night ``cycles[c]`` (``None``: absent)."""

    cycles: list[int]
    dates: list[str]
    names: list[str]
    values: list[list[float | None]]
    lead: Lead | None
    lead_note: str
    note: str | None = None


@dataclass(frozen=True)
class OnsetRow:
    """A novel regime's first appearance on a scored day (``app.novelty.Onset``) with
    its bars' times: ``lead`` awake steps from its first bar to its first flag (``None``:
    never flagged that day)."""

    regime: str
    date: str
    first_transition_id: int
    start: str
    n_bars: int
    lead: int | None
    first_flag_transition_id: int | None
    first_flag: str | None


@dataclass(frozen=True)
class AlertRow:
    """An ``operator_alerted`` event: ``n_anomalies`` flags within ``window_bars``."""

    cycle: int
    time: str
    n_anomalies: int
    window_bars: int
    first_transition_id: int
    last_transition_id: int


@dataclass(frozen=True)
class RiskSpanRow:
    """A risk span (``risk_raised`` to ``risk_restored``); ``end``, ``n_bars`` and
    ``n_anomalies`` are ``None`` for a span still open at the end of the log, and
    ``transition_id`` (the anomaly that raised it) when its ``risk_raised`` is missing."""

    cycle: int
    start: str
    end: str | None
    n_bars: int | None
    n_anomalies: int | None
    transition_id: int | None
    position_limit: int | None


@dataclass(frozen=True)
class NoveltySection:
    """How well the monitor flagged what was new (``app.novelty``), and what the agent
    did about its anomalies (``app.anomaly_responses``). The score's counts are 0 and
    its rates ``None`` when ``scored`` is False (``novelty_note`` says why)."""

    scored: bool
    scored_bars: int
    novel: int
    flagged_novel: int
    familiar: int
    flagged_familiar: int
    precision: float | None
    recall: float | None
    familiar_fpr: float | None
    onsets: list[OnsetRow]
    alerts: list[AlertRow]
    spans: list[RiskSpanRow]
    bars_under_risk: int
    novelty_note: str | None = None
    alerts_note: str | None = None
    spans_note: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class ReportData:
    header: Header
    map: MapSection
    timeline: TimelineSection
    priorities: PrioritySection
    constraints: ConstraintSection
    price: PriceSection
    schemas: SchemaSection
    metrics: MetricsSection
    anomalies: NoveltySection
    regimes: list[str] = field(default_factory=list)
    """Every true regime name of the run, in order of first appearance."""
