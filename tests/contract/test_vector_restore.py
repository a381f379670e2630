"""Nightly snapshots and ``restore`` (issue 19, item 4) over embedded Qdrant and the
snapshot files: one snapshot a night, named by run and cycle, checked against the log,
pruned by retention; a restored night equals ``rebuild`` from the log as of that night.
And the embedded store's batched writes (issue 18, phase 4): one commit per batch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from janus_sim.adapters.qdrant_local_batch import one_transaction
from janus_sim.adapters.qdrant_store import QdrantVectorStore
from janus_sim.adapters.snapshot_files import SnapshotFiles
from janus_sim.app.engine import Engine
from janus_sim.app.timetravel import Moment
from janus_sim.app.vector_restore import restore_collection, synced_nights
from janus_sim.app.vector_sync import collection_name, rebuild_collection
from janus_sim.config import Scenario
from janus_sim.core import vector_snapshot as vsn
from janus_sim.core.neocortex import create
from janus_sim.errors import NotFoundError, StoreError
from janus_sim.eventlog import EventBatch
from janus_sim.memory_store import MemoryEventStore
from janus_sim.ports import EventQuery
from tests.conftest import TINY

RUN = "tiny.snap-1"
ALL = EventQuery()
NAME = collection_name(RUN)


def _run(root: Path, keep: int = 0, with_qdrant: bool = True) -> MemoryEventStore:
    doc = {**TINY, "vector_store": {"snapshots_keep": keep}}
    store = MemoryEventStore()
    shelf = SnapshotFiles(root / "snapshots")
    if not with_qdrant:
        Engine(Scenario.model_validate(doc), store, run_id=RUN).run()
        return store
    with QdrantVectorStore.local(root / "qdrant") as vs:
        engine = Engine(
            Scenario.model_validate(doc), store, run_id=RUN, vector_store=vs, snapshots=shelf
        )
        engine.run()
        assert engine.vector_error is None
    return store


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> tuple[MemoryEventStore, Path]:
    root = tmp_path_factory.mktemp("snap")
    return _run(root), root


def _restored(store: MemoryEventStore, root: Path, cycle: int, where: str) -> dict[str, Any]:
    with QdrantVectorStore.local(root / where) as vs:
        done = restore_collection(store, vs, SnapshotFiles(root / "snapshots"), RUN, cycle)
        assert done.cycle == cycle and done.collection == NAME
        return vs.points(NAME)


def test_one_snapshot_a_night_named_by_run_and_cycle(ran: tuple[MemoryEventStore, Path]) -> None:
    store, root = ran
    nights = synced_nights(store, RUN)
    assert sorted(nights) == [1, 2, 3]
    files = sorted((root / "snapshots" / NAME).iterdir())
    assert [f.name for f in files] == ["cycle-0001.jsonl", "cycle-0002.jsonl", "cycle-0003.jsonl"]
    for cycle, f in zip(sorted(nights), files, strict=True):
        assert nights[cycle].snapshot == f.stem
        assert vsn.checksum(f.read_bytes()) == nights[cycle].checksum  # the log's checksum
    assert len({n.checksum for n in nights.values()}) == 3  # each night its own content


@pytest.mark.parametrize("cycle", [1, 2, 3])
def test_restore_equals_rebuild_as_of_that_night(
    ran: tuple[MemoryEventStore, Path], cycle: int
) -> None:
    store, root = ran
    restored = _restored(store, root, cycle, f"restored-{cycle}")
    with QdrantVectorStore.local(root / f"rebuilt-{cycle}") as vs:
        n = rebuild_collection(store, vs, RUN, Moment(cycle=cycle))
        rebuilt = vs.points(NAME)
    assert n == len(rebuilt) == synced_nights(store, RUN)[cycle].n_points
    assert restored == rebuilt  # same points, same payloads, same vectors


def test_restore_replaces_what_the_collection_holds(ran: tuple[MemoryEventStore, Path]) -> None:
    store, root = ran
    first = _restored(store, root, 1, "again")
    _restored(store, root, 3, "again")
    assert _restored(store, root, 1, "again") == first


def test_the_digest_is_the_same_without_qdrant(
    ran: tuple[MemoryEventStore, Path], tmp_path: Path
) -> None:
    store, _ = ran
    bare = _run(tmp_path, with_qdrant=False)
    assert bare.get_run(RUN).digest == store.get_run(RUN).digest
    assert not (tmp_path / "snapshots").exists()


def test_retention_keeps_the_last_nights(tmp_path: Path) -> None:
    store = _run(tmp_path, keep=2)
    folder = tmp_path / "snapshots" / NAME
    assert sorted(f.name for f in folder.iterdir()) == ["cycle-0002.jsonl", "cycle-0003.jsonl"]
    assert [n.pruned for _, n in sorted(synced_nights(store, RUN).items())] == [
        (),
        (),
        ("cycle-0001",),
    ]
    with QdrantVectorStore.local(tmp_path / "r") as vs:
        shelf = SnapshotFiles(tmp_path / "snapshots")
        assert restore_collection(store, vs, shelf, RUN, 2).n_points >= 0  # a kept night
        with pytest.raises(NotFoundError) as e:
            restore_collection(store, vs, shelf, RUN, 1)
    assert str(e.value) == (
        f"no snapshot of run {RUN!r} for cycle 1 in {folder}; snapshots are kept for cycles: 2, 3"
    )


def test_restore_of_a_night_the_run_does_not_have(ran: tuple[MemoryEventStore, Path]) -> None:
    store, root = ran
    with pytest.raises(
        NotFoundError, match=r"^run 'tiny.snap-1' has no night 7: its nights are 1-3$"
    ):
        _restored(store, root, 7, "none")


def test_restore_without_snapshots_says_so(tmp_path: Path) -> None:
    store = _run(tmp_path, with_qdrant=False)
    with QdrantVectorStore.local(tmp_path / "q") as vs, pytest.raises(NotFoundError) as e:
        restore_collection(store, vs, SnapshotFiles(tmp_path / "snapshots"), RUN, 2)
    assert str(e.value).endswith("snapshots are kept for cycles: none")


def test_a_tampered_snapshot_is_refused_and_named(tmp_path: Path) -> None:
    store = _run(tmp_path)
    target = tmp_path / "snapshots" / NAME / "cycle-0002.jsonl"
    target.write_bytes(target.read_bytes().replace(b'"num_points": ', b'"num_points": 1'))
    with QdrantVectorStore.local(tmp_path / "qdrant") as vs:
        before = vs.points(NAME)
        with pytest.raises(StoreError) as e:
            restore_collection(store, vs, SnapshotFiles(tmp_path / "snapshots"), RUN, 2)
        assert vs.points(NAME) == before  # nothing touched
    message = str(e.value)
    assert message.startswith(f"snapshot {target} does not match the log (it hashes to sha256:")
    assert "not restored" in message and "\n" not in message


class _OlderLog(MemoryEventStore):
    """A log written before phase 4 was recorded: it has no vector_store_synced."""

    def read(self, run_id: str, query: EventQuery = ALL) -> EventBatch:
        if query.kinds == ["vector_store_synced"]:
            return EventBatch.empty(run_id)
        return super().read(run_id, query)


def test_a_log_without_snapshot_events_points_to_rebuild(tmp_path: Path) -> None:
    store = _OlderLog()
    Engine(Scenario.model_validate(TINY), store, run_id=RUN).run()
    with QdrantVectorStore.local(tmp_path / "q") as vs, pytest.raises(NotFoundError) as e:
        restore_collection(store, vs, SnapshotFiles(tmp_path), RUN, 1)
    assert "recorded no vector store snapshots" in str(e.value)
    assert "janus-sim rebuild --qdrant" in str(e.value)


# --- batched writes in embedded mode ------------------------------------------------------


def _commits(vs: QdrantVectorStore, name: str) -> list[str]:
    conn = vs._client._client.collections[name].storage.storage  # type: ignore[attr-defined]
    seen: list[str] = []
    conn.set_trace_callback(lambda sql: seen.append(sql) if sql.startswith("COMMIT") else None)
    return seen


@pytest.mark.parametrize(("batched", "commits"), [(True, 1), (False, 40)])
def test_an_upsert_commits_once_in_embedded_mode(
    tmp_path: Path, batched: bool, commits: int
) -> None:
    points = [create(f"s{i:02d}", np.array([1.0, i]), 0.0, 1_000, 0.1) for i in range(40)]
    with QdrantVectorStore.local(tmp_path / "q", batched=batched) as vs:
        vs.ensure_collection("c", 2)
        seen = _commits(vs, "c")
        vs.upsert("c", points)
        assert len(seen) == commits
        seen.clear()
        vs.delete("c", [p.id for p in points[:10]])
        assert len(seen) == (1 if batched else 10)
        written = vs.points("c")
    with QdrantVectorStore.local(tmp_path / "q") as again:  # the file holds every write
        reread = again.points("c")
    # The client keeps vectors in float32 in memory and float64 in its file: compare both
    # as float32 (the same either way, batched or not).
    assert _as_f32(reread) == _as_f32(written) and len(written) == 30


def _as_f32(points: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        sid: {**p, "vector": np.asarray(p["vector"], dtype=np.float32).tolist()}
        for sid, p in points.items()
    }


def test_a_failed_batch_is_rolled_back_whole(tmp_path: Path) -> None:
    with QdrantVectorStore.local(tmp_path / "q") as vs:
        vs.ensure_collection("c", 2)
        vs.upsert("c", [create("keep", np.array([1.0, 0.0]), 0.0, 1, 0.1)])
        conn = vs._client._client.collections["c"].storage.storage  # type: ignore[attr-defined]
        with pytest.raises(RuntimeError), one_transaction(vs._client, "c"):
            conn.execute("INSERT OR REPLACE INTO points VALUES ('x', x'00')")
            raise RuntimeError("mid-batch")
        assert conn.execute("SELECT count(*) FROM points").fetchone() == (1,)


def test_one_transaction_does_nothing_for_a_client_of_another_shape() -> None:
    with one_transaction(object(), "c") as batched:
        assert batched is False
