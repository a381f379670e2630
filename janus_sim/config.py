"""Scenario configuration: strict, frozen, typed; defaults are the spec's values.

Every model forbids unknown keys (a typo is an error) and is frozen. ``Scenario`` is the
root; ``scenario_hash`` is the SHA-256 of its canonical JSON, so two files that mean the
same scenario hash the same. Loading YAML and turning validation errors into messages
that name the file and field lives in ``adapters/scenario_file.py``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Positive = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]
Probability = Annotated[float, Field(ge=0, le=1)]

FEATURE_PATTERN = re.compile(
    r"^(ret|rv|log_rv|volume_z|volume)_(\d+)$|^(drawdown|position|time_of_day)$"
)


class Strict(BaseModel):
    # No NaN or infinity anywhere: a scenario of them would simulate garbage, not fail.
    model_config = ConfigDict(frozen=True, extra="forbid", strict=False, allow_inf_nan=False)


class Calendar(Strict):
    """Trading days: weekdays from ``start`` to ``end`` inclusive, less ``holidays``.

    A synthetic market needs ``start`` and ``end``. A market of real bars
    (``market.data``) takes its trading days from the dates in its file instead;
    ``start`` and ``end``, when given, clip them. ``bars_per_day``, ``session_open`` and
    ``bar_seconds`` shape the intraday bars that daily data are bridged into.
    """

    start: dt.date | None = None
    end: dt.date | None = None
    holidays: tuple[dt.date, ...] = ()
    session_open: Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")] = "09:30"
    bars_per_day: Annotated[int, Field(ge=2, le=100_000)] = 390
    bar_seconds: Annotated[int, Field(ge=1, le=86_400)] = 60

    @model_validator(mode="after")
    def _has_trading_days(self) -> Self:
        if self.start is None or self.end is None:
            return self  # only a data market may leave them out (checked by Scenario)
        if self.end < self.start:
            raise ValueError(f"end ({self.end}) is before start ({self.start})")
        if not self.trading_days():
            raise ValueError(
                f"no trading days between {self.start} and {self.end}: "
                "expected at least one weekday that is not a holiday"
            )
        return self

    def trading_days(self) -> tuple[dt.date, ...]:
        """The weekdays from start to end less the holidays (a synthetic market's days)."""
        if self.start is None or self.end is None:
            raise ValueError("calendar.start and calendar.end are needed to list trading days")
        days = []
        day = self.start
        holidays = set(self.holidays)
        while day <= self.end:
            if day.weekday() < 5 and day not in holidays:
                days.append(day)
            day += dt.timedelta(days=1)
        return tuple(days)


class Regime(Strict):
    """Per-bar log-return drift and volatility, Poisson jumps, lognormal volume.

    The bounds are far beyond any market (a 10% drift per bar) yet keep prices and
    volumes inside floating-point range over a scenario.
    """

    drift: Annotated[float, Field(ge=-0.1, le=0.1)] = 0.0
    vol: Annotated[float, Field(gt=0, le=0.5)] = 0.0005
    jump_rate: Annotated[float, Field(ge=0, le=1)] = 0.0
    """Expected jumps per bar."""
    jump_mean: Annotated[float, Field(ge=-0.5, le=0.5)] = 0.0
    jump_std: Annotated[float, Field(ge=0, le=0.5)] = 0.0
    volume_mean: Annotated[float, Field(gt=0, le=1e15)] = 1000.0
    volume_sigma: Annotated[float, Field(ge=0, le=5)] = 0.3


class Segment(Strict):
    regime: str
    fraction: Annotated[float, Field(gt=0, le=1)]


class DayPlan(Strict):
    """The true regimes of one trading day, as consecutive fractions of its bars."""

    date: dt.date
    segments: Annotated[tuple[Segment, ...], Field(min_length=1)]

    @field_validator("segments")
    @classmethod
    def _fractions_sum_to_one(cls, v: tuple[Segment, ...]) -> tuple[Segment, ...]:
        total = math.fsum(s.fraction for s in v)
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"segment fractions must sum to 1, got {total:g}")
        return v


ColumnName = Annotated[str, Field(min_length=1)]
DATA_SUFFIXES: dict[str, Literal["csv", "parquet"]] = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}


class BarColumns(Strict):
    """The file's column name for each bar field; each defaults to the field's own name.

    Two fields may read one column (e.g. open, high, low and close all from ``Close``
    for a close-only series: its bridged days are then flat).
    """

    timestamp: ColumnName = "timestamp"
    open: ColumnName = "open"
    high: ColumnName = "high"
    low: ColumnName = "low"
    close: ColumnName = "close"
    volume: ColumnName = "volume"


class MarketData(Strict):
    """Real bars from a CSV or Parquet file, in place of the synthetic regime process.

    ``path`` is relative to the scenario file's directory (or absolute). ``frequency``
    says whether a row is a day (bridged into ``calendar.bars_per_day`` intraday bars,
    see ``core/bridge.py``) or one intraday bar (taken as is; every day must then have
    exactly ``calendar.bars_per_day`` rows). ``sha256`` pins the file's content: when
    given, a file with other content is an error; when left out, the loader fills it in,
    so the scenario hash - and with it the run digest - identifies the data itself.
    """

    path: Annotated[str, Field(min_length=1)]
    format: Literal["csv", "parquet"] | None = None
    """Default: from the file name's suffix (.csv, .parquet or .pq)."""
    frequency: Literal["daily", "minute"] = "daily"
    columns: BarColumns = BarColumns()
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None

    @field_validator("path")
    @classmethod
    def _printable(cls, v: str) -> str:
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in v):
            raise ValueError(
                f"{v!r} holds a control character (NUL, newline...): expected a file path"
            )
        return v

    @model_validator(mode="after")
    def _format_known(self) -> Self:
        if self.format is None and self._suffix() not in DATA_SUFFIXES:
            raise ValueError(
                f"cannot tell the format of {self.path!r} from its suffix: expected a name "
                "ending in .csv, .parquet or .pq, or format: csv|parquet"
            )
        return self

    def _suffix(self) -> str:
        name = self.path.rsplit("/", 1)[-1]
        return "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""

    @property
    def file_format(self) -> Literal["csv", "parquet"]:
        return self.format or DATA_SUFFIXES[self._suffix()]


SYNTHETIC_ONLY = ("start_price", "regimes", "default_regime", "days")


class Market(Strict):
    """Either a synthetic market (``regimes`` and ``default_regime``, optionally ``days``
    and ``start_price``) or real bars from a file (``data`` alone)."""

    start_price: Annotated[float, Field(gt=0, le=1e12)] = 100.0
    regimes: Annotated[dict[str, Regime], Field(min_length=1)] | None = None
    default_regime: str | None = None
    days: tuple[DayPlan, ...] = ()
    data: MarketData | None = None

    @model_validator(mode="after")
    def _regimes_exist(self) -> Self:
        if self.data is not None:
            given = [k for k in SYNTHETIC_ONLY if k in self.model_fields_set]
            if given:
                raise ValueError(
                    f"{', '.join(given)} cannot go with data: a market of real bars has "
                    "no planned regimes or start price (expected data alone)"
                )
            return self
        if self.regimes is None or self.default_regime is None:
            raise ValueError(
                "expected regimes and default_regime (a synthetic market) "
                "or data (real bars from a file)"
            )
        known = set(self.regimes)
        if self.default_regime not in known:
            raise ValueError(
                f"default_regime {self.default_regime!r} is not one of {sorted(known)}"
            )
        for plan in self.days:
            for seg in plan.segments:
                if seg.regime not in known:
                    raise ValueError(
                        f"day {plan.date}: regime {seg.regime!r} is not one of {sorted(known)}"
                    )
        dates = [p.date for p in self.days]
        if len(dates) != len(set(dates)):
            raise ValueError("each date may be planned once in market.days")
        return self


class Agent(Strict):
    """The simulated forward path: a linear Q-function acting epsilon-greedily."""

    features: Annotated[tuple[str, ...], Field(min_length=1)] = (
        "ret_1",
        "ret_5",
        "ret_15",
        "ret_60",
        "rv_30",
        "log_rv_15",
        "volume_15",
        "volume_z_60",
        "drawdown",
        "position",
        "time_of_day",
    )
    epsilon: Probability = 0.1
    gamma: Annotated[float, Field(ge=0, lt=1)] = 0.95
    learning_rate: Positive = 0.05
    """Step size of the replay update (before its NLMS normalization, ``agent.policy_step``)."""
    grad_clip: Positive = 10.0
    logic_loss_weight: NonNegative = 1.0
    policy_temperature: Positive = 1.0
    """Softmax temperature turning Q-values into the action probabilities the logic reads."""
    position_limit: Annotated[int, Field(ge=1)] = 3
    max_position: Annotated[int, Field(ge=1)] = 6
    """Hard cap the simulator enforces; the position-limit constraint is softer."""
    cost_bps: NonNegative = 1.0

    @field_validator("features")
    @classmethod
    def _known_features(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for name in v:
            m = FEATURE_PATTERN.match(name)
            if m is None or (m.group(2) is not None and int(m.group(2)) < 1):
                raise ValueError(
                    f"unknown feature {name!r}: expected ret_N, rv_N, log_rv_N, volume_N, "
                    "volume_z_N (N >= 1), drawdown, position or time_of_day"
                )
        if len(set(v)) != len(v):
            raise ValueError("features must not repeat")
        return v

    @model_validator(mode="after")
    def _caps(self) -> Self:
        if self.max_position < self.position_limit:
            raise ValueError("max_position must be >= position_limit")
        return self


class Predicates(Strict):
    """Thresholds (in percent) and sharpness of the fuzzy predicate vocabulary."""

    crash_return_pct: Positive = 1.0
    """A fall of this many percent over the short window is 50% 'crash'."""
    high_vol_pct: Positive = 0.15
    deep_drawdown_pct: Positive = 3.0
    sharpness: Positive = 4.0


class Constraint(Strict):
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    formula: Annotated[str, Field(min_length=1)]
    weight: Positive = 1.0


class Logic(Strict):
    predicates: Predicates = Predicates()
    constraints: tuple[Constraint, ...] = ()
    p_forall: Annotated[float, Field(ge=1)] = 2.0
    p_exists: Annotated[float, Field(ge=1)] = 2.0
    p_sat_agg: Annotated[float, Field(ge=1)] = 2.0
    episode: Literal["day", "window", "trade"] = "window"
    """What the logic gate judges (eq. 18, "the episode containing tau"): blocks of
    ``episode_bars`` bars, a trade (flat to flat) or the whole day (``core/gates.py``)."""
    episode_bars: Annotated[int, Field(ge=1)] = 30
    p_episode: Annotated[float, Field(ge=1)] = 6.0
    """pMeanError p of the forall over an episode: 6 lets one full violation of one rule in
    30 bars fail the gate even after SatAgg averages it with two kept rules."""

    @field_validator("constraints")
    @classmethod
    def _unique_names(cls, v: tuple[Constraint, ...]) -> tuple[Constraint, ...]:
        names = [c.name for c in v]
        if len(names) != len(set(names)):
            raise ValueError("constraint names must be unique")
        return v


class Hippocampus(Strict):
    capacity: Annotated[int, Field(gt=0, le=10_000_000)] = 10_000
    hidden_dim: Annotated[int, Field(ge=1, le=65_536)] = 128
    sparsity: Annotated[float, Field(ge=0.05, le=0.15)] = 0.1
    """rho of eq. 6: the top-k code keeps k = ceil(rho * hidden_dim) activations."""
    ortho_lambda: NonNegative = 0.01
    ortho_lr: Positive = 0.05
    ortho_steps: Annotated[int, Field(ge=0)] = 50


class Replay(Strict):
    n_replays: Annotated[int, Field(ge=1)] = 1000
    batch_size: Annotated[int, Field(ge=1)] = 64
    alpha: Probability = 0.6
    beta_start: Probability = 0.4
    beta_end: Probability = 1.0
    lambda_logic: NonNegative = 2.0
    lambda_reward: NonNegative = 0.5
    priority_eps: Annotated[float, Field(gt=0, le=1)] = 1e-6
    compression: Annotated[float, Field(ge=1)] = 15.0
    """C of eq. 12; the spec recommends 10 to 20."""
    target_sync: Annotated[int, Field(ge=0)] = 0
    """Steps between syncs of the bootstrap's target network within a night; 0 holds it
    fixed for the whole night (it is synced at the start of every night)."""

    @model_validator(mode="after")
    def _beta_order(self) -> Self:
        if self.beta_end < self.beta_start:
            raise ValueError("beta_end must be >= beta_start (beta is annealed upward)")
        return self


class Neocortex(Strict):
    """Phase 2: gated consolidation into Gaussian schemas (spec 1.3, eq. 13-22, 34)."""

    features: Annotated[tuple[str, ...], Field(min_length=1)] = ("log_rv_15", "volume_15")
    """The state features schemas see (a subset of ``agent.features``, scaled): the
    market's regime, not the agent's position, the time of day or one-bar noise. Realized
    volatility and the level of trading volume over 15 bars separate the synthetic regimes
    best in an offline probe (``shared/notes``); a return window adds drift but mostly
    noise at these horizons."""
    eps: Annotated[float, Field(gt=0, le=100)] = 0.6
    """Ridge of every schema's covariance; a new schema starts at Sigma = eps I. In scaled
    units (one standard deviation of the first day, about a regime's own spread) 0.6 makes
    a fresh schema accept a radius of sqrt(2 eps chi2_0.99(2)) = 3.3: one regime, not one
    neighbourhood of it (0.05, the value before scaling, founded a schema per bar or two)."""
    eta: Annotated[float, Field(gt=0, le=1)] = 0.01
    tau_quantile: Annotated[float, Field(gt=0, lt=1)] = 0.99
    """tau_schema in log-density terms: the log-density of a fresh schema at the
    chi-square ``tau_quantile`` of its own Mahalanobis distance (see neocortex.default_log_tau)."""
    recall_threshold: Probability = 0.3
    logic_threshold: Probability = 0.7
    recall_sharpness: Positive = 4.0
    """W_r of eq. 17 in units of the interquartile range of earlier recall strengths."""
    recall_quantile: Annotated[float, Field(gt=0, lt=1)] = 0.3
    """b_r of eq. 17: the gate is 0.5 at the recall strength that this fraction of the
    earlier experience itself falls below (``core/gates.py``): about 70 % of a familiar
    day passes, well inside the 20-90 % a gate that gates should show."""
    min_points: Annotated[int, Field(ge=1)] = 10
    max_age_days: Annotated[float, Field(gt=0)] = 90.0
    eta_sleep: Annotated[float, Field(ge=0, le=1)] = 0.001
    """Learning rate of the gated policy update (eq. 19); 0 turns the update off."""


class Projection(Strict):
    """Phase 3 (spec 2, eq. 23-32): the aligned 3-D map, its parametric projector, the
    clusters and the awake anomaly monitor. See ``core/map_phase.py``,
    ``core/anomaly_monitor.py`` and ``core/aligned_map.py`` for how the spec's parameters
    map onto the aligned layout."""

    enabled: bool = True
    map_backend: Literal["portable", "umap-learn"] = "portable"
    """The aligned map's implementation: ``portable`` (``core/aligned_layout.py``, the same
    bits on every CPU) or ``umap-learn``'s AlignedUMAP (fastmath kernels compiled for the
    host CPU: its digest holds on one machine only, and the run records that)."""
    sample_size: Annotated[int, Field(ge=0, le=100_000)] = 300
    """Buffered states embedded each night beside the schema centroids (a seeded sample)."""
    n_neighbors: Annotated[int, Field(ge=2, le=200)] = 15
    min_dist: Annotated[float, Field(ge=0, le=10)] = 0.1
    n_epochs: Annotated[int, Field(ge=1, le=5_000)] = 200
    lambda_align: NonNegative = 0.1
    """lambda_align of eq. 23."""
    weight_same_schema: Annotated[float, Field(gt=0, le=1)] = 1.0
    weight_other: Annotated[float, Field(ge=0, le=1)] = 0.1
    """The alignment weights w_ij of eq. 25."""
    cluster_method: Literal["dbscan", "hdbscan"] = "dbscan"
    cluster_eps: Positive = 0.5
    """DBSCAN's eps (the clusters beside eq. 26's schema members), normalized map units."""
    cluster_min_samples: Annotated[int, Field(ge=1, le=1_000)] = 5
    tau_cluster: Positive = 0.5
    """tau_cluster of eq. 26: a point within it of a schema's embedded centroid is one of
    the schema's members on the map (normalized map units)."""
    anomaly_reference: Literal["memory", "map", "schemas", "clusters"] = "memory"
    """What eq. 32 measures a projected state against (``core/anomaly_monitor.py``):
    ``memory``, every buffered transition at the day's open, placed by the same projector;
    ``map``, the night's embedded points on the map; ``schemas``, the schema centroids'
    positions alone; ``clusters``, the DBSCAN cluster centres. BENCHMARKS.md ("Does the
    monitor see what is new?") has the figures of all four."""
    tau_anomaly: Positive = 0.6
    """tau_anomaly of eq. 32, in normalized map units (chosen with the reference: 0.6 for
    ``memory``; see BENCHMARKS.md for the others')."""
    anomaly_persistence: Annotated[int, Field(ge=1, le=1_000)] = 2
    """Consecutive states of a day beyond ``tau_anomaly`` before a flag (the flag is on
    the last of them); 1 flags every such state (eq. 32 state by state)."""
    projector_max_iter: Annotated[int, Field(ge=1, le=100_000)] = 300
    """L-BFGS iterations of the parametric projector's nightly fit (eq. 31)."""
    projector_umap_weight: NonNegative = 0.0
    """Weight of eq. 31's UMAP cross-entropy term (on the map's fuzzy graph) beside the
    regression term; 0 fits the regression term alone (see BENCHMARKS.md)."""

    @model_validator(mode="after")
    def _weights_ordered(self) -> Self:
        if self.weight_other > self.weight_same_schema:
            raise ValueError("weight_other must be <= weight_same_schema (eq. 25)")
        return self


class Responses(Strict):
    """What the agent does when the monitor flags anomalies (spec 2.2.2), beside the
    highest replay priority that every flagged transition gets."""

    risk_span_bars: Annotated[int, Field(ge=0, le=100_000)] = 30
    """After an anomaly, the agent takes no new exposure beyond ``risk_position_limit``
    for this many bars after the latest anomaly (never past the day's close); 0 turns the
    response off."""
    risk_position_limit: Annotated[int, Field(ge=0)] = 1
    """The |position| the agent may build up to while risk is raised (it may always hold
    or reduce)."""
    alert_anomalies: Annotated[int, Field(ge=1, le=100_000)] = 5
    """K: an ``operator_alerted`` event after K anomalies within ``alert_window_bars``."""
    alert_window_bars: Annotated[int, Field(ge=1, le=100_000)] = 30


class Scenario(Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    description: str = ""
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0
    calendar: Calendar
    market: Market
    agent: Agent = Agent()
    logic: Logic = Logic()
    hippocampus: Hippocampus = Hippocampus()
    replay: Replay = Replay()
    neocortex: Neocortex = Neocortex()
    projection: Projection = Projection()
    responses: Responses = Responses()

    @model_validator(mode="after")
    def _memory_features(self) -> Self:
        missing = [f for f in self.neocortex.features if f not in self.agent.features]
        if missing:
            raise ValueError(
                f"neocortex.features {missing} are not in agent.features: schemas see a "
                "part of the agent's state"
            )
        if len(set(self.neocortex.features)) != len(self.neocortex.features):
            raise ValueError("neocortex.features must not repeat")
        return self

    @model_validator(mode="after")
    def _days_in_calendar(self) -> Self:
        cal, data = self.calendar, self.market.data
        if data is not None:
            if cal.holidays:
                raise ValueError(
                    "calendar.holidays cannot go with market.data: the trading days are "
                    "the dates in the file (clip them with calendar.start and end)"
                )
            if data.frequency == "daily" and cal.bars_per_day < 3:
                raise ValueError(
                    f"calendar.bars_per_day is {cal.bars_per_day}: bridging daily bars "
                    "needs at least 3 (the open, the high and the low at distinct times)"
                )
            if cal.start is not None and cal.end is not None and cal.end < cal.start:
                raise ValueError(f"calendar.end ({cal.end}) is before start ({cal.start})")
            return self
        if cal.start is None or cal.end is None:
            missing = " and ".join(k for k in ("start", "end") if getattr(cal, k) is None)
            raise ValueError(f"calendar.{missing}: required for a synthetic market")
        trading = set(cal.trading_days())
        for plan in self.market.days:
            if plan.date not in trading:
                raise ValueError(f"market.days plans {plan.date}, which is not a trading day")
        return self

    def canonical_json(self) -> str:
        doc = self.model_dump(mode="json")
        # A synthetic market leaves ``data`` out, so the hashes (and run digests) of
        # scenarios written before real bars existed do not change.
        if doc["market"]["data"] is None:
            del doc["market"]["data"]
        return json.dumps(doc, sort_keys=True, separators=(",", ":"))

    def scenario_hash(self) -> str:
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()

    def memory_columns(self) -> list[int]:
        """Indices in the agent's state of the features schemas see (neocortex.features)."""
        return [self.agent.features.index(f) for f in self.neocortex.features]

    def with_seed(self, seed: int) -> Scenario:
        return self.model_copy(update={"seed": seed})


def json_schema() -> dict[str, object]:
    """The JSON Schema of the scenario format (what ``janus-sim schema`` prints)."""
    schema: dict[str, object] = Scenario.model_json_schema()
    return schema
