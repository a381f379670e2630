"""What the event log could do in another layout: one million transition events, four ways.

``bench_append`` measures the store as it is: canonical JSON text per payload and a
SHA-256 chain link per row. Issue 18 asks for 1,000,000 appends/s, 2,000,000 reads/s and
at most 40 MB per million transition events. Before the format is changed, this measures
what each candidate layout gives in the same DuckDB (same file options as the store:
the file ATTACHed with ``ROW_GROUP_SIZE`` 32768, batches of 100,000), on
``bench_append``'s transitions (9-float states, 4-float context, full-precision floats):

* ``json_row_chain``: today's layout, without the store's checks: the payload as JSON
  text (zstd), a 32-byte chain link per row (``eventlog.chain_hashes``);
* ``json_batch_link``: the same text; one SHA-256 link per batch over the batch's row
  bytes, and under it an 8-byte per-row hash that DuckDB computes in the INSERT
  (``hash``), which only has to say which row of a broken batch changed;
* ``binary_blob``: the payload as fixed-layout little-endian bytes (234 per event, every
  float's 8 bytes kept), built from numpy columns in one call; link per batch as above;
* ``typed_columns``: one DuckDB column per field, vectors as ``DOUBLE[9]`` and
  ``DOUBLE[4]``, from Arrow arrays over the numpy columns; the same batch link over the
  same canonical bytes as ``binary_blob``.

Per layout: ``append`` (build the batch's Arrow table and link, INSERT, COMMIT),
``read`` (SELECT the run back into numpy columns, the JSON layouts into a list of
payload strings as ``EventBatch`` holds them) and the file's size after close, per
million events. ``encode`` rows give the cost of making the payload bytes from Python
event objects one at a time (what the engine does now) and from the columns at once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import struct
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
from bench_append import BATCH, GOAL_EVENTS_S, _transitions

from janus_sim.core.codec import encode
from janus_sim.eventlog import EventBatch, _row_buffer, chain_hashes

GOAL_READ_S = 2_000_000
GOAL_MB_PER_M = 40.0
DIM = 9
CTX = 4
REGIMES = ("calm", "trend", "crash")

BLOB: np.dtype[np.void] = np.dtype(
    [
        ("transition_id", "<i8"),
        ("dt_ns", "<i8"),
        ("state", "<f8", (DIM,)),
        ("action", "<i8"),
        ("reward", "<f8"),
        ("next_state", "<f8", (DIM,)),
        ("done", "u1"),
        ("price", "<f8"),
        ("regime", "u1"),
        ("ctx", "<f8", (CTX,)),
        ("violation", "<f8"),
        ("position_after", "<i8"),
    ]
)
"""The canonical bytes of one transition payload, packed (no padding): 234 bytes."""
FIELDS: tuple[str, ...] = BLOB.names or ()

_STRUCT = struct.Struct(f"<qq{DIM}dqd{DIM}dBdB{CTX}ddq")


def _columns(events: list[Any]) -> np.ndarray:
    """The payloads as one structured array (what a columnar engine would hand over)."""
    out = np.zeros(len(events), dtype=BLOB)
    for name in FIELDS:
        if name == "regime":
            out[name] = [REGIMES.index(e.regime) for e in events]
        else:
            out[name] = [getattr(e, name) for e in events]
    return out


def _pack_one(e: Any) -> bytes:
    return _STRUCT.pack(
        e.transition_id, e.dt_ns, *e.state, e.action, e.reward, *e.next_state, e.done,
        e.price, REGIMES.index(e.regime), *e.ctx, e.violation, e.position_after,
    )  # fmt: skip


def _connect(path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute(f"ATTACH '{path}' AS db (ROW_GROUP_SIZE 32768)")
    con.execute("USE db")
    return con


_TABLES = {
    "json_row_chain": "seq BIGINT, cycle INTEGER, t_ns BIGINT, payload VARCHAR USING "
    "COMPRESSION zstd, chain BLOB",
    "json_batch_link": "seq BIGINT, cycle INTEGER, t_ns BIGINT, payload VARCHAR USING "
    "COMPRESSION zstd, row_hash UBIGINT",
    "binary_blob": "seq BIGINT, cycle INTEGER, t_ns BIGINT, body BLOB, row_hash UBIGINT",
    "typed_columns": "seq BIGINT, cycle INTEGER, t_ns BIGINT, transition_id BIGINT, "
    f"dt_ns BIGINT, state DOUBLE[{DIM}], action BIGINT, reward DOUBLE, next_state "
    f"DOUBLE[{DIM}], done BOOLEAN, price DOUBLE, regime UTINYINT, ctx DOUBLE[{CTX}], "
    "violation DOUBLE, position_after BIGINT, row_hash UBIGINT",
}
_INSERTS = {
    "json_row_chain": "INSERT INTO ev SELECT * FROM batch",
    "json_batch_link": "INSERT INTO ev SELECT seq, cycle, t_ns, payload, hash(payload) FROM batch",
    "binary_blob": "INSERT INTO ev SELECT seq, cycle, t_ns, body, hash(body) FROM batch",
    "typed_columns": "INSERT INTO ev SELECT *, hash(seq, state, next_state, ctx) FROM batch",
}


def _fixed(values: np.ndarray, width: int) -> pa.Array:
    return pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1)), width)


def _table(layout: str, batch: EventBatch, cols: np.ndarray) -> tuple[pa.Table, bytes]:
    """The batch's Arrow table for ``layout`` and the bytes its batch link covers."""
    head = {
        "seq": pa.array(batch.seq),
        "cycle": pa.array(batch.cycle),
        "t_ns": pa.array(batch.t_ns),
    }
    if layout.startswith("json"):
        head["payload"] = pa.array(batch.payload, pa.large_string())
        return pa.table(head), bytes(_row_buffer(batch)[0])
    raw = cols.tobytes()
    if layout == "binary_blob":
        body = pa.FixedSizeBinaryArray.from_buffers(
            pa.binary(BLOB.itemsize), len(cols), [None, pa.py_buffer(raw)]
        )
        return pa.table({**head, "body": body.cast(pa.binary())}), raw
    typed: dict[str, pa.Array] = {}
    for name in FIELDS:
        v = np.ascontiguousarray(cols[name])  # a columnar engine's arrays are contiguous
        typed[name] = _fixed(v, v.shape[1]) if v.ndim == 2 else pa.array(v)
    typed["done"] = typed["done"].cast(pa.bool_())
    return pa.table({**head, **typed}), raw


def _append(con: duckdb.DuckDBPyConnection, layout: str, batch: EventBatch, cols: np.ndarray,
            link: bytes) -> bytes:  # fmt: skip
    table, covered = _table(layout, batch, cols)
    if layout == "json_row_chain":
        hashes = chain_hashes(link, batch)
        table = table.append_column("chain", pa.array(hashes, pa.binary()))
        link = hashes[-1]
    else:
        link = hashlib.sha256(link + covered).digest()
    con.execute("BEGIN TRANSACTION")
    con.register("batch", table)
    con.execute(_INSERTS[layout])
    con.unregister("batch")
    con.execute("INSERT INTO links VALUES (?, ?)", [int(batch.seq[-1]), link])
    con.execute("COMMIT")
    return link


def _read(con: duckdb.DuckDBPyConnection, layout: str) -> int:
    """Read the run back into what a consumer works on; returns the rows read."""
    table = con.sql("SELECT * FROM ev").to_arrow_table()
    seq = table.column("seq").to_numpy()
    if layout.startswith("json"):
        payload = table.column("payload").to_pylist()
        return min(len(seq), len(payload))
    if layout == "binary_blob":
        body = table.column("body").combine_chunks()
        data = body.buffers()[2]
        start = body.offset * BLOB.itemsize
        rows = np.frombuffer(data, dtype=BLOB, count=len(body), offset=start)
        return min(len(seq), len(rows["state"]))
    state = table.column("state").combine_chunks()
    values = state.values.to_numpy().reshape(len(state), DIM)
    return min(len(seq), len(values))


def _layout(layout: str, batches: list[tuple[EventBatch, np.ndarray]]) -> list[dict[str, Any]]:
    n = sum(len(b) for b, _ in batches)
    with tempfile.TemporaryDirectory(prefix="janus-layout-") as tmp:
        path = Path(tmp) / "log.duckdb"
        con = _connect(path)
        con.execute(f"CREATE TABLE ev ({_TABLES[layout]})")
        con.execute("CREATE TABLE links (last_seq BIGINT, link BLOB)")
        link = bytes(32)
        t = time.perf_counter()
        for batch, cols in batches:
            link = _append(con, layout, batch, cols, link)
        append_s = time.perf_counter() - t
        con.close()
        mb = path.stat().st_size / 1e6
        con = _connect(path)
        t = time.perf_counter()
        read_n = _read(con, layout)
        read_s = time.perf_counter() - t
        con.close()
    if read_n != n:
        raise AssertionError(f"{layout}: read back {read_n} events, appended {n}")
    context = {"layout": layout, "events": n, "batch": BATCH}
    return [
        {"name": f"layout_append_{layout}", "value": round(n / append_s), "unit": "events/s",
         "anchor": GOAL_EVENTS_S, "ratio": round(n / append_s / GOAL_EVENTS_S, 3), **context},
        {"name": f"layout_read_{layout}", "value": round(n / read_s), "unit": "events/s",
         "anchor": GOAL_READ_S, "ratio": round(n / read_s / GOAL_READ_S, 3), **context},
        {"name": f"layout_size_{layout}", "value": round(mb / (n / 1e6), 1),
         "unit": "MB per million events", "anchor": GOAL_MB_PER_M,
         "ratio": round(mb / (n / 1e6) / GOAL_MB_PER_M, 2), **context},
    ]  # fmt: skip


def _rate(n: int, work: Callable[[], object]) -> int:
    t = time.perf_counter()
    work()
    return round(n / (time.perf_counter() - t))


def run(quick: bool) -> list[dict[str, Any]]:
    """1,000,000 events (200,000 with ``quick``) per layout, in batches of 100,000."""
    total, unique = (200_000, 50_000) if quick else (1_000_000, 100_000)
    events = _transitions(unique, np.random.default_rng(20240102))
    encoded = [encode(e) for e in events]
    cols = _columns(events)
    sample = events[: min(unique, 20_000)]
    out: list[dict[str, Any]] = [
        {"name": "layout_encode_json_per_event", "value": _rate(len(sample), lambda: [
            encode(e) for e in sample]), "unit": "events/s", "events": len(sample)},
        {"name": "layout_encode_binary_per_event", "value": _rate(len(sample), lambda: [
            _pack_one(e) for e in sample]), "unit": "events/s", "events": len(sample)},
        {"name": "layout_encode_binary_from_columns", "value": _rate(unique, cols.tobytes),
         "unit": "events/s", "events": unique},
        {"name": "layout_decode_json_per_event", "value": _rate(len(sample), lambda: [
            json.loads(r.payload) for r in encoded[: len(sample)]]), "unit": "events/s",
         "events": len(sample)},
    ]  # fmt: skip
    if _pack_one(events[0]) != cols[:1].tobytes():
        raise AssertionError("the per-event packing and the columns disagree")
    base = EventBatch.from_records("bench", 0, encoded)
    batches = []
    for start in range(0, total, BATCH):
        lo = start % unique
        idx = np.arange(lo, lo + BATCH) % unique
        part = base.take(idx)
        part = dataclasses.replace(part, seq=np.arange(start, start + BATCH, dtype=np.int64))
        batches.append((part, cols[idx]))
    for layout in _TABLES:
        out += _layout(layout, batches)
    return out
