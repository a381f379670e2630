"""The sweep file: parsing, its settings and trials, and every error it can report."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from janus_sim.config import Scenario
from janus_sim.errors import ConfigError
from janus_sim.sweep.plan import load_sweep, parse_sweep, scenario_of, trial_id
from janus_sim.sweep.spec import SweepSpec, apply_setting, params_json, setting_label
from tests.conftest import TINY


def write_sweep(tmp_path: Path, doc: Mapping[str, object], name: str = "s.yaml") -> Path:
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(TINY, sort_keys=False))
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_grid_expands_scenarios_settings_seeds_in_order(tmp_path: Path) -> None:
    doc = {
        "scenarios": ["tiny.yaml"],
        "seeds": {"start": 3, "count": 2},
        "grid": {"replay.alpha": [0.4, 0.8], "neocortex.min_points": [3, 5, 8]},
    }
    plan = load_sweep(write_sweep(tmp_path, doc))
    assert plan.name == "s"
    assert len(plan.trials) == 2 * 3 * 2
    first = plan.trials[0]
    assert first.setting == (("replay.alpha", 0.4), ("neocortex.min_points", 3))
    assert [t.seed for t in plan.trials[:4]] == [3, 4, 3, 4]
    assert plan.trials[2].setting == (("replay.alpha", 0.4), ("neocortex.min_points", 5))
    assert [t.index for t in plan.trials] == list(range(12))
    assert first.label == "replay.alpha=0.4, neocortex.min_points=3"
    sc = scenario_of(first)
    assert sc.replay.alpha == 0.4 and sc.neocortex.min_points == 3 and sc.seed == 3


def test_trial_without_overrides_is_the_scenario_itself(tmp_path: Path) -> None:
    plan = load_sweep(write_sweep(tmp_path, {"scenarios": ["tiny.yaml"], "seeds": [9]}))
    (t,) = plan.trials
    alone = Scenario.model_validate(TINY).with_seed(9)
    assert t.scenario_hash == alone.scenario_hash()
    assert t.trial_id == "tiny-s9" and t.label == "defaults" and t.params == "{}"


def test_sweep_hash_names_the_trials_not_the_retries(tmp_path: Path) -> None:
    doc: dict[str, object] = {"scenarios": ["tiny.yaml"], "seeds": [1, 2]}
    a = load_sweep(write_sweep(tmp_path, doc))
    b = load_sweep(write_sweep(tmp_path, {**doc, "retries": 5, "description": "x"}))
    c = load_sweep(write_sweep(tmp_path, {**doc, "seeds": [1, 3]}))
    assert a.sweep_hash == b.sweep_hash != c.sweep_hash


def test_sample_is_seeded_bounded_and_rounded(tmp_path: Path) -> None:
    doc = {
        "scenarios": ["tiny.yaml"],
        "sample": {
            "n": 6,
            "seed": 4,
            "fields": {
                "replay.alpha": {"uniform": [0.3, 0.9]},
                "agent.learning_rate": {"loguniform": [1e-4, 1e-2]},
                "replay.n_replays": {"int": [10, 12]},
                "projection.enabled": {"choice": [False]},
            },
        },
    }
    a = load_sweep(write_sweep(tmp_path, doc))
    b = load_sweep(write_sweep(tmp_path, doc))
    assert [t.setting for t in a.trials] == [t.setting for t in b.trials]
    for t in a.trials:
        v = dict(t.setting)
        assert 0.3 <= float(v["replay.alpha"]) <= 0.9
        assert 1e-4 <= float(v["agent.learning_rate"]) <= 1e-2
        assert v["replay.n_replays"] in (10, 11, 12)
        assert v["projection.enabled"] is False
        assert float(f"{float(v['replay.alpha']):.6g}") == v["replay.alpha"]
    assert len({t.trial_id for t in a.trials}) == 6


@pytest.mark.parametrize(
    ("doc", "field", "needle"),
    [
        ({"seeds": [1]}, "scenarios", "required field is missing"),
        ({"scenarios": ["tiny.yaml"], "seeds": [1, 1]}, "", "each seed may appear once"),
        ({"scenarios": ["tiny.yaml"], "seedz": [1]}, "seedz", "unknown key"),
        ({"scenarios": ["tiny.yaml"], "grid": {"replay.alpha": []}}, "grid.replay.alpha", ""),
        ({"scenarios": ["tiny.yaml"], "grid": {"seed": [1, 2]}}, "", "seeds come from"),
        ({"scenarios": ["tiny.yaml"], "grid": {"name": ["a"]}}, "", "names the scenario"),
        (
            {"scenarios": ["tiny.yaml"], "grid": {"replay.alpha": [1]}, "sample": {"n": 1,
             "fields": {"replay.alpha": {"uniform": [0, 1]}}}},
            "",
            "grid or sample, not both",
        ),
        (
            {"scenarios": ["tiny.yaml"], "sample": {"n": 2, "fields": {
                "replay.alpha": {"uniform": [0.2, 0.9], "int": [1, 2]}}}},
            "sample.fields.replay.alpha",
            "exactly one of",
        ),
        (
            {"scenarios": ["tiny.yaml"], "sample": {"n": 2, "fields": {
                "replay.eta": {"loguniform": [0, 1]}}}},
            "sample.fields.replay.eta",
            "positive low bound",
        ),
        ({"scenarios": ["tiny.yaml"], "seeds": {"count": 200000}}, "seeds.count", "less than"),
        ({"scenarios": ["tiny.yaml"], "seeds": {"cnt": 2}}, "seeds.count", "required field"),
        ({"scenarios": ["tiny.yaml"], "seeds": ["a"]}, "seeds[0]", "valid integer"),
        ({"scenarios": ["tiny.yaml"], "retries": 11}, "retries", ""),
    ],
)  # fmt: skip
def test_bad_sweep_files_name_the_field(
    tmp_path: Path, doc: dict[str, object], field: str, needle: str
) -> None:
    path = write_sweep(tmp_path, doc)
    with pytest.raises(ConfigError) as e:
        load_sweep(path)
    msg = str(e.value)
    assert msg.startswith(str(path)) and needle in msg
    if field:
        assert f": {field}: " in msg


@pytest.mark.parametrize(
    ("grid", "needle"),
    [
        ({"replay.alpah": [0.5]}, "replay.alpah: not a scenario field (fields under replay:"),
        ({"replay.alpha.x": [0.5]}, "replay.alpha is a value, not a mapping"),
        ({"replay.alpha": [-1.0]}, "replay.alpha"),
        ({"replay.alpha": ["high"]}, "with replay.alpha='high'"),
    ],
)
def test_settings_that_break_the_scenario_are_refused_up_front(
    tmp_path: Path, grid: dict[str, list[object]], needle: str
) -> None:
    path = write_sweep(tmp_path, {"scenarios": ["tiny.yaml"], "grid": grid})
    with pytest.raises(ConfigError) as e:
        load_sweep(path)
    assert needle in str(e.value) and "setting 1 of 1" in str(e.value)


def test_missing_files_and_malformed_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_sweep(tmp_path / "nope.yaml")
    path = write_sweep(tmp_path, {"scenarios": ["other.yaml"]})
    with pytest.raises(ConfigError, match=r"scenarios\[0\]: no scenario file 'other.yaml'"):
        load_sweep(path)
    with pytest.raises(ConfigError, match="malformed YAML at line 2, column 1"):
        parse_sweep("scenarios: [a\n", "x.yaml")
    with pytest.raises(ConfigError, match="expected a mapping of sweep fields, got list"):
        parse_sweep("- a\n", "x.yaml")


def test_two_scenarios_with_one_name_are_refused(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    path = write_sweep(tmp_path, {"scenarios": ["tiny.yaml", "b/tiny.yaml"]})
    with pytest.raises(ConfigError, match="both named 'tiny'"):
        load_sweep(path)


# ---- invariants ---------------------------------------------------------------------

values = st.lists(st.integers(-5, 5), min_size=1, max_size=4, unique=True)


@settings(max_examples=60, deadline=None)
@given(grid=st.dictionaries(st.sampled_from(["a", "b.c", "d"]), values, min_size=1))
def test_grid_is_the_full_product_with_unique_settings(grid: dict[str, list[int]]) -> None:
    spec = SweepSpec.model_validate({"scenarios": ["x"], "grid": grid})
    got = spec.settings()
    assert len(got) == math.prod(len(v) for v in grid.values())
    assert len({params_json(s) for s in got}) == len(got)
    for s in got:
        assert [p for p, _ in s] == list(grid)
        assert all(v in grid[p] for p, v in s)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 30),
    seed=st.integers(0, 2**32),
    lo=st.floats(-100, 100),
    width=st.floats(0, 50),
)
def test_samples_repeat_and_stay_in_bounds(n: int, seed: int, lo: float, width: float) -> None:
    doc = {"scenarios": ["x"], "sample": {"n": n, "seed": seed,
           "fields": {"a": {"uniform": [lo, lo + width]}, "b": {"int": [-3, 3]}}}}  # fmt: skip
    once = SweepSpec.model_validate(doc).settings()
    assert once == SweepSpec.model_validate(doc).settings()
    assert len(once) == n
    for s in once:
        a, b = dict(s)["a"], dict(s)["b"]
        assert isinstance(a, float) and isinstance(b, int)
        # rounding to 6 significant digits may step just past a bound
        tol = 1e-5 * max(1.0, abs(lo), abs(lo + width))
        assert lo - tol <= a <= lo + width + tol and -3 <= b <= 3


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["x.a", "y"]), st.integers()), max_size=3))
def test_trial_ids_depend_on_the_setting_only_through_its_json(
    pairs: list[tuple[str, int]],
) -> None:
    setting = tuple(dict(pairs).items())
    assert trial_id("n", 1, setting) == trial_id("n", 1, tuple(reversed(setting)))
    if setting:
        assert trial_id("n", 1, setting) != trial_id("n", 1, ())
    assert setting_label(()) == "defaults"


def test_apply_setting_copies_and_checks_paths() -> None:
    doc = {"a": {"b": 1}, "c": 2}
    out = apply_setting(doc, (("a.b", 5),))
    assert out == {"a": {"b": 5}, "c": 2} and doc["a"] == {"b": 1}
    with pytest.raises(KeyError) as e:
        apply_setting(doc, (("a.z", 1),))
    assert e.value.args[1] == "not a scenario field (fields under a: b)"
