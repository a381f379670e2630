"""Which numeric settings act on a run: the list of every numeric field of the scenario,
walked from the models, and the few that are known to act on nothing (``INERT``).

``numeric_fields`` names each numeric field (``int`` or ``float``, not ``bool``) by its
dotted path from ``Scenario``; an element of a collection (a regime of
``market.regimes``, a constraint of ``logic.constraints``) is ``*``, e.g.
``market.regimes.*.vol``. A field added to any model is listed without further work, so
``tests/unit/test_settings_live.py`` must either see it change the events or find it
here with its reason.

An inert field may still be *recorded* (in a metric or an event field that reports it):
``Inert.recorded_in`` names those places (``kind.field``, or ``cycle_metrics.NAME`` for
one metric). Recorded is not live: nothing the run decides depends on it.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from pydantic import BaseModel

from janus_sim.config.scenario import Scenario


@dataclass(frozen=True)
class Inert:
    """Why a numeric setting changes nothing a run decides, and where it is only recorded."""

    reason: str
    recorded_in: frozenset[str] = frozenset()


INERT: Mapping[str, Inert] = MappingProxyType(
    {
        "replay.compression": Inert(
            "C of eq. 12 only scales the replay time it reports (each batch's replay_dt_s "
            "and the night's replay_seconds metric); no priority, weight or update reads it",
            frozenset({"replay_batch_sampled.replay_dt_s", "cycle_metrics.replay_seconds"}),
        ),
        "agent.max_position": Inert(
            "the simulator's clip at +-max_position never bites: actions that would take the "
            "position past +-position_limit are masked (core/agent.py allowed_actions) and "
            "the validator keeps max_position >= position_limit"
        ),
        "logic.p_exists": Inert(
            "the formula grammar (core/logic_formula.py) has no existential quantifier, so "
            "no constraint aggregates with it"
        ),
    }
)
"""The numeric settings that act on nothing a run decides, with the reason."""


def numeric_fields(model: type[BaseModel] = Scenario, prefix: str = "") -> Iterator[str]:
    """The dotted path of every ``int`` or ``float`` field below ``model``, in declaration
    order (collections' elements as ``*``)."""
    for name, info in model.model_fields.items():
        yield from _numeric(info.annotation, f"{prefix}{name}")


def _numeric(annotation: object, path: str) -> Iterator[str]:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Union or origin is types.UnionType:
        # X | None: the field's values are X's. Two numeric arms name one field once.
        seen: list[str] = []
        for arm in args:
            for found in _numeric(arm, path):
                if found not in seen:
                    seen.append(found)
        yield from seen
    elif origin is typing.Annotated:
        yield from _numeric(args[0], path)
    elif origin is tuple:
        yield from _numeric(args[0], f"{path}.*")
    elif origin is dict:
        yield from _numeric(args[1], f"{path}.*")
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield from numeric_fields(annotation, f"{path}.")
    elif annotation in (int, float):  # bool is a subclass of int, not equal to it
        yield path
