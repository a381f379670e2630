"""Scenario configuration: strict, frozen, typed; defaults are the spec's values.

Every model forbids unknown keys (a typo is an error) and is frozen. ``Scenario`` is the
root; ``scenario_hash`` is the SHA-256 of its canonical JSON, so two files that mean the
same scenario hash the same. Loading YAML and turning validation errors into messages
that name the file and field lives in ``adapters/scenario_file.py``.

The models live by subject: ``base`` (the strict base model, value types), ``market``
(calendar, regimes, bar files), ``agent`` (the agent, the logic), ``sleep`` (hippocampus,
replay, neocortex, map, vector store, responses) and ``scenario`` (the root, its hash, the
JSON Schema); every name is importable from ``janus_sim.config``.
"""

from janus_sim.config.agent import Agent, Constraint, Logic, Predicates
from janus_sim.config.base import (
    FEATURE_PATTERN,
    NonNegative,
    Positive,
    Probability,
    Strict,
)
from janus_sim.config.market import (
    SYNTHETIC_ONLY,
    BarColumns,
    Calendar,
    ColumnName,
    DayPlan,
    Market,
    MarketData,
    Regime,
    Segment,
)
from janus_sim.config.scenario import Scenario, json_schema
from janus_sim.config.sleep import (
    Hippocampus,
    Neocortex,
    Projection,
    Replay,
    Responses,
    VectorStore,
)

__all__ = [
    "FEATURE_PATTERN",
    "SYNTHETIC_ONLY",
    "Agent",
    "BarColumns",
    "Calendar",
    "ColumnName",
    "Constraint",
    "DayPlan",
    "Hippocampus",
    "Logic",
    "Market",
    "MarketData",
    "Neocortex",
    "NonNegative",
    "Positive",
    "Predicates",
    "Probability",
    "Projection",
    "Regime",
    "Replay",
    "Responses",
    "Scenario",
    "Segment",
    "Strict",
    "VectorStore",
    "json_schema",
]
