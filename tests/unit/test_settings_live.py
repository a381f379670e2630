"""Every numeric setting is live (issue 16, item 2): perturbing it changes the events it
should act on, or it is listed in ``janus_sim.config.liveness.INERT`` with its reason.

The fields come from walking the scenario models (``liveness.numeric_fields``), so a field
added later fails ``test_every_numeric_field_is_mapped`` until it gets a perturbation and
the events it should change in ``tests/settings_catalog.py`` (or is listed inert). Each
perturbed run is compared with one shared base run, record by record, field by field:
a live field must change its ``EXPECTED`` entries; an inert one nothing but the places
``INERT`` says it is recorded in. Phase 1's priority settings are checked at alpha = 0
(``ISOLATED``), where only the priority events can show them. 77 runs of 3 days x 40
bars with the map on: about 40 s once numba's kernels are compiled.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from janus_sim.adapters.scenario_file import load_scenario
from janus_sim.config import Scenario
from janus_sim.config.liveness import INERT, numeric_fields
from tests.settings_catalog import (
    EXPECTED,
    ISOLATED,
    ISOLATING,
    PERTURB,
    Records,
    changed,
    get,
    missing,
    records,
    scenario_doc,
)


@pytest.fixture(scope="module")
def base_runs() -> dict[str, Records]:
    """The base run and the isolating base run, shared by every perturbation."""
    return {"base": records(scenario_doc()), "isolated": records(scenario_doc(ISOLATING))}


def _diff(name: str, base_runs: Mapping[str, Records]) -> frozenset[str]:
    if name in ISOLATED:
        return changed(base_runs["isolated"], records(scenario_doc(ISOLATING, PERTURB[name])))
    return changed(base_runs["base"], records(scenario_doc(PERTURB[name])))


# --- the catalogue is complete and true to the models -----------------------------------


def test_every_numeric_field_is_mapped() -> None:
    fields = list(numeric_fields())
    unmapped = [f for f in fields if f not in EXPECTED and f not in INERT]
    assert not unmapped, (
        f"numeric settings {unmapped} are neither in EXPECTED (with a perturbation in "
        "PERTURB) nor listed inert in janus_sim/config/liveness.py INERT with a reason"
    )
    both = sorted(set(EXPECTED) & set(INERT))
    assert not both, f"{both} are listed both live (EXPECTED) and inert (INERT)"
    stale = sorted((set(EXPECTED) | set(INERT) | set(PERTURB) | set(ISOLATED)) - set(fields))
    assert not stale, f"{stale} are not numeric fields of the scenario (renamed or removed?)"
    assert sorted(PERTURB) == sorted(fields), sorted(set(fields) ^ set(PERTURB))
    assert all(EXPECTED.values()) and all(i.reason for i in INERT.values())


@pytest.mark.parametrize("name", sorted(PERTURB))
def test_perturbation_is_valid_and_changes_the_value(name: str) -> None:
    base = Scenario.model_validate(scenario_doc()).model_dump(mode="json")
    perturbed = Scenario.model_validate(scenario_doc(PERTURB[name])).model_dump(mode="json")
    pattern = name.split(".")
    for path in PERTURB[name]:
        parts = path.split(".")
        assert len(parts) == len(pattern) and all(
            p == "*" or p == q for p, q in zip(pattern, parts, strict=True)
        ), f"{path} does not name an element of {name}"
        assert get(perturbed, path) != get(base, path), f"{path}: the value is BASE's"


SLEEP_SECTIONS = ("hippocampus", "replay", "neocortex", "projection", "responses")
ROOT = Path(__file__).resolve().parents[2]


def test_baselines_set_every_sleep_setting_off_its_default() -> None:
    """The committed baselines of ``scenarios/baselines/`` would not see code that ignores
    a setting they leave at its default (issue 16): together they move every one."""
    scenarios = [load_scenario(p)[0] for p in sorted((ROOT / "scenarios/baselines").glob("*.yaml"))]
    assert scenarios, "no scenarios/baselines/*.yaml"
    shipped = {p.stem for p in (ROOT / "baselines").glob("*.json")}
    assert {sc.name for sc in scenarios} <= shipped, "a baseline scenario has no baseline"
    at_default = []
    for name in numeric_fields():
        section, _, field = name.partition(".")
        if section not in SLEEP_SECTIONS or name in INERT:
            continue
        default = getattr(Scenario.model_fields[section].default, field)
        # The map's and the responses' settings act only where the map is on.
        moved = [
            sc
            for sc in scenarios
            if getattr(getattr(sc, section), field) != default
            and (sc.projection.enabled or section not in ("projection", "responses"))
        ]
        if not moved:
            at_default.append(name)
    assert not at_default, f"{at_default} are at their defaults in every baseline scenario"


# --- every live setting acts, every inert one does not -------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_live_setting_changes_its_events(name: str, base_runs: dict[str, Records]) -> None:
    diff = _diff(name, base_runs)
    lost = missing(EXPECTED[name], diff)
    assert not lost, (
        f"{name} set to {dict(PERTURB[name])} left {lost} unchanged "
        f"(it changed {sorted(diff)[:12]}): if it acts on nothing now, list it in INERT"
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(INERT))
def test_inert_setting_changes_nothing(name: str, base_runs: dict[str, Records]) -> None:
    acted = sorted(_diff(name, base_runs) - INERT[name].recorded_in)
    assert not acted, (
        f"{name}, listed inert ({INERT[name].reason}), changed {acted[:12]}: it is live "
        "now; move it from INERT to EXPECTED with the events it should change"
    )
