"""Scenario files: reading a scenario YAML file, with one clear ConfigError for a file
that is missing, not a file, unreadable or not UTF-8. Parsing is ``scenario_text``."""

from __future__ import annotations

from pathlib import Path

from janus_sim.config import Scenario
from janus_sim.errors import ConfigError
from janus_sim.scenario_text import MAX_BYTES, parse_scenario, size_error


def read_yaml_file(path: str | Path, what: str = "scenario") -> str:
    """The UTF-8 text of the YAML file at ``path``, or ConfigError naming it: missing,
    not a file, unreadable, not UTF-8, or over ``scenario_text.MAX_BYTES`` (checked on
    its size before a byte is parsed, and on what is read, should it grow meanwhile)."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(str(path), "", f"no such file (expected a {what} YAML file)")
    if not p.is_file():
        raise ConfigError(str(path), "", f"is not a file (expected a {what} YAML file)")
    try:
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise size_error(str(path), size)
        with p.open("rb") as f:
            data = f.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise size_error(str(path), max(size, len(data)))
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(str(path), "", f"is not UTF-8 text ({e.reason})") from e
    except OSError as e:
        raise ConfigError(str(path), "", f"cannot be read ({e.strerror})") from e


def load_scenario(path: str | Path) -> tuple[Scenario, str]:
    """(scenario, file text) of the YAML file at ``path``."""
    text = read_yaml_file(path)
    return parse_scenario(text, str(path)), text
