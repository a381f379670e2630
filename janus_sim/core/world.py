"""The run's fixed inputs: what a run computes once from its scenario and seed.

``World.build`` derives the bars (generated, or observed ones the caller read), the
feature matrix, the compiled constraints, the columns schemas see and the first day's
warm-up standardization; ``run_day`` (``awake.py``) and the sleep phases read it. Nothing
here changes during a run, and the core reads no file: a market of real bars is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from janus_sim.core.features import feature_matrix, market_context
from janus_sim.core.logic import ConstraintSet
from janus_sim.core.market import Bars, ObservedBars, generate_bars, observed_market
from janus_sim.core.rng import component_rng
from janus_sim.core.scaler import expanding

if TYPE_CHECKING:
    from janus_sim.config import Scenario
    from janus_sim.core.state import SimState


@dataclass(frozen=True, eq=False)
class World:
    """The run's fixed inputs, derived from the scenario and seed alone."""

    scenario: Scenario
    bars: Bars
    features: np.ndarray
    position_col: int | None
    market_ctx: np.ndarray
    constraints: ConstraintSet
    memory_cols: np.ndarray
    """Columns of the state that schemas see (``neocortex.features``)."""
    warmup: np.ndarray
    """The first day's features under the expanding causal standardization the agent
    acts on before the scaler is fitted (``scaler.expanding``)."""

    @classmethod
    def build(cls, scenario: Scenario, data: ObservedBars | None = None) -> World:
        """The world of ``scenario``. A market of real bars (``market.data``) needs its
        bars read by the caller (an adapter) and passed as ``data``; the core reads no file.
        """
        market_rng = component_rng(scenario.seed, "market")
        if scenario.market.data is not None:
            if data is None:
                raise ValueError(
                    "the scenario's market is a data file: read it (adapters.bars_file) "
                    "and pass its bars to World.build"
                )
            bars = observed_market(data, scenario.calendar, market_rng)
        else:
            bars = generate_bars(scenario.market, scenario.calendar, market_rng)
        features, pos_col = feature_matrix(bars, scenario.agent.features)
        constraints = ConstraintSet.compile(
            scenario.logic.constraints, scenario.logic.predicates, scenario.agent.position_limit
        )
        names = scenario.agent.features
        memory = np.array(scenario.memory_columns(), dtype=np.intp)
        first_day = features[bars.day_slice(0)] if len(bars.dates) else features[:0]
        warmup = expanding(first_day, names)
        return cls(
            scenario, bars, features, pos_col, market_context(bars), constraints, memory, warmup
        )

    @property
    def n_days(self) -> int:
        return len(self.bars.dates)

    def state_vector(self, bar: int, position: int) -> np.ndarray:
        s = self.features[bar].copy()
        if self.position_col is not None:
            s[self.position_col] = position / self.scenario.agent.position_limit
        return s

    def acting_view(self, state: SimState, bar: int, raw: np.ndarray) -> np.ndarray:
        """What the agent sees of the raw state at ``bar``: the scaler's view once fitted,
        the causal warm-up standardization before (the first day)."""
        if state.scaler is not None:
            return state.scaler.apply(raw)
        s = self.warmup[bar].copy()
        if self.position_col is not None:
            s[self.position_col] = raw[self.position_col]
        return s

    def date(self, day: int) -> str:
        return self.bars.dates[day].isoformat()
