"""Phase 4's content, computed from state: the schema collection's points and the nightly
snapshot of them, canonical bytes and checksum (issue 19, item 4).

The collection is a projection of the log, so what it holds after night N is a function
of the state after night N; this module is that function. ``snapshot_text`` is the
snapshot file's exact content (JSON lines, one point per live schema, sorted by schema
id, keys sorted, floats as ``repr`` writes them), and ``snapshot_checksum`` its SHA-256:
the ``vector_store_synced`` event records that checksum, so a run with or without Qdrant
records the same event (the digest does not depend on whether a vector store was kept),
and a snapshot file on any machine can be checked against the log.

A point (spec 3.1, eq. 33): its id is ``uuid5(NAMESPACE, schema_id)`` (Qdrant ids must be
integers or UUIDs), its vector the schema mean scaled to unit length (``unit``; the
collection's distance is the dot product, so scores are cosines), its payload
``payload_of`` (the exact mean, the flattened covariance, dim, eps, so ``schema_of``
rebuilds the schema from a point).

Pure: no I/O, no clock; ``unit`` sums squares with ``math.fsum`` (correctly rounded) so
the vector's bits do not depend on the CPU.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from janus_sim.core.neocortex import Schema
from janus_sim.timefmt import format_ns

NAMESPACE = uuid.UUID("6b1f3c2e-8d4a-5e7b-9c0d-1a2b3c4d5e6f")
"""Fixed namespace of the point ids; changing it orphans every stored point."""
SNAPSHOT_SUFFIX = ".jsonl"


def point_id(schema_id: str) -> str:
    """The Qdrant point id (a UUID string) of a schema id; deterministic."""
    return str(uuid.uuid5(NAMESPACE, schema_id))


def unit(v: np.ndarray | Iterable[float]) -> list[float]:
    """``v`` scaled to unit Euclidean length (zeros stay zeros), as Python floats.

    Divided by its largest magnitude first, so that squares neither underflow nor
    overflow (a tiny or huge mean still gets a unit vector)."""
    x = [float(a) for a in np.asarray(v, dtype=np.float64).ravel()]
    top = max((abs(a) for a in x), default=0.0)
    if top == 0.0:
        return x
    y = [a / top for a in x]
    norm = math.sqrt(math.fsum(a * a for a in y))
    return [a / norm for a in y]


def payload_of(schema: Schema) -> dict[str, Any]:
    """The payload of a schema's point (spec 3.1); plain JSON types only."""
    return {
        "schema_id": schema.id,
        "dim": schema.dim,
        "mean": [float(x) for x in schema.mean],
        "covariance": [float(x) for x in schema.cov.ravel()],
        "num_points": int(schema.n_points),
        "avg_reward": float(schema.avg_reward),
        "eps": float(schema.eps),
        "created_at": format_ns(schema.created_ns),
        "created_ns": int(schema.created_ns),
        "last_updated": format_ns(schema.updated_ns),
        "updated_ns": int(schema.updated_ns),
    }


def schema_of(payload: Mapping[str, Any]) -> Schema:
    """The schema a point's payload describes (inverse of ``payload_of``).

    ValueError (or KeyError, TypeError) when the payload is not one ``payload_of`` wrote.
    """
    dim = int(payload["dim"])
    return Schema(
        id=str(payload["schema_id"]),
        mean=np.array(payload["mean"], dtype=np.float64),
        cov=np.array(payload["covariance"], dtype=np.float64).reshape(dim, dim),
        n_points=int(payload["num_points"]),
        avg_reward=float(payload["avg_reward"]),
        created_ns=int(payload["created_ns"]),
        updated_ns=int(payload["updated_ns"]),
        eps=float(payload["eps"]),
    )


def same_schema(a: Schema, b: Schema) -> bool:
    """Whether two versions of a schema have the same point (every stored field)."""
    return (
        a.id == b.id
        and a.n_points == b.n_points
        and a.avg_reward == b.avg_reward
        and a.created_ns == b.created_ns
        and a.updated_ns == b.updated_ns
        and a.eps == b.eps
        and np.array_equal(a.mean, b.mean)
        and np.array_equal(a.cov, b.cov)
    )


def changes(before: Mapping[str, Schema], after: Mapping[str, Schema]) -> tuple[int, int]:
    """(points to upsert, points to delete) to bring the collection from ``before`` to
    ``after``: the schemas new or changed in ``after``, and those only in ``before``."""
    upserted = sum(
        1 for sid, s in after.items() if sid not in before or not same_schema(before[sid], s)
    )
    return upserted, sum(1 for sid in before if sid not in after)


def snapshot_name(cycle: int) -> str:
    """The snapshot of night ``cycle`` (``cycle-0003``); its file is
    ``<run folder>/<name>.jsonl``. No run id: the name enters the log, which never holds
    one."""
    if cycle < 1:
        raise ValueError(f"cycle must be >= 1, got {cycle}")
    return f"cycle-{cycle:04d}"


def cycle_of(name: str) -> int | None:
    """The cycle of a snapshot name (``snapshot_name``'s inverse), or None for any other
    name."""
    head, _, digits = name.partition("-")
    if head != "cycle" or not digits.isdigit() or len(digits) < 4:
        return None
    return int(digits)


def snapshot_row(schema: Schema) -> dict[str, Any]:
    """One point as a snapshot line holds it: ``id``, ``schema_id``, ``vector``, ``payload``."""
    return {
        "id": point_id(schema.id),
        "schema_id": schema.id,
        "vector": unit(schema.mean),
        "payload": payload_of(schema),
    }


def snapshot_text(schemas: Iterable[Schema]) -> str:
    """The snapshot file's exact text: one JSON object per schema, sorted by schema id,
    keys sorted, each line ending in a newline (empty for no schemas)."""
    rows = sorted((snapshot_row(s) for s in schemas), key=lambda r: str(r["schema_id"]))
    return "".join(json.dumps(r, sort_keys=True, allow_nan=False) + "\n" for r in rows)


def checksum(data: bytes) -> str:
    """``sha256:`` and the hex SHA-256 of ``data`` (a snapshot file's bytes)."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def snapshot_checksum(schemas: Iterable[Schema]) -> str:
    """The checksum of ``snapshot_text(schemas)`` as UTF-8: what the log records."""
    return checksum(snapshot_text(schemas).encode("utf-8"))


def pruned_by(cycle: int, keep: int) -> tuple[str, ...]:
    """The snapshot that retention removes on night ``cycle`` when the last ``keep``
    nights are kept (0: every night is kept, nothing is removed)."""
    old = cycle - keep
    return (snapshot_name(old),) if keep > 0 and old >= 1 else ()


__all__ = [
    "NAMESPACE",
    "SNAPSHOT_SUFFIX",
    "changes",
    "checksum",
    "cycle_of",
    "payload_of",
    "point_id",
    "pruned_by",
    "same_schema",
    "schema_of",
    "snapshot_checksum",
    "snapshot_name",
    "snapshot_row",
    "snapshot_text",
    "unit",
]
