"""Where two event logs part, and what differs there: the one divergence report.

``compare``, ``baseline check``, ``run --resume`` and ``verify --replay`` all describe
the first divergent event with a ``Divergence``: its sequence number, kind, entity, cycle
and simulated time, and a field-level *expected / actual* listing of what differs
(``FieldDiff``, from ``payload_diff``). For an array it says how many elements differ,
the first few indices and the largest absolute difference, not the arrays themselves.
Expected is side A (the stored log, the baseline), actual is side B (the other run, the
replay).

The run's metadata is not behaviour. ``run_started`` carries the scenario's name, the hash
of its resolved configuration and that configuration itself (``METADATA_FIELDS``): across
code versions these differ whenever a default does, so a difference confined to them is
recorded as ``metadata`` and the search goes on to the first *behavioural* event.

Pure: batches and payload strings in, frozen records out.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from janus_sim.app.payload_diff import MAX_INDICES as MAX_INDICES
from janus_sim.app.payload_diff import FieldDiff as FieldDiff
from janus_sim.app.payload_diff import payload_diff as payload_diff
from janus_sim.app.payload_diff import short
from janus_sim.core.codec import CodecError, decode, encode
from janus_sim.eventlog import ROW_FIELDS, EventBatch, first_difference
from janus_sim.timefmt import format_ns

METADATA_FIELDS: dict[str, frozenset[str]] = {
    "run_started": frozenset({"scenario_name", "scenario_hash", "config"})
}
"""Per event kind, the payload fields that describe the run rather than its behaviour."""

MAX_FIELDS = 20
"""At most this many differing fields are listed per event (the count says how many)."""


@dataclass(frozen=True)
class Reach:
    """A cycle at or after the divergence whose comparison fails, and what it reached."""

    cycle: int
    metrics: tuple[str, ...]
    """Metrics beyond tolerance (``schemas`` when the schema states differ)."""


@dataclass(frozen=True)
class Divergence:
    """The first divergent event of two logs (module docstring)."""

    seq: int
    field: str
    """The first differing row column (one of ``eventlog.ROW_FIELDS``), or ``length``."""
    detail: str
    """One line: what differs, where."""
    kind: str = ""
    entity: str = ""
    cycle: int | None = None
    t_ns: int | None = None
    """The simulated time of the event (expected side; actual when only it has one)."""
    fields: tuple[FieldDiff, ...] = ()
    n_fields: int = 0
    """How many fields differ in all (``fields`` lists at most ``MAX_FIELDS``)."""
    metadata: tuple[FieldDiff, ...] = ()
    """Run-metadata differences passed over on the way (``METADATA_FIELDS``)."""
    reached: tuple[Reach, ...] | None = None
    """The cycles it reached (``Reach``); None when not worked out."""

    @property
    def when(self) -> str:
        return "" if self.t_ns is None else format_ns(self.t_ns)

    def headline(self) -> str:
        """``seq 1234: schema_updated schema:c1-0, cycle 1, 2025-12-01T21:00:00``."""
        what = " ".join(x for x in (self.kind, self.entity) if x) or "event"
        where = "" if self.cycle is None else f", cycle {self.cycle}"
        when = f", {self.when}" if self.when else ""
        return f"seq {self.seq}: {what}{where}{when}"

    def with_reach(self, reached: Sequence[Reach]) -> Divergence:
        return replace(self, reached=tuple(reached))

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "field": self.field,
            "detail": self.detail,
            "kind": self.kind,
            "entity": self.entity,
            "cycle": self.cycle,
            "t_ns": self.t_ns,
            "time": self.when,
            "n_fields": self.n_fields,
            "fields": [_field_dict(f) for f in self.fields],
            "metadata": [_field_dict(f) for f in self.metadata],
            "reached": None
            if self.reached is None
            else [{"cycle": r.cycle, "metrics": list(r.metrics)} for r in self.reached],
        }


def _field_dict(f: FieldDiff) -> dict[str, Any]:
    out = dict(f.__dict__)
    out["indices"] = [list(i) for i in f.indices]
    big = f.max_abs_diff
    out["max_abs_diff"] = big if big is None or math.isfinite(big) else str(big)
    return out


# --- locating the first divergent event -----------------------------------------------


def _upcast(batch: EventBatch, i: int) -> str:
    """Row ``i``'s payload at its kind's current version (itself when it cannot decode)."""
    record = next(iter(batch.take(np.array([i])).records())).record
    try:
        return encode(decode(record)).payload
    except (CodecError, ValueError, TypeError):
        return record.payload


def row_diffs(a: EventBatch, i: int, b: EventBatch, j: int) -> list[FieldDiff]:
    """Every difference between row ``i`` of ``a`` and row ``j`` of ``b``: the row columns
    first, then the payload's fields (an older payload version upcast before comparing)."""
    out = []
    for name in ROW_FIELDS[:-1]:
        x, y = getattr(a, name)[i], getattr(b, name)[j]
        if x != y:
            out.append(FieldDiff(name, short(_plain(x)), short(_plain(y))))
    pa, pb = a.payload[i], b.payload[j]
    if pa != pb:
        if a.kind[i] == b.kind[j] and a.version[i] != b.version[j]:
            pa, pb = _upcast(a, i), _upcast(b, j)
        out += payload_diff(pa, pb)
    return out


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def _metadata_only(kind: str, diffs: Iterable[FieldDiff]) -> bool:
    names = METADATA_FIELDS.get(kind)
    if not names:
        return False
    paths = [d.path.split(".", 1)[0].split("[", 1)[0] for d in diffs]
    return bool(paths) and all(p in names for p in paths)


def divergence_at(
    a: EventBatch, i: int, b: EventBatch, j: int, metadata: Sequence[FieldDiff] = ()
) -> Divergence:
    """The divergence report of row ``i`` of ``a`` against row ``j`` of ``b``."""
    diffs = row_diffs(a, i, b, j)
    top = diffs[0] if diffs else FieldDiff("payload", "?", "?")
    column = top.path if top.path in ROW_FIELDS else "payload"
    kind = a.kind[i] if a.kind[i] == b.kind[j] else f"{a.kind[i]} / {b.kind[j]}"
    detail = f"{top.path} differs ({a.kind[i]} of cycle {int(a.cycle[i])} in A, "
    detail += f"{b.kind[j]} of cycle {int(b.cycle[j])} in B)"
    return Divergence(
        seq=int(a.seq[i]),
        field=column,
        detail=detail,
        kind=kind,
        entity=a.entity[i],
        cycle=int(a.cycle[i]),
        t_ns=int(a.t_ns[i]),
        fields=tuple(diffs[:MAX_FIELDS]),
        n_fields=len(diffs),
        metadata=tuple(metadata),
    )


def first_divergence_in(
    a: EventBatch,
    b: EventBatch,
    metadata: Sequence[FieldDiff] = (),
    *,
    skip_metadata: bool = True,
) -> tuple[Divergence | None, tuple[FieldDiff, ...]]:
    """(the first behavioural divergence over the common rows of two batches with equal
    sequence numbers, or None; the metadata differences passed over, with ``metadata``).

    ``skip_metadata`` False: a metadata difference is a divergence like any other (runs
    that should share their resolved configuration, where it can only mean tampering)."""
    seen = list(metadata)
    start = 0
    n = min(len(a), len(b))
    while start < n:
        view = np.arange(start, n)
        hit = first_difference(a.take(view), b.take(view))
        if hit is None:
            return None, tuple(seen)
        row = start + hit[0]
        diffs = row_diffs(a, row, b, row)
        if skip_metadata and a.kind[row] == b.kind[row] and _metadata_only(a.kind[row], diffs):
            seen += diffs
            start = row + 1
            continue
        return divergence_at(a, row, b, row, seen), tuple(seen)
    return None, tuple(seen)


def length_divergence(
    seq: int, shorter: str, longer: EventBatch | None, metadata: Sequence[FieldDiff] = ()
) -> Divergence:
    """One log ends at ``seq`` (``shorter`` names it); ``longer`` holds the event there."""
    detail = f"run {shorter} ends after event {seq - 1}"
    if longer is None or not len(longer):
        return Divergence(seq, "length", detail, metadata=tuple(metadata))
    return Divergence(
        seq,
        "length",
        detail,
        kind=longer.kind[0],
        entity=longer.entity[0],
        cycle=int(longer.cycle[0]),
        t_ns=int(longer.t_ns[0]),
        fields=(
            FieldDiff(
                "event",
                "(absent)" if shorter == "A" else "present",
                "present" if shorter == "A" else "(absent)",
            ),
        ),
        n_fields=1,
        metadata=tuple(metadata),
    )


__all__ = [
    "METADATA_FIELDS",
    "Divergence",
    "FieldDiff",
    "Reach",
    "divergence_at",
    "fingerprint_divergence",
    "fingerprints",
    "first_divergence_in",
    "length_divergence",
    "payload_diff",
    "row_diffs",
]


# --- fingerprints: locating a divergence against a log that is not kept ---------------

FINGERPRINT_BYTES = 4
"""Bytes of sha256 kept per event by a baseline: enough to locate the first divergent
event (a collision, 1 in 4e9 per event, would only locate it later)."""


def _behaviour(kind: str, payload: str) -> bytes:
    """The payload without the run's metadata fields (``METADATA_FIELDS``)."""
    names = METADATA_FIELDS.get(kind)
    if names:
        try:
            doc = json.loads(payload)
        except ValueError:
            return payload.encode()
        if isinstance(doc, dict):
            doc = {k: v for k, v in doc.items() if k not in names}
            return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    return payload.encode()


def fingerprints(batch: EventBatch) -> bytes:
    """``FINGERPRINT_BYTES`` of sha256 per event, over its row fields and behaviour."""
    out = bytearray()
    for i, kind in enumerate(batch.kind):
        head = f"{kind}\0{int(batch.version[i])}\0{int(batch.cycle[i])}\0{int(batch.t_ns[i])}"
        h = hashlib.sha256(f"{head}\0{batch.entity[i]}\0".encode())
        h.update(_behaviour(kind, batch.payload[i]))
        out += h.digest()[:FINGERPRINT_BYTES]
    return bytes(out)


def fingerprint_divergence(expected: bytes, actual: EventBatch) -> Divergence | None:
    """The first event of ``actual`` whose fingerprint is not the ``expected`` one (or
    where one of them ends), described from ``actual``'s side; None when all agree."""
    got = fingerprints(actual)
    n = FINGERPRINT_BYTES
    common = min(len(expected), len(got)) // n
    a = np.frombuffer(expected[: common * n], dtype=f"V{n}")
    b = np.frombuffer(got[: common * n], dtype=f"V{n}")
    bad = np.flatnonzero(a != b)
    if len(bad):
        i = int(bad[0])
    elif len(expected) != len(got):
        i = common
        if i >= len(actual):  # the fresh run ends first
            return Divergence(i, "length", f"this run ends after event {i - 1}")
    else:
        return None
    note = "the baseline keeps a fingerprint of each event, not its payload"
    return Divergence(
        seq=int(actual.seq[i]),
        field="length" if i >= common else "fingerprint",
        detail=f"differs from the baseline's event {i} ({note})",
        kind=actual.kind[i],
        entity=actual.entity[i],
        cycle=int(actual.cycle[i]),
        t_ns=int(actual.t_ns[i]),
        fields=(
            FieldDiff(
                "event",
                "(the baseline's: a fingerprint only)",
                f"{actual.kind[i]} v{int(actual.version[i])} {short(actual.payload[i])}",
            ),
        ),
        n_fields=1,
    )
