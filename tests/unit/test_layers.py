"""The import contracts in pyproject.toml name every top-level module of janus_sim.

``lint-imports`` (run by .ci/run) checks the contracts; this test keeps them complete: a
new module that no contract mentions would otherwise be free to import anything."""

from __future__ import annotations

import pkgutil
import tomllib
from pathlib import Path
from typing import Any

import janus_sim

ROOT = Path(__file__).resolve().parents[2]
CORE_MAY_IMPORT = {"config", "errors", "timefmt"}
ENTRY_POINTS = {
    "__main__",
    "entry",
}  # `python -m janus_sim` and the console script: the command line itself


def _contracts() -> dict[str, dict[str, Any]]:
    doc = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {c["name"]: c for c in doc["tool"]["importlinter"]["contracts"]}


def _top_level() -> set[str]:
    return {m.name for m in pkgutil.iter_modules(janus_sim.__path__)} - ENTRY_POINTS


def _short(names: list[str]) -> set[str]:
    return {n.removeprefix("janus_sim.") for n in names}


def test_the_core_contract_forbids_every_module_but_config_errors_timefmt() -> None:
    (core,) = [c for c in _contracts().values() if c.get("source_modules") == ["janus_sim.core"]]
    assert core["type"] == "forbidden"
    assert _short(core["forbidden_modules"]) == _top_level() - CORE_MAY_IMPORT - {"core"}


def test_only_the_cli_may_import_click_and_rich() -> None:
    (ui,) = [c for c in _contracts().values() if c.get("forbidden_modules") == ["click", "rich"]]
    assert _short(ui["source_modules"]) == _top_level() - {"cli"}


def test_app_and_adapters_are_independent() -> None:
    (pair,) = [c for c in _contracts().values() if c["type"] == "independence"]
    assert set(pair["modules"]) == {"janus_sim.app", "janus_sim.adapters"}
