"""The simulated agent and the logic it is held to (spec 1.1, eq. 8-12)."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, field_validator, model_validator

from janus_sim.config.base import FEATURE_PATTERN, NonNegative, Positive, Probability, Strict


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
