"""Phase 4 alone (issue 18: "<= 0.2 s for 738 schemas"), and Qdrant's embedded engines
side by side (issue 19, item 4).

The nights of the shipped scenarios hold few schemas, so this builds ``N_SCHEMAS`` (738)
seeded schemas of the scenario's width (``d`` = crash_week's ``neocortex.features``, 2)
and times phase 4 as the engine runs it, in embedded mode (qdrant-client's local mode in a
temporary folder):

* ``sync_first``: the first night, every schema new (``sync_schemas`` from nothing: one
  upsert), ``batched`` (one SQLite transaction per call, ``adapters/qdrant_local_batch``)
  and ``per_point`` (the client's own way, one commit per point: the figure before);
* ``sync_night``: a later night, a tenth of the schemas updated and a twentieth pruned;
* ``snapshot``: the night's snapshot, ``core/vector_snapshot.snapshot_text`` and its
  checksum (the core's cost, paid with or without Qdrant) and the file's atomic write;
* ``phase4``: ``sync_first`` (batched) plus ``snapshot``: the whole phase, against the
  0.2 s goal.

Then the two embedded engines on 738 and 10,000 points (d = 2), each the best of
``REPEATS``: ``upsert`` (all points in one call into an empty collection: local mode
batched, and ``qdrant-edge-py``'s ``EdgeShard`` with one ``upsert_points`` operation) and
``search`` (mean latency of a top-5 query over ``QUERIES`` seeded vectors). Edge figures
are left out, with a note, when ``qdrant_edge`` is not installed (``pip install -e
".[edge]"``).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from janus_sim.adapters.qdrant_store import QdrantVectorStore
from janus_sim.adapters.snapshot_files import SnapshotFiles
from janus_sim.app.vector_sync import sync_schemas
from janus_sim.config import Neocortex
from janus_sim.core import vector_snapshot as vsn
from janus_sim.core.neocortex import Schema, consolidate, create

N_SCHEMAS = 738
D = len(Neocortex().features)  # crash_week's schema width: the default features
GOAL_S = 0.2
REPEATS = 3
QUERIES = 200
T0 = 1_765_966_200_000_000_000


def _schemas(n: int, d: int, rng: np.random.Generator) -> dict[str, Schema]:
    out = {}
    for i in range(n):
        s = create(f"s{i:05d}", rng.standard_normal(d), float(rng.standard_normal()), T0, 0.6)
        for k in range(3):
            s = consolidate(s, s.mean + 0.1 * rng.standard_normal(d), 0.0, T0 + k + 1, 0.01)
        out[s.id] = s
    return out


def _night(before: dict[str, Schema], rng: np.random.Generator) -> dict[str, Schema]:
    """A later night: every tenth schema moved, every twentieth (offset) pruned."""
    after = {}
    for i, (sid, s) in enumerate(before.items()):
        if i % 20 == 7:
            continue
        if i % 10 == 0:
            s = consolidate(s, s.mean + 0.05 * rng.standard_normal(s.dim), 0.0, T0 + 99, 0.01)
        after[sid] = s
    return after


def _best(fn: Callable[[], float], repeats: int) -> float:
    return min(fn() for _ in range(repeats))


def _sync(
    root: Path, batched: bool, schemas: dict[str, Schema], nxt: dict[str, Schema]
) -> tuple[float, float]:
    with QdrantVectorStore.local(root, batched=batched) as vs:
        vs.recreate("c", D)
        t = time.perf_counter()
        sync_schemas(vs, "c", {}, schemas)
        first = time.perf_counter() - t
        t = time.perf_counter()
        sync_schemas(vs, "c", schemas, nxt)
        night = time.perf_counter() - t
    return first, night


def _snapshot(root: Path, schemas: dict[str, Schema]) -> float:
    shelf = SnapshotFiles(root)
    t = time.perf_counter()
    data = vsn.snapshot_text(schemas.values()).encode("utf-8")
    vsn.checksum(data)
    shelf.save("janus_bench", "cycle-0001", data)
    return time.perf_counter() - t


def _local_engine(root: Path, schemas: list[Schema], queries: np.ndarray) -> tuple[float, float]:
    with QdrantVectorStore.local(root) as vs:
        vs.recreate("c", D)
        t = time.perf_counter()
        vs.upsert("c", schemas)
        upsert = time.perf_counter() - t
        t = time.perf_counter()
        for q in queries:
            vs.search("c", q, 5)
        search = (time.perf_counter() - t) / len(queries)
    return upsert, search


def _edge_engine(root: Path, schemas: list[Schema], queries: np.ndarray) -> tuple[float, float]:
    import qdrant_edge as qe  # optional: the [edge] extra

    config = qe.EdgeConfig(vectors=qe.EdgeVectorParams(size=D, distance=qe.Distance.Dot))
    shard = qe.EdgeShard.create(str(root), config)
    try:
        points = [
            qe.Point(vsn.point_id(s.id), vsn.unit(s.mean), vsn.payload_of(s)) for s in schemas
        ]
        t = time.perf_counter()
        shard.update(qe.UpdateOperation.upsert_points(points))
        shard.flush()
        upsert = time.perf_counter() - t
        t = time.perf_counter()
        for q in queries:
            shard.query(
                qe.QueryRequest(limit=5, query=qe.Query.Nearest(vsn.unit(q)), with_payload=True)
            )
        search = (time.perf_counter() - t) / len(queries)
    finally:
        shard.close()
    return upsert, search


def _row(name: str, value: float, unit: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "value": round(value, 6), "unit": unit, **extra}


def run(quick: bool) -> list[dict[str, Any]]:
    rng = np.random.default_rng(18)
    n = 80 if quick else N_SCHEMAS
    repeats = 1 if quick else REPEATS
    schemas = _schemas(n, D, rng)
    nxt = _night(schemas, rng)
    rows: list[dict[str, Any]] = []
    params = {"schemas": n, "d": D, "mode": "embedded (qdrant-client local)"}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        runs = {
            batched: [_sync(root / f"{batched}-{i}", batched, schemas, nxt) for i in range(repeats)]
            for batched in (True, False)
        }
        snap = _best(lambda: _snapshot(root / "snaps", schemas), repeats)
        for batched, label in ((False, "per_point"), (True, "batched")):
            first = min(r[0] for r in runs[batched])
            night = min(r[1] for r in runs[batched])
            rows.append(_row(f"vector_sync.sync_first.{label}", first, "s", **params))
            rows.append(
                _row(
                    f"vector_sync.sync_night.{label}",
                    night,
                    "s",
                    updated=sum(1 for i in range(n) if i % 10 == 0 and i % 20 != 7),
                    pruned=n - len(nxt),
                    **params,
                )
            )
        rows.append(_row("vector_sync.snapshot", snap, "s", bytes_per_schema=None, **params))
        text_bytes = len(vsn.snapshot_text(schemas.values()).encode("utf-8"))
        rows[-1]["bytes_per_schema"] = round(text_bytes / n)
        phase4 = min(r[0] for r in runs[True]) + snap
        rows.append(
            _row(
                "vector_sync.phase4",
                phase4,
                "s",
                anchor=GOAL_S,
                ratio=round(phase4 / GOAL_S, 3),
                **params,
            )
        )
        sizes = (n, 1_000) if quick else (N_SCHEMAS, 10_000)
        for size in sizes:
            points = list(_schemas(size, D, rng).values()) if size != n else list(schemas.values())
            queries = rng.standard_normal((20 if quick else QUERIES, D))
            engines: dict[str, Callable[[Path, list[Schema], np.ndarray], tuple[float, float]]] = {
                "local": _local_engine
            }
            try:
                import qdrant_edge  # noqa: F401

                engines["edge"] = _edge_engine
            except ImportError:
                rows.append(
                    {"name": "vector_sync.engine.edge", "note": "qdrant_edge not installed"}
                )
            for label, fn in engines.items():
                got = [fn(root / f"{label}-{size}-{i}", points, queries) for i in range(repeats)]
                extra = {"points": size, "d": D}
                rows.append(
                    _row(f"vector_sync.engine.{label}.upsert", min(g[0] for g in got), "s", **extra)
                )
                rows.append(
                    _row(
                        f"vector_sync.engine.{label}.search_top5",
                        min(g[1] for g in got) * 1e3,
                        "ms",
                        queries=len(queries),
                        **extra,
                    )
                )
    return rows
