"""Keep a run's schemas searchable: one vector collection per run (spec section 3, eq. 33).

The event log is the source of truth; the collection is a derived index. It can be kept
in step cycle by cycle (``sync_schemas`` with the schemas before and after a cycle) or
rebuilt from the whole log (``rebuild_collection``); both give the same points.
"""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np

from janus_sim.app.timetravel import Moment, state_at
from janus_sim.core.neocortex import Schema
from janus_sim.core.vector_snapshot import same_schema
from janus_sim.ports import EventQuery, EventStore, VectorStore
from janus_sim.scenario_text import parse_scenario

PREFIX = "janus_"
_MAX_STEM = 100
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def collection_name(run_id: str) -> str:
    """The collection of run ``run_id``: ``janus_`` + the run id when it is made of
    letters, digits, ``_`` and ``-`` (and at most 100 characters); otherwise the
    sanitized, truncated id plus the first 12 hex digits of its SHA-256, so distinct run
    ids never share a collection. Deterministic.
    """
    stem = _UNSAFE.sub("_", run_id)[:_MAX_STEM]
    if stem == run_id and run_id:
        return PREFIX + run_id
    digest = hashlib.sha256(run_id.encode("utf-8")).hexdigest()[:12]
    return f"{PREFIX}{stem}_{digest}"


def sync_schemas(
    vs: VectorStore, name: str, before: dict[str, Schema], after: dict[str, Schema]
) -> tuple[int, int]:
    """Bring collection ``name`` from ``before`` to ``after``: (upserted, deleted).

    Upserts the schemas created (in ``after`` only) or updated (in both, any stored field
    different: n_points, mean, cov, avg_reward, timestamps) in one batch, in ``after``'s
    order, and deletes the pruned ones (in ``before`` only). The collection is created
    when missing (dimension of the schemas). Does nothing, and touches nothing, when the
    two agree.
    """
    changed = [
        s for sid, s in after.items() if sid not in before or not same_schema(before[sid], s)
    ]
    pruned = [sid for sid in before if sid not in after]
    if not changed and not pruned:
        return 0, 0
    first = changed[0] if changed else before[pruned[0]]
    vs.ensure_collection(name, first.dim)
    vs.upsert(name, changed)
    vs.delete(name, pruned)
    return len(changed), len(pruned)


def rebuild_collection(
    event_store: EventStore, vs: VectorStore, run_id: str, moment: Moment | None = None
) -> int:
    """Recreate the run's collection from its log; the number of live schemas.

    Folds the events up to ``moment`` (``state_at``; default the end of the run), drops
    and recreates the collection and upserts the live schemas in one batch. Idempotent. A
    run without live schemas gets an empty collection of its state dimension (its feature
    count), or none at all when that is unknown. NotFoundError from the event store when
    the run does not exist or has no events.
    """
    state, _ = state_at(event_store, run_id, moment or Moment())
    schemas = list(state.schemas.values())
    dim = schemas[0].dim if schemas else len(state.feature_names)
    if dim < 1:
        return 0
    name = collection_name(run_id)
    vs.recreate(name, dim)
    vs.upsert(name, schemas)
    return len(schemas)


def search_schemas(
    vs: VectorStore, run_id: str, vector: np.ndarray, k: int
) -> list[tuple[str, float]]:
    """The ``k`` schemas of run ``run_id`` most cosine-similar to ``vector`` (eq. 33)."""
    return vs.search(collection_name(run_id), vector, k)


__all__ = [
    "PREFIX",
    "collection_name",
    "rebuild_collection",
    "same_schema",
    "search_schemas",
    "sync_schemas",
]


def schema_space(store: EventStore, run_id: str, raw: np.ndarray) -> np.ndarray:
    """A raw state vector of run ``run_id`` as its schemas see it: through the run's feature
    scaler (``scaler_fitted``) and cut to the scenario's ``neocortex.features``. A log
    older than the scaler kept its schemas over the whole raw state: returned as is."""
    x = np.asarray(raw, dtype=np.float64)
    fitted = store.read(run_id, EventQuery(kinds=["scaler_fitted"], limit=1))
    if not len(fitted):
        return x
    doc = json.loads(fitted.payload[0])
    x = (x - np.array(doc["mean"])) / np.array(doc["scale"])
    info = store.get_run(run_id)
    sc = parse_scenario(info.scenario_text, info.scenario_source or run_id)
    return x[sc.memory_columns()]
