"""The tools of the settings-liveness test: the walk over the scenario models
(``liveness.numeric_fields``) and the record diff (``settings_catalog.changed``,
``missing``). If they were blind, the liveness test would pass on anything."""

from __future__ import annotations

import copy
from typing import Any, Literal

from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from janus_sim.config.liveness import numeric_fields
from tests.settings_catalog import ECHO, changed, missing


class _Leaf(BaseModel):
    x: float = 0.0
    flag: bool = False
    label: str = ""


class _Root(BaseModel):
    n: int = 1
    maybe: float | None = None
    mode: Literal["a", "b"] = "a"
    leaf: _Leaf = _Leaf()
    leaves: tuple[_Leaf, ...] = ()
    by_name: dict[str, _Leaf] = {}
    names: tuple[str, ...] = ()


def test_the_walk_finds_every_numeric_field_and_nothing_else() -> None:
    assert list(numeric_fields(_Root)) == [
        "n",
        "maybe",
        "leaf.x",
        "leaves.*.x",
        "by_name.*.x",
    ]


def test_the_walk_reaches_the_scenario_models() -> None:
    fields = set(numeric_fields())
    assert {"seed", "market.regimes.*.vol", "logic.constraints.*.weight"} <= fields
    assert {"replay.lambda_logic", "neocortex.recall_threshold", "projection.tau_anomaly"} <= fields
    assert "projection.enabled" not in fields  # a bool is not a number


_values = st.one_of(st.integers(-5, 5), st.floats(allow_nan=False), st.text(max_size=3))
_record = st.dictionaries(st.sampled_from(["a", "b", "t_ns"]), _values, min_size=1)
_records = st.dictionaries(
    st.sampled_from(["day_opened", "schema_created", "run_started"]),
    st.lists(_record, min_size=1, max_size=4),
    min_size=1,
)


@given(_records)
def test_a_run_does_not_differ_from_itself(runs: dict[str, list[dict[str, Any]]]) -> None:
    assert changed(runs, copy.deepcopy(runs)) == frozenset()


@given(_records, _records)
def test_the_diff_is_symmetric(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert changed(a, b) == changed(b, a)


@given(_records, st.data())
def test_one_changed_field_is_named_exactly(
    runs: dict[str, list[dict[str, Any]]], data: st.DataObject
) -> None:
    kind = data.draw(st.sampled_from(sorted(runs)))
    i = data.draw(st.integers(0, len(runs[kind]) - 1))
    field = data.draw(st.sampled_from(sorted(runs[kind][i])))
    other = copy.deepcopy(runs)
    other[kind][i][field] = ("changed", other[kind][i][field])
    assert changed(runs, other) == frozenset({f"{kind}.{field}"}) - ECHO


@given(_records, st.data())
def test_a_lost_record_is_a_count_change(
    runs: dict[str, list[dict[str, Any]]], data: st.DataObject
) -> None:
    kind = data.draw(st.sampled_from(sorted(runs)))
    other = copy.deepcopy(runs)
    other[kind].pop()
    assert f"{kind}.#" in changed(runs, other)


def test_echo_fields_never_count() -> None:
    a = {"run_started": [{"scenario_hash": "x", "seed": 1}]}
    b = {"run_started": [{"scenario_hash": "y", "seed": 1}]}
    assert "run_started.scenario_hash" in ECHO
    assert changed(a, b) == frozenset()


def test_missing_reads_a_bare_kind_as_any_of_its_fields() -> None:
    diff = frozenset({"policy_updated.params", "schema_pruned.#"})
    expected = frozenset({"policy_updated", "schema_pruned", "policy_updated.loss", "day_closed"})
    assert missing(expected, diff) == ["day_closed", "policy_updated.loss"]
