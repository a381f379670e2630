"""The VectorStore contract (``janus_sim.ports``) over Qdrant's embedded (local) mode.

Local mode allows one client per folder per process, so every test closes its store
(the ``vs`` fixture does) and hypothesis examples use a fresh collection, not a fresh
folder. The remote mode is covered only for its failure path (a URL that does not answer).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from janus_sim.adapters.qdrant_store import (
    LOCAL_DIRNAME,
    QdrantVectorStore,
    open_vector_store,
    point_id,
)
from janus_sim.app.engine import Engine
from janus_sim.app.timetravel import Moment, state_at
from janus_sim.app.vector_sync import (
    collection_name,
    rebuild_collection,
    search_schemas,
    sync_schemas,
)
from janus_sim.config import Neocortex, Scenario
from janus_sim.core.neocortex import Schema, consolidate, create
from janus_sim.core.vector_snapshot import snapshot_text
from janus_sim.errors import StoreError
from janus_sim.memory_store import MemoryEventStore
from janus_sim.ports import VectorStore
from tests.conftest import TINY

EPS = 0.01
ETA = Neocortex().eta


def schema(sid: str, mean: list[float], n: int = 1, t_ns: int = 1_000) -> Schema:
    s = create(sid, np.asarray(mean, dtype=np.float64), 0.5, t_ns, EPS)
    for i in range(n - 1):
        s = consolidate(s, s.mean * 0.5 + 0.1, float(i), t_ns + i + 1, ETA)
    return s


@pytest.fixture
def vs(tmp_path: Path) -> Iterator[QdrantVectorStore]:
    store = QdrantVectorStore.local(tmp_path / "qdrant")
    try:
        yield store
    finally:
        store.close()


def test_is_a_vector_store(vs: QdrantVectorStore) -> None:
    port: VectorStore = vs
    assert port is vs


def test_upsert_search_delete_round_trip(vs: QdrantVectorStore) -> None:
    vs.ensure_collection("c", 3)
    vs.ensure_collection("c", 3)  # idempotent
    a, b, c = schema("a", [1, 0, 0]), schema("b", [0, 1, 0], n=3), schema("c", [1, 1, 0])
    vs.upsert("c", [a, b, c])
    assert vs.ids("c") == ["a", "b", "c"]
    hits = vs.search("c", np.array([1.0, 0.0, 0.0]), 2)
    assert [h[0] for h in hits] == ["a", "c"]
    assert hits[0][1] == pytest.approx(1.0)
    assert hits[1][1] == pytest.approx(1 / np.sqrt(2))

    payload = vs.points("c")["b"]
    assert payload["schema_id"] == "b"
    assert payload["num_points"] == 3
    assert payload["mean"] == b.mean.tolist()
    assert payload["covariance"] == b.cov.ravel().tolist()
    assert payload["created_ns"] == b.created_ns and payload["updated_ns"] == b.updated_ns
    assert payload["created_at"] == "1970-01-01T00:00:00.000001"
    assert payload["vector"] == pytest.approx(b.mean / np.linalg.norm(b.mean))  # cosine index

    b2 = consolidate(b, np.array([0.0, 2.0, 0.0]), 1.0, 5_000, ETA)  # upsert replaces
    vs.upsert("c", [b2])
    assert vs.points("c")["b"]["num_points"] == 4
    assert vs.ids("c") == ["a", "b", "c"]

    vs.delete("c", ["a", "missing"])
    assert vs.ids("c") == ["b", "c"]
    assert [h[0] for h in vs.search("c", np.array([1.0, 0.0, 0.0]), 5)] == ["c", "b"]
    assert vs.search("c", np.array([1.0, 0.0, 0.0]), 0) == []


def test_ties_are_ordered_by_id_also_at_the_cut(vs: QdrantVectorStore) -> None:
    vs.ensure_collection("c", 2)
    same = [schema(sid, [1.0, 1.0]) for sid in ("e", "b", "d", "a", "c")]
    vs.upsert("c", [*same, schema("z", [1.0, 0.0])])
    for k in range(1, 7):
        got = [h[0] for h in vs.search("c", np.array([1.0, 1.0]), k)]
        assert got == ["a", "b", "c", "d", "e", "z"][:k]


def test_errors_are_store_errors_naming_the_folder(vs: QdrantVectorStore, tmp_path: Path) -> None:
    folder = str(tmp_path / "qdrant")
    for call in (
        lambda: vs.search("nope", np.zeros(3), 1),
        lambda: vs.ids("nope"),
        lambda: vs.upsert("nope", [schema("a", [1, 0, 0])]),
    ):
        with pytest.raises(StoreError, match="no collection 'nope'") as info:
            call()
        assert folder in str(info.value) and "\n" not in str(info.value)
    vs.ensure_collection("c", 3)
    with pytest.raises(StoreError, match="dimension 3, not 4"):
        vs.ensure_collection("c", 4)
    with pytest.raises(ValueError, match="dimension"):
        vs.search("c", np.zeros(4), 1)
    with pytest.raises(StoreError, match="already accessed") as second:
        QdrantVectorStore.local(tmp_path / "qdrant")
    assert folder in str(second.value)


def test_recreate_empties_and_resizes(vs: QdrantVectorStore) -> None:
    vs.ensure_collection("c", 3)
    vs.upsert("c", [schema("a", [1, 0, 0])])
    vs.recreate("c", 2)
    assert vs.ids("c") == []
    vs.upsert("c", [schema("b", [1, 0])])
    assert vs.ids("c") == ["b"]


def test_store_persists_across_reopen(tmp_path: Path) -> None:
    with open_vector_store(tmp_path) as first:
        first.ensure_collection("c", 2)
        first.upsert("c", [schema("a", [1, 2])])
    assert (tmp_path / LOCAL_DIRNAME).is_dir()
    with open_vector_store(tmp_path) as again:
        assert again.ids("c") == ["a"]


_pool = st.lists(
    st.lists(st.floats(-1.0, 1.0, allow_nan=False, width=32), min_size=3, max_size=3),
    min_size=1,
    max_size=6,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)
@given(
    data=st.data(), pool=_pool, query=st.lists(st.floats(-1, 1, width=32), min_size=3, max_size=3)
)
def test_search_is_brute_force_cosine_top_k(
    vs: QdrantVectorStore, data: st.DataObject, pool: list[list[float]], query: list[float]
) -> None:
    """Schemas pick their mean from a small pool (so equal vectors, hence exact ties,
    are common); the answer is the numpy cosine ranking with ties broken by id."""
    vectors = np.asarray(pool, dtype=np.float64)
    q = np.asarray(query, dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=1)
    # Distinct pool vectors must score clearly apart, else float32 storage may reorder them.
    assume(np.min(norms) > 1e-3 and np.linalg.norm(q) > 1e-3)
    cos_pool = vectors @ q / (norms * np.linalg.norm(q))
    gaps = np.abs(cos_pool[:, None] - cos_pool[None, :])[np.triu_indices(len(pool), 1)]
    assume(len(gaps) == 0 or np.min(gaps) > 1e-5)
    picks = data.draw(st.lists(st.integers(0, len(pool) - 1), min_size=1, max_size=12))
    k = data.draw(st.integers(1, len(picks) + 2))
    schemas = [schema(f"s{i:02d}", pool[p]) for i, p in enumerate(picks)]

    vs.recreate("h", 3)
    vs.upsert("h", schemas)
    got = vs.search("h", q, k)

    expected = sorted(
        ((s.id, float(cos_pool[p])) for s, p in zip(schemas, picks, strict=True)),
        key=lambda h: (-h[1], h[0]),
    )[:k]
    assert [h[0] for h in got] == [h[0] for h in expected]
    assert [h[1] for h in got] == pytest.approx([h[1] for h in expected], abs=1e-5)


@pytest.fixture(scope="module")
def tiny_run() -> MemoryEventStore:
    store = MemoryEventStore()
    Engine(Scenario.model_validate(TINY), store, run_id="tiny.run-1").run()
    return store


def test_rebuild_is_idempotent_and_equals_incremental_sync(
    tiny_run: MemoryEventStore, tmp_path: Path
) -> None:
    run_id = "tiny.run-1"
    final, _ = state_at(tiny_run, run_id, Moment())
    n_cycles = final.cycle
    with QdrantVectorStore.local(tmp_path / "inc") as inc:
        name = collection_name(run_id)
        before: dict[str, Schema] = {}
        totals = [0, 0]
        for cycle in range(n_cycles + 1):
            after = dict(state_at(tiny_run, run_id, Moment(cycle=cycle))[0].schemas)
            up, down = sync_schemas(inc, name, before, after)
            totals[0] += up
            totals[1] += down
            if before or after:
                assert inc.ids(name) == sorted(after)
            before = after
        assert totals[0] > 0 and totals[1] > 0  # the tiny run creates and prunes
        assert sync_schemas(inc, name, before, before) == (0, 0)
        incremental = inc.points(name)

    with QdrantVectorStore.local(tmp_path / "full") as full:
        assert rebuild_collection(tiny_run, full, run_id) == len(final.schemas)
        once = full.points(collection_name(run_id))
        assert rebuild_collection(tiny_run, full, run_id) == len(final.schemas)
        assert full.points(collection_name(run_id)) == once
        assert once == incremental
        assert list(once) == sorted(final.schemas)
        sid = next(iter(final.schemas))
        hits = search_schemas(full, run_id, final.schemas[sid].mean, 1)
        assert hits[0][0] == sid and hits[0][1] == pytest.approx(1.0)


def test_sync_upserts_updates_and_deletes_pruned(vs: QdrantVectorStore) -> None:
    a, b = schema("a", [1, 0]), schema("b", [0, 1])
    assert sync_schemas(vs, "c", {}, {"a": a, "b": b}) == (2, 0)
    a2 = consolidate(a, np.array([0.5, 0.5]), 1.0, 2_000, ETA)
    assert sync_schemas(vs, "c", {"a": a, "b": b}, {"a": a2, "b": b}) == (1, 0)
    assert vs.points("c")["a"]["num_points"] == 2
    assert sync_schemas(vs, "c", {"a": a2, "b": b}, {"b": b}) == (0, 1)
    assert vs.ids("c") == ["b"]


def test_collection_names_are_safe_and_distinct() -> None:
    assert collection_name("run-1_a") == "janus_run-1_a"
    names = {collection_name(r) for r in ("a/b", "a b", "a_b", "a:b", "x" * 300)}
    assert len(names) == 5
    assert all(len(n) <= 130 and all(c.isalnum() or c in "_-" for c in n) for n in names)


def test_local_snapshot_exports_every_point(vs: QdrantVectorStore, tmp_path: Path) -> None:
    vs.ensure_collection("c", 2)
    schemas = [schema(sid, [i + 1.0, 1.0]) for i, sid in enumerate(("b", "a", "c"))]
    vs.upsert("c", schemas)
    path = vs.snapshot("c", tmp_path / "snaps")
    assert path.is_file() and path.parent == tmp_path / "snaps"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["schema_id"] for r in rows] == ["a", "b", "c"]
    assert path.read_text() == snapshot_text(schemas)  # the nightly snapshots' format
    points = vs.points("c")
    for r in rows:
        assert r["id"] == point_id(r["schema_id"])
        # the exact unit vector; the client holds it in float32
        assert r["vector"] == pytest.approx(points[r["schema_id"]]["vector"], rel=1e-6)
        assert r["payload"] == {k: v for k, v in points[r["schema_id"]].items() if k != "vector"}


def test_unanswering_url_fails_fast_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JANUS_QDRANT_API_KEY", "s3cret-key")
    url = "http://127.0.0.1:9"
    start = time.monotonic()
    with pytest.raises(StoreError) as info:
        open_vector_store(Path("unused"), url)
    assert time.monotonic() - start < 10
    message = str(info.value)
    assert message.startswith(f"Qdrant at {url} does not answer (")
    assert "\n" not in message and "s3cret-key" not in message


def test_url_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("JANUS_QDRANT_URL", "http://user:pw@127.0.0.1:9")
    with pytest.raises(StoreError, match=r"^Qdrant at http://127\.0\.0\.1:9 does not answer"):
        open_vector_store(tmp_path)
    assert not (tmp_path / LOCAL_DIRNAME).exists()
