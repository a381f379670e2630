"""Phase 4's content from state (``core/vector_snapshot``): the snapshot's canonical bytes,
its checksum, names and retention, and the fold's check of ``vector_store_synced``."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from janus_sim.core import events as ev
from janus_sim.core import vector_snapshot as vsn
from janus_sim.core.neocortex import Schema, consolidate, create
from janus_sim.core.state import SimState, apply

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


def schema(sid: str, mean: list[float], n: int = 1) -> Schema:
    s = create(sid, np.asarray(mean, dtype=np.float64), 0.25, 1_000, 0.1)
    for i in range(n - 1):
        s = consolidate(s, s.mean * 0.5 + 0.1, float(i), 1_001 + i, 0.01)
    return s


@st.composite
def schemas(draw: st.DrawFn) -> list[Schema]:
    d = draw(st.integers(1, 4))
    ids = draw(st.lists(st.text("abcxyz_0123", min_size=1, max_size=6), unique=True, max_size=6))
    return [
        schema(sid, draw(st.lists(finite, min_size=d, max_size=d)), draw(st.integers(1, 4)))
        for sid in ids
    ]


SLOW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
"""Each example builds schemas (Cholesky factors): few examples, no deadline."""


@SLOW
@given(schemas(), st.randoms())
def test_snapshot_bytes_do_not_depend_on_the_order_of_the_schemas(
    found: list[Schema], rnd: object
) -> None:
    shuffled = list(found)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert vsn.snapshot_text(shuffled) == vsn.snapshot_text(found)
    assert vsn.snapshot_checksum(shuffled) == vsn.snapshot_checksum(found)


@SLOW
@given(schemas())
def test_a_snapshot_line_gives_back_its_schema(found: list[Schema]) -> None:
    lines = vsn.snapshot_text(found).splitlines()
    assert len(lines) == len(found)
    back = {s.id: s for s in (vsn.schema_of(json.loads(x)["payload"]) for x in lines)}
    assert sorted(back) == sorted(s.id for s in found)
    for s in found:
        assert vsn.same_schema(back[s.id], s)
    assert [json.loads(x)["schema_id"] for x in lines] == sorted(s.id for s in found)


@SLOW
@given(schemas())
def test_the_checksum_is_the_sha256_of_the_file_bytes(found: list[Schema]) -> None:
    data = vsn.snapshot_text(found).encode("utf-8")
    assert vsn.snapshot_checksum(found) == vsn.checksum(data)
    assert vsn.checksum(data).startswith("sha256:") and len(vsn.checksum(data)) == 71


def test_any_changed_field_changes_the_checksum() -> None:
    a, b = schema("a", [1.0, 2.0], 3), schema("b", [0.0, -1.0])
    base = vsn.snapshot_checksum([a, b])
    moved = dataclasses.replace(a, n_points=a.n_points + 1)
    assert vsn.snapshot_checksum([moved, b]) != base
    assert vsn.snapshot_checksum([a]) != base
    assert vsn.snapshot_checksum([]) == vsn.checksum(b"")


@given(st.lists(finite, min_size=1, max_size=8))
def test_unit_vectors_have_unit_length(values: list[float]) -> None:
    u = vsn.unit(np.array(values))
    norm = float(np.sqrt(np.sum(np.square(u))))
    assert norm == pytest.approx(1.0, abs=1e-12) or all(v == 0.0 for v in values)


@given(st.integers(1, 10**6))
def test_snapshot_names_round_trip(cycle: int) -> None:
    assert vsn.cycle_of(vsn.snapshot_name(cycle)) == cycle


@pytest.mark.parametrize("name", ["cycle-1", "cycle-abcd", "night-0001", "cycle0001", ""])
def test_other_names_are_no_snapshots(name: str) -> None:
    assert vsn.cycle_of(name) is None


def test_snapshot_name_refuses_night_zero() -> None:
    with pytest.raises(ValueError, match="cycle must be >= 1, got 0"):
        vsn.snapshot_name(0)


@given(st.integers(1, 500), st.integers(0, 50))
def test_retention_removes_exactly_the_night_that_falls_out(cycle: int, keep: int) -> None:
    pruned = vsn.pruned_by(cycle, keep)
    if keep == 0 or cycle <= keep:
        assert pruned == ()
    else:
        assert pruned == (vsn.snapshot_name(cycle - keep),)


def test_changes_count_new_changed_and_pruned_points() -> None:
    a, b, c = schema("a", [1.0]), schema("b", [2.0]), schema("c", [3.0])
    a2 = consolidate(a, np.array([0.5]), 1.0, 2_000, 0.01)
    assert vsn.changes({}, {"a": a, "b": b}) == (2, 0)
    assert vsn.changes({"a": a, "b": b}, {"a": a, "b": b}) == (0, 0)
    assert vsn.changes({"a": a, "b": b}, {"a": a2, "c": c}) == (2, 1)


def _synced(state: SimState, **changes: object) -> ev.VectorStoreSynced:
    live = state.schemas.values()
    fields: dict[str, object] = {
        "cycle": 1,
        "t_ns": 5,
        "entity": "vector_store",
        "snapshot": "cycle-0001",
        "checksum": vsn.snapshot_checksum(live),
        "n_points": len(state.schemas),
        "upserted": len(state.schemas),
        "deleted": 0,
    }
    fields.update(changes)
    return ev.VectorStoreSynced(**fields)  # type: ignore[arg-type]


def test_the_fold_checks_the_record_against_the_schemas() -> None:
    state = SimState(started=True, schemas={"a": schema("a", [1.0, 2.0])})
    apply(_synced(state), state)
    assert state.vector_sync is not None and state.vector_sync.n_points == 1
    with pytest.raises(ValueError, match=r"disagrees with the schemas before it \(checksum\)"):
        apply(_synced(state, checksum="sha256:" + "0" * 64), state)
    with pytest.raises(ValueError, match=r"disagrees with the schemas before it \(n_points\)"):
        apply(_synced(state, n_points=2), state)


def test_a_filtered_fold_takes_the_record_as_it_is() -> None:
    state = SimState()
    apply(_synced(state, checksum="sha256:x", n_points=3), state)
    assert state.vector_sync is not None and state.vector_sync.checksum == "sha256:x"
