"""compare: exactly the diverging cycles are flagged; schema matching; event divergence."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from janus_sim.adapters.duckdb_store import open_store
from janus_sim.app.compare import (
    RunSource,
    Tolerances,
    compare_runs,
    first_divergence,
    parse_tol,
    values_agree,
)
from janus_sim.app.diff import diff_states
from janus_sim.app.engine import Engine
from janus_sim.app.schema_match import compare_schemas, match_schemas
from janus_sim.app.timetravel import SCHEMA_KINDS, Moment, state_at
from janus_sim.config import Scenario
from janus_sim.core.neocortex import Schema
from janus_sim.errors import ConfigError
from janus_sim.eventlog import EventBatch
from janus_sim.memory_store import MemoryEventStore
from janus_sim.ports import EventQuery, EventStore, RunInfo
from tests.cli_inprocess import cli as _cli
from tests.conftest import TINY


def _with(param: str, value: float) -> Scenario:
    d: dict[str, Any] = copy.deepcopy(TINY)
    d.setdefault("neocortex", {})[param] = value
    return Scenario.model_validate(d)


def _metrics(store: EventStore, run_id: str) -> dict[int, dict[str, float]]:
    b = store.read(run_id, EventQuery(kinds=["cycle_metrics"]))
    return {int(b.cycle[i]): dict(json.loads(b.payload[i])["metrics"]) for i in range(len(b))}


def _expected(store: EventStore, a: str, b: str) -> tuple[set[int], set[int]]:
    """(cycles whose metrics differ, cycles whose schemas differ), computed without
    compare: exact inequality of the metric events, and a by-id diff of the folded states."""
    ma, mb = _metrics(store, a), _metrics(store, b)
    metric_cycles = {c for c in set(ma) | set(mb) if ma.get(c) != mb.get(c)}
    schema_cycles = set()
    for c in set(ma) & set(mb):
        sa, _ = state_at(store, a, Moment(cycle=c), kinds=SCHEMA_KINDS)
        sb, _ = state_at(store, b, Moment(cycle=c), kinds=SCHEMA_KINDS)
        d = diff_states(sa, sb)
        if d.created or d.pruned or d.updated:
            schema_cycles.add(c)
    return metric_cycles, schema_cycles


@pytest.mark.parametrize(
    ("param", "value"), [("eta", 0.2), ("min_points", 1), ("max_age_days", 1.0)]
)
def test_compare_flags_exactly_the_diverging_cycles(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], param: str, value: float
) -> None:
    store_dir = tmp_path / "store"
    store = open_store(store_dir)
    try:
        Engine(Scenario.model_validate(TINY), store, run_id="base").run()
        Engine(_with(param, value), store, run_id="changed").run()
        metric_cycles, schema_cycles = _expected(store, "base", "changed")
        report = compare_runs(RunSource(store, "base"), RunSource(store, "changed"))
    finally:
        store.close()
    # The change must show somewhere (in a night's metrics or its schemas) for the
    # comparison to have something to find; compare must then flag exactly that.
    assert metric_cycles or schema_cycles, f"changing neocortex.{param} should change some cycle"
    assert set(report.metric_cycles) == metric_cycles
    assert set(report.schema_cycles) == schema_cycles
    assert set(report.flagged_cycles) == metric_cycles | schema_cycles
    assert not report.ok and not report.digests_equal
    assert report.first_divergence is not None

    code, out, _ = _cli(capsys, "compare", "base", "changed", "--store", store_dir, "--json")
    assert code == 1
    assert set(json.loads(out)["flagged_cycles"]) == metric_cycles | schema_cycles

    code, out, err = _cli(capsys, "compare", "base", "base", "--store", store_dir, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["ok"] and doc["flagged_cycles"] == [] and doc["digests_equal"]
    assert doc["first_divergence"] is None


def test_compare_across_two_store_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("v1", "v2"):
        store = open_store(tmp_path / f"{name}.duckdb")
        try:
            Engine(Scenario.model_validate(TINY), store, run_id="r").run()
        finally:
            store.close()
    a, b = f"{tmp_path / 'v1.duckdb'}:r", f"{tmp_path / 'v2.duckdb'}:r"
    code, out, err = _cli(capsys, "compare", a, b, "--markdown")
    assert code == 0, err
    assert out.startswith("### janus-sim compare") and "identical within tolerance" in out
    assert "| cycle | date |" in out and "|---|" in out


def test_tolerances_decide_what_differs() -> None:
    assert values_agree(1.0, 1.0 + 1e-12, 1e-9, 0.0)
    assert not values_agree(1.0, 1.001, 1e-9, 1e-12)
    assert values_agree(float("nan"), float("nan"), 0, 0)
    assert not values_agree(float("nan"), 1.0, 1, 1)
    assert not values_agree(float("inf"), 1e300, 1, 1)
    assert not values_agree(None, 1.0, 1, 1)
    tol = Tolerances(per_metric=(parse_tol("sat_agg=1e-3"), parse_tol("n_schemas=0,1")))
    assert tol.for_metric("sat_agg") == (1e-3, 1e-3)
    assert tol.for_metric("n_schemas") == (0.0, 1.0)
    assert tol.for_metric("schemas_created") == (0.0, 0.0)  # a count: exact
    assert tol.for_metric("day_pnl") == (1e-9, 1e-12)
    for bad in ("sat_agg", "=1", "x=a", "x=1,2,3"):
        with pytest.raises(ConfigError):
            parse_tol(bad)
    with pytest.raises(ConfigError, match="--rtol"):
        Tolerances(rtol=-1.0)


def _schema(sid: str, mean: list[float], n: int = 10, cov: float = 0.1) -> Schema:
    d = len(mean)
    return Schema(
        id=sid,
        mean=np.array(mean),
        cov=np.eye(d) * cov,
        n_points=n,
        avg_reward=0.0,
        created_ns=0,
        updated_ns=0,
        eps=0.05,
    )


def test_match_schemas_by_id_then_by_nearest_centroid() -> None:
    a = {
        "s1": _schema("s1", [0.0, 0.0]),
        "a1": _schema("a1", [0.0, 0.0 + 10]),
        "a2": _schema("a2", [1.0, 0.0 + 10]),
    }
    b = {
        "b1": _schema("b1", [0.9, 10.0]),
        "b2": _schema("b2", [-5.0, 10.0]),
        "s1": _schema("s1", [0.0, 0.5], n=12),
        "far": _schema("far", [100.0, 100.0]),
    }
    # Greedy nearest-first would give a1 -> b1 (0.9) and leave a2 -> b2 (6.0), 6.9 in
    # all; the minimum total is a1 -> b2 (5.0) plus a2 -> b1 (0.1).
    pairs = match_schemas(a, b)
    assert pairs == [
        ("s1", "s1", "id"),
        ("a1", "b2", "centroid"),
        ("a2", "b1", "centroid"),
        (None, "far", "only_b"),
    ]
    cmp = compare_schemas(a, b, 1e-9, 1e-12)
    by = {(p.a_id, p.b_id): p for p in cmp.pairs}
    assert by["s1", "s1"].mean_shift == pytest.approx(0.5)
    assert by["s1", "s1"].point_delta == 2
    assert by["a2", "b1"].mean_shift == pytest.approx(0.1)
    assert by[None, "far"].point_delta == 10 and not by[None, "far"].ok
    assert not cmp.ok and cmp.count("centroid") == 2 and cmp.count("only_b") == 1
    # A schema state against itself: every pair by id, all within tolerance.
    same = compare_schemas(a, a, 0.0, 0.0)
    assert same.ok and same.count("id") == 3 and same.abs_point_delta == 0
    # Different dimensions are never paired by centroid.
    assert match_schemas({"x": _schema("x", [0.0])}, {"y": _schema("y", [0.0, 0.0])}) == [
        ("x", None, "only_a"),
        (None, "y", "only_b"),
    ]


def _copy_run(dst: MemoryEventStore, run_id: str, batch: EventBatch) -> None:
    dst.create_run(RunInfo(run_id, "t", "", "", "", 0, "0"))
    dst.append(batch)
    dst.finish_run(run_id, "finished", None)


def test_first_divergence_names_the_first_differing_event() -> None:
    src = MemoryEventStore()
    Engine(Scenario.model_validate(TINY), src, run_id="r").run()
    full = src.read("r")
    n = len(full)
    k = n // 2
    changed = full.take(np.arange(n))
    changed.payload[k] = changed.payload[k].replace("}", ',"x":1}', 1)
    other = MemoryEventStore()
    _copy_run(other, "r", changed)
    hit = first_divergence(src, "r", other, "r", chunk=37)
    assert hit is not None and hit.seq == k and hit.field == "payload"
    short = MemoryEventStore()
    _copy_run(short, "r", full.take(np.arange(n - 5)))
    hit = first_divergence(src, "r", short, "r", chunk=50)
    assert hit is not None and (hit.seq, hit.field) == (n - 5, "length")
    assert first_divergence(src, "r", src, "r", chunk=50) is None
