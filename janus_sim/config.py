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

FEATURE_PATTERN = re.compile(r"^(ret|rv|volume_z)_(\d+)$|^(drawdown|position|time_of_day)$")


class Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)


class Calendar(Strict):
    """Trading days: weekdays from ``start`` to ``end`` inclusive, less ``holidays``."""

    start: dt.date
    end: dt.date
    holidays: tuple[dt.date, ...] = ()
    session_open: Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")] = "09:30"
    bars_per_day: Annotated[int, Field(ge=2, le=100_000)] = 390
    bar_seconds: Annotated[int, Field(ge=1, le=86_400)] = 60

    @model_validator(mode="after")
    def _has_trading_days(self) -> Self:
        if self.end < self.start:
            raise ValueError(f"end ({self.end}) is before start ({self.start})")
        if not self.trading_days():
            raise ValueError(
                f"no trading days between {self.start} and {self.end}: "
                "expected at least one weekday that is not a holiday"
            )
        return self

    def trading_days(self) -> tuple[dt.date, ...]:
        days = []
        day = self.start
        holidays = set(self.holidays)
        while day <= self.end:
            if day.weekday() < 5 and day not in holidays:
                days.append(day)
            day += dt.timedelta(days=1)
        return tuple(days)


class Regime(Strict):
    """Per-bar log-return drift and volatility, Poisson jumps, lognormal volume."""

    drift: float = 0.0
    vol: Positive = 0.0005
    jump_rate: NonNegative = 0.0
    """Expected jumps per bar."""
    jump_mean: float = 0.0
    jump_std: NonNegative = 0.0
    volume_mean: Positive = 1000.0
    volume_sigma: NonNegative = 0.3


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


class Market(Strict):
    start_price: Positive = 100.0
    regimes: Annotated[dict[str, Regime], Field(min_length=1)]
    default_regime: str
    days: tuple[DayPlan, ...] = ()

    @model_validator(mode="after")
    def _regimes_exist(self) -> Self:
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
        "volume_z_60",
        "drawdown",
        "position",
        "time_of_day",
    )
    epsilon: Probability = 0.1
    gamma: Annotated[float, Field(ge=0, lt=1)] = 0.95
    learning_rate: Positive = 0.01
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
                    f"unknown feature {name!r}: expected ret_N, rv_N, volume_z_N (N >= 1), "
                    "drawdown, position or time_of_day"
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

    @model_validator(mode="after")
    def _beta_order(self) -> Self:
        if self.beta_end < self.beta_start:
            raise ValueError("beta_end must be >= beta_start (beta is annealed upward)")
        return self


class Neocortex(Strict):
    """Phase 2: gated consolidation into Gaussian schemas (spec 1.3, eq. 13-22, 34)."""

    eps: Annotated[float, Field(gt=0, le=100)] = 0.05
    """Ridge of every schema's covariance; a new schema starts at Sigma = eps I."""
    eta: Annotated[float, Field(gt=0, le=1)] = 0.01
    tau_quantile: Annotated[float, Field(gt=0, lt=1)] = 0.99
    """tau_schema in log-density terms: the log-density of a fresh schema at the
    chi-square ``tau_quantile`` of its own Mahalanobis distance (see neocortex.default_log_tau)."""
    recall_threshold: Probability = 0.3
    logic_threshold: Probability = 0.7
    recall_sharpness: Positive = 10.0
    recall_similarity: Annotated[float, Field(ge=-1, le=1)] = 0.5
    """Cosine similarity to the hippocampal prototype at which the recall gate is 0.5."""
    min_points: Annotated[int, Field(ge=1)] = 10
    max_age_days: Annotated[float, Field(gt=0)] = 90.0


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

    @model_validator(mode="after")
    def _days_in_calendar(self) -> Self:
        trading = set(self.calendar.trading_days())
        for plan in self.market.days:
            if plan.date not in trading:
                raise ValueError(f"market.days plans {plan.date}, which is not a trading day")
        return self

    def canonical_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

    def scenario_hash(self) -> str:
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()

    def with_seed(self, seed: int) -> Scenario:
        return self.model_copy(update={"seed": seed})


def json_schema() -> dict[str, object]:
    """The JSON Schema of the scenario format (what ``janus-sim schema`` prints)."""
    schema: dict[str, object] = Scenario.model_json_schema()
    return schema


ActionName = Literal["sell", "hold", "buy"]
ACTIONS: tuple[ActionName, ...] = ("sell", "hold", "buy")
