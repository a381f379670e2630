"""janus-sim: event-sourced simulation and replay harness for the JANUS sleep cycle.

The notebook API (``janus_sim.api``) is reachable from here: ``janus_sim.open``,
``janus_sim.simulate``, ``janus_sim.compare``... Its names load on first use (module
``__getattr__``), so ``import janus_sim`` stays cheap: no numpy, polars, numba or duckdb
until one is used (the command line imports this package before every command).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_API_NAMES = frozenset(
    {"ApiError", "Moment", "Run", "Store", "compare", "compare_report", "open", "simulate"}
)


def __getattr__(name: str) -> Any:
    if name in _API_NAMES:
        # By name, not ``from janus_sim import api``: what imports this package for
        # ``__version__`` (app, adapters) must not seem to import the API and, through
        # it, the composition root (``lint-imports`` reads import statements).
        api = importlib.import_module("janus_sim.api")
        return getattr(api, name)
    # Anything else, a submodule not imported yet included, is not here: AttributeError
    # lets ``from janus_sim import x`` go on to import the submodule.
    raise AttributeError(f"module 'janus_sim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_API_NAMES})
