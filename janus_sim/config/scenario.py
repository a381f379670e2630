"""The scenario: the root model, its hash, and the JSON Schema of the format."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Self

from pydantic import Field, model_validator

from janus_sim.config.agent import Agent, Logic
from janus_sim.config.base import Strict
from janus_sim.config.market import Calendar, Market
from janus_sim.config.names import NAME_PATTERN
from janus_sim.config.sleep import (
    Hippocampus,
    Neocortex,
    Projection,
    Replay,
    Responses,
    VectorStore,
)


class Scenario(Strict):
    name: Annotated[str, Field(pattern=NAME_PATTERN)]
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
    vector_store: VectorStore = VectorStore()

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
