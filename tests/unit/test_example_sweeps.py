"""The example sweeps the README runs are in the repository and plan as it says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from janus_sim.sweep.plan import load_sweep

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_sweep_file_the_readme_names_is_committed() -> None:
    named = set(re.findall(r"scenarios/sweeps/[\w.-]+\.yaml", README))
    assert named, "the README names no example sweep"
    for path in sorted(named):
        assert (ROOT / path).is_file(), f"README names {path}, which is not in the repository"
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert "sweeps/" not in ignored, "a bare `sweeps/` in .gitignore hides scenarios/sweeps/"


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios" / "sweeps").glob("*.yaml")), ids=str)
def test_example_sweeps_plan(path: Path) -> None:
    plan = load_sweep(path)
    assert plan.trials
    if path.stem == "alpha_grid":
        assert len(plan.trials) == 36  # the README says so
    if path.stem == "crash_seeds":
        assert sorted(t.seed for t in plan.trials) == list(range(8))
