"""Shared fixtures: a tiny scenario that runs in well under a second."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from janus_sim.config import Scenario

TINY: dict[str, Any] = {
    "name": "tiny",
    "seed": 7,
    "calendar": {"start": "2025-12-17", "end": "2025-12-19", "bars_per_day": 40},
    "market": {
        "default_regime": "calm",
        "regimes": {
            "calm": {"vol": 0.0008},
            "crash": {
                "drift": -0.002,
                "vol": 0.004,
                "jump_rate": 0.05,
                "jump_mean": -0.01,
                "jump_std": 0.005,
                "volume_mean": 3000,
            },
        },
        "days": [
            {
                "date": "2025-12-18",
                "segments": [
                    {"regime": "calm", "fraction": 0.5},
                    {"regime": "crash", "fraction": 0.5},
                ],
            },
        ],
    },
    "logic": {
        "constraints": [
            {"name": "no_new_exposure_in_crash", "formula": "crash -> not adds_exposure"},
            {"name": "respect_position_limit", "formula": "not exceeds_limit"},
        ]
    },
    "hippocampus": {"capacity": 64, "hidden_dim": 32},
    "replay": {"n_replays": 25, "batch_size": 8},
    # Phase 3 (UMAP, an MLP) costs seconds a process; the tests that need it enable it.
    "projection": {"enabled": False},
}


@pytest.fixture
def tiny_dict() -> dict[str, Any]:
    import copy

    return copy.deepcopy(TINY)


@pytest.fixture
def tiny_scenario() -> Scenario:
    return Scenario.model_validate(TINY)


@pytest.fixture
def tiny_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY, sort_keys=False))
    return path


SMALL_PROJECTION: dict[str, Any] = {
    "enabled": True,
    "sample_size": 40,
    "n_epochs": 60,
    "projector_max_iter": 20,
    "tau_anomaly": 0.5,
}
"""Phase 3 with every part computing (the map on more points than the PCA fallback, the
clusters, the projector and the awake anomaly monitor reading it), for a few seconds."""


def write_tiny(path: Path, **changes: Any) -> Path:
    """TINY with top-level ``changes`` (e.g. ``projection=SMALL_PROJECTION``), as YAML."""
    import copy

    doc = {**copy.deepcopy(TINY), **changes}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


# --- the hostile-case tally (benchmarks/bench_hostile.py) ------------------------------
# With JANUS_HOSTILE_LOG set, every test marked ``hostile(command, kind=...)`` appends one
# JSON line {nodeid, command, kind, outcome} to that file: the reliability figure counts
# cases held (passed) and broken (failed) by command from it.


def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> None:
    import json
    import os

    path = os.environ.get("JANUS_HOSTILE_LOG")
    mark = item.get_closest_marker("hostile")
    if not path or mark is None:
        return
    failed = call.excinfo is not None and not call.excinfo.errisinstance(pytest.skip.Exception)
    skipped = call.excinfo is not None and call.excinfo.errisinstance(pytest.skip.Exception)
    if call.when != "call" and not failed and not skipped:
        return  # setup and teardown that went fine: the call decides
    outcome = "broken" if failed else "skipped" if skipped else "held"
    line = {
        "nodeid": item.nodeid,
        "command": mark.args[0] if mark.args else "?",
        "kind": mark.kwargs.get("kind", "input"),
        "when": call.when,
        "outcome": outcome,
    }
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(line) + "\n")
