"""Scenario text: YAML in, a validated ``Scenario`` out, or one clear ConfigError.

Pure: the text comes from the caller (a file read by ``adapters/scenario_file``, or the
copy a run stored in its log). Every problem is reported as
``FILE: FIELD.PATH: what was expected (got ...)``; YAML syntax errors name the line and
column.

Loading is safe: ``yaml.safe_load`` constructs plain data only (a tag such as
``!!python/object/apply`` is a syntax error, never a call), and a document that nests
too deeply or whose aliases expand beyond ``MAX_NODES`` values (a "billion laughs")
is refused before validation walks it.
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import ValidationError

from janus_sim.config import Scenario
from janus_sim.core.logic import FormulaError, parse_formula
from janus_sim.errors import ConfigError

MAX_NODES = 1_000_000
"""Values a scenario may expand to, aliases counted each time they are used."""


def field_path(loc: tuple[int | str, ...]) -> str:
    """('market', 'days', 2, 'segments') -> 'market.days[2].segments'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def describe_error(err: Any) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if err["type"] == "extra_forbidden":
        return "unknown key (not part of the scenario format; see `janus-sim schema`)"
    if err["type"] == "missing":
        return "required field is missing"
    if err["type"] in {"value_error", "assertion_error"}:
        return msg
    got = err.get("input")
    shown = repr(got)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"{msg} (got {shown})"


def parse_scenario(text: str, source: str) -> Scenario:
    """Validate scenario YAML ``text``; ``source`` names it in error messages."""
    try:
        raw = yaml.safe_load(text)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"
        raise ConfigError(source, "", f"malformed YAML at {where}: {e.problem}") from e
    except yaml.YAMLError as e:
        raise ConfigError(source, "", f"malformed YAML: {e}") from e
    except RecursionError as e:
        raise ConfigError(source, "", "nests too deeply: expected a scenario mapping") from e
    if _too_big(raw):
        raise ConfigError(
            source,
            "",
            f"expands to more than {MAX_NODES:,} values (YAML aliases?): "
            "expected a scenario mapping",
        )
    if not isinstance(raw, dict):
        raise ConfigError(
            source, "", f"expected a mapping of scenario fields, got {type(raw).__name__}"
        )
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as e:
        first = e.errors()[0]
        more = e.error_count() - 1
        problem = describe_error(first) + (
            f" (and {more} more problem{'s' * (more > 1)})" if more else ""
        )
        raise ConfigError(source, field_path(tuple(first["loc"])), problem) from e
    for i, constraint in enumerate(scenario.logic.constraints):
        try:
            parse_formula(constraint.formula)
        except FormulaError as e:
            raise ConfigError(source, f"logic.constraints[{i}].formula", str(e)) from e
    return scenario


def _too_big(doc: object) -> bool:
    """Whether ``doc`` holds more than MAX_NODES values, counting a shared (aliased)
    container at every use - as validation would walk it. Stops as soon as it knows."""
    budget = MAX_NODES
    stack = [doc]
    while stack:
        node = stack.pop()
        budget -= 1
        if budget < 0:
            return True
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False
