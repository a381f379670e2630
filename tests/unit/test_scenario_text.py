"""Scenario validation: every bad input is one ConfigError naming file, field and expectation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from janus_sim.adapters.scenario_file import load_scenario
from janus_sim.config import Scenario
from janus_sim.errors import ConfigError
from janus_sim.scenario_text import field_path, parse_scenario


def _err(d: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_scenario(yaml.safe_dump(d), "s.yaml")
    return info.value


def test_shipped_scenarios_validate() -> None:
    root = Path(__file__).resolve().parents[2] / "scenarios"
    for path in sorted(root.glob("*.yaml")):
        sc, _ = load_scenario(path)
        assert sc.name == path.stem


def test_crash_week_covers_2025_12_20_and_the_following_monday() -> None:
    root = Path(__file__).resolve().parents[2] / "scenarios"
    sc, _ = load_scenario(root / "crash_week.yaml")
    days = [d.isoformat() for d in sc.calendar.trading_days()]
    assert days[0] == "2025-12-15" and "2025-12-19" in days and "2025-12-22" in days
    regimes = {p.date.isoformat(): [s.regime for s in p.segments] for p in sc.market.days}
    assert "crash" in regimes["2025-12-18"]


def test_defaults_are_the_specs(tiny_scenario: Scenario) -> None:
    sc = Scenario.model_validate(
        {
            "name": "d",
            "calendar": {"start": "2025-12-15", "end": "2025-12-15"},
            "market": {"default_regime": "calm", "regimes": {"calm": {}}},
        }
    )
    r, h = sc.replay, sc.hippocampus
    assert (h.capacity, h.sparsity) == (10_000, 0.1)
    assert (r.alpha, r.beta_start, r.beta_end) == (0.6, 0.4, 1.0)
    assert (r.lambda_logic, r.lambda_reward, r.compression) == (2.0, 0.5, 15.0)
    assert (r.n_replays, r.batch_size) == (1000, 64)


def test_field_path_formats_indices() -> None:
    assert field_path(("market", "days", 2, "segments", 0, "fraction")) == (
        "market.days[2].segments[0].fraction"
    )


def test_malformed_yaml_names_line_and_column() -> None:
    with pytest.raises(ConfigError) as info:
        parse_scenario("name: x\ncalendar: [unclosed\n", "bad.yaml")
    msg = str(info.value)
    assert msg.startswith("bad.yaml: malformed YAML at line ")
    assert "column" in msg


def test_top_level_must_be_a_mapping() -> None:
    with pytest.raises(
        ConfigError, match=r"s.yaml: expected a mapping of scenario fields, got list"
    ):
        parse_scenario("- 1\n- 2\n", "s.yaml")


def test_unknown_key_is_rejected(tiny_dict: dict[str, Any]) -> None:
    tiny_dict["replay"]["alpah"] = 0.5
    e = _err(tiny_dict)
    assert e.path == "replay.alpah"
    assert "unknown key" in str(e) and str(e).startswith("s.yaml: replay.alpah: ")


def test_wrong_type_names_field_and_value(tiny_dict: dict[str, Any]) -> None:
    tiny_dict["replay"]["batch_size"] = "lots"
    e = _err(tiny_dict)
    assert e.path == "replay.batch_size"
    assert "valid integer" in str(e) and "'lots'" in str(e)


@pytest.mark.parametrize(
    ("section", "key", "value", "expected"),
    [
        ("replay", "alpha", 1.5, "less than or equal to 1"),
        ("replay", "alpha", -0.1, "greater than or equal to 0"),
        ("hippocampus", "sparsity", 0.2, "less than or equal to 0.15"),
        ("hippocampus", "sparsity", 0.01, "greater than or equal to 0.05"),
        ("hippocampus", "capacity", 0, "greater than 0"),
        ("hippocampus", "capacity", -5, "greater than 0"),
    ],
)
def test_out_of_range_values(
    tiny_dict: dict[str, Any], section: str, key: str, value: float, expected: str
) -> None:
    tiny_dict[section][key] = value
    e = _err(tiny_dict)
    assert e.path == f"{section}.{key}"
    assert expected in str(e)
    assert repr(value) in str(e)


def test_no_trading_days(tiny_dict: dict[str, Any]) -> None:
    tiny_dict["calendar"] = {"start": "2025-12-20", "end": "2025-12-21"}  # a weekend
    tiny_dict["market"]["days"] = []
    e = _err(tiny_dict)
    assert e.path == "calendar"
    assert "no trading days between 2025-12-20 and 2025-12-21" in str(e)


def test_missing_required_field(tiny_dict: dict[str, Any]) -> None:
    del tiny_dict["market"]
    e = _err(tiny_dict)
    assert e.path == "market" and "required field is missing" in str(e)


def test_segments_must_sum_to_one(tiny_dict: dict[str, Any]) -> None:
    tiny_dict["market"]["days"][0]["segments"][0]["fraction"] = 0.3
    e = _err(tiny_dict)
    assert e.path == "market.days[0].segments"
    assert "sum to 1, got 0.8" in str(e)


def test_unknown_regime_in_plan(tiny_dict: dict[str, Any]) -> None:
    tiny_dict["market"]["days"][0]["segments"][0]["regime"] = "panic"
    e = _err(tiny_dict)
    assert e.path == "market" and "'panic' is not one of ['calm', 'crash']" in str(e)


def test_planned_day_must_be_a_trading_day(tiny_dict: dict[str, Any]) -> None:
    tiny_dict["market"]["days"][0]["date"] = "2025-12-20"
    e = _err(tiny_dict)
    assert "2025-12-20, which is not a trading day" in str(e)


def test_unknown_feature(tiny_dict: dict[str, Any]) -> None:
    tiny_dict["agent"] = {"features": ["ret_5", "momentum"]}
    e = _err(tiny_dict)
    assert e.path == "agent.features" and "unknown feature 'momentum'" in str(e)


def test_bad_formula_names_the_constraint(tiny_dict: dict[str, Any]) -> None:
    tiny_dict["logic"]["constraints"][1]["formula"] = "not exceeds_limt"
    e = _err(tiny_dict)
    assert e.path == "logic.constraints[1].formula"
    assert "exceeds_limt" in str(e)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope.yaml: no such file \(expected a scenario YAML"):
        load_scenario(tmp_path / "nope.yaml")


def test_directory_is_not_a_scenario(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not a file"):
        load_scenario(tmp_path)


def test_scenario_hash_ignores_key_order(tiny_dict: dict[str, Any]) -> None:
    a = parse_scenario(yaml.safe_dump(tiny_dict, sort_keys=True), "a")
    b = parse_scenario(yaml.safe_dump(tiny_dict, sort_keys=False), "b")
    assert a.scenario_hash() == b.scenario_hash()
    assert a.with_seed(8).scenario_hash() != a.scenario_hash()
