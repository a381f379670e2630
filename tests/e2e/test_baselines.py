"""CI: the committed regression baselines hold for this code (`janus-sim baseline check`).

When this fails on purpose (a change meant to alter the sleep cycles), regenerate the
baseline as the README's "Regression baselines" section says and commit it with the change.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def test_committed_baselines_hold() -> None:
    baselines = sorted((ROOT / "baselines").glob("*.json"))
    # The last two set every parameter phases 1-3 read away from its default (issue 16).
    shipped = {"crash_week.json", "calm_week.json", "replay_gates.json", "map_gates.json"}
    assert {p.name for p in baselines} >= shipped
    done = subprocess.run(
        [sys.executable, "-m", "janus_sim", "baseline", "check", "--quiet", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
        timeout=600,
    )
    assert done.returncode in (0, 1) and done.stdout.startswith("{"), done.stderr
    report = json.loads(done.stdout)
    failures = {
        b["path"]: b["problems"] + [f"cycles beyond tolerance: {b['flagged_cycles']}"]
        for b in report["baselines"]
        if not b["ok"]
    }
    assert done.returncode == 0 and not failures, failures
    assert len(report["baselines"]) == len(baselines)
