"""Scenario text: YAML in, a validated ``Scenario`` out, or one clear ConfigError.

Pure: the text comes from the caller (a file read by ``adapters/scenario_file``, or the
copy a run stored in its log). Every problem is reported as
``FILE: FIELD.PATH: what was expected (got ...)``; YAML syntax errors name the line and
column.

Loading is safe: ``yaml.safe_load`` constructs plain data only (a tag such as
``!!python/object/apply`` is a syntax error, never a call), and a document that nests
too deeply or whose aliases expand beyond ``MAX_NODES`` values (a "billion laughs")
is refused before validation walks it.

Limits: a scenario (or sweep) text over ``MAX_BYTES`` (256 KiB; the shipped scenarios
are about 2 KB, and bar data comes from CSV files) is refused before it is parsed: the
pure-Python YAML parser and validation take seconds per MiB (a minute over 5 MB);
``adapters.scenario_file`` checks a file's size before reading it. A
mapping that repeats a key is refused naming the key and both lines (plain YAML keeps the
last one, silently); keys brought in by a ``<<`` merge may be overridden, as YAML means.
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

MAX_BYTES = 256 << 10
"""The largest scenario or sweep text accepted: 256 KiB (262,144 bytes)."""

_MERGE = "tag:yaml.org,2002:merge"
DUPLICATE = "duplicate key"
"""How a duplicate-key error's problem starts (``load_yaml``)."""


class UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a mapping with the same key twice."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE or not isinstance(key_node, yaml.ScalarNode):
                continue
            key = self.construct_object(key_node)
            line = key_node.start_mark.line + 1
            if key in first:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"{DUPLICATE} {key!r} at line {line} (first at line {first[key]}): "
                    "expected each key once",
                    key_node.start_mark,
                )
            first[key] = line
        return super().construct_mapping(node, deep=deep)


def too_long(text: str, source: str) -> ConfigError | None:
    """The error for a text over ``MAX_BYTES``, or None."""
    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size <= MAX_BYTES:
        return None
    return size_error(source, size)


def size_error(source: str, size: int) -> ConfigError:
    return ConfigError(
        source, "", f"is {size:,} bytes: expected at most {MAX_BYTES:,} bytes (256 KiB) of YAML"
    )


def load_yaml(text: str) -> Any:
    """Plain data from YAML ``text``: safe tags only, each mapping key once
    (``yaml.YAMLError`` otherwise)."""
    return yaml.load(text, Loader=UniqueKeyLoader)


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
    if (big := too_long(text, source)) is not None:
        raise big
    try:
        raw = load_yaml(text)
    except yaml.MarkedYAMLError as e:
        if e.problem and e.problem.startswith(DUPLICATE):
            raise ConfigError(source, "", e.problem) from e
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
