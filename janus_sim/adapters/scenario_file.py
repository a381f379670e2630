"""Scenario files: reading a scenario YAML file, with one clear ConfigError for a file
that is missing, not a file, unreadable or not UTF-8. Parsing is ``scenario_text``."""

from __future__ import annotations

from pathlib import Path

from janus_sim.config import Scenario
from janus_sim.errors import ConfigError
from janus_sim.scenario_text import parse_scenario


def load_scenario(path: str | Path) -> tuple[Scenario, str]:
    """(scenario, file text) of the YAML file at ``path``."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(str(path), "", "no such file (expected a scenario YAML file)")
    if not p.is_file():
        raise ConfigError(str(path), "", "is not a file (expected a scenario YAML file)")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(str(path), "", f"is not UTF-8 text ({e.reason})") from e
    except OSError as e:
        raise ConfigError(str(path), "", f"cannot be read ({e.strerror})") from e
    return parse_scenario(text, str(path)), text
