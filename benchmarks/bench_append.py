"""Event-log throughput of the DuckDB store: encode, append, read back.

Two realistic payload shapes, each appended through ``DuckDBEventStore.append`` in
batches of ``BATCH`` events to a fresh store in a temporary directory:

* ``transition``: ``TransitionRecorded`` events as the awake phase writes them (9-float
  state and next state, 4-float context, full-precision floats): ~640-byte payloads;
* ``day_closed``: ``DayClosed`` events (a few floats and a 3-constraint truth vector):
  ~180-byte payloads, the size the 1M events/s target was set for.

Figures per shape: ``encode`` (event -> ``encode`` -> ``EventBatch.from_records``, timed
on its own), ``append`` (``time.perf_counter`` around ``store.append`` only; goal
1,000,000 events/s), ``log_size`` (the database file per million events),
``append+close`` (adds the final ``close``, so work DuckDB defers to its checkpoint is
not hidden) and ``read`` (``store.read`` of the whole run after reopening read-only).

Encoding is ~50x slower than appending, so only ``UNIQUE`` events per shape are encoded;
the batches appended reuse their columns with sequence numbers, cycles and times shifted.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from janus_sim.adapters.duckdb_store import open_store
from janus_sim.core.codec import encode
from janus_sim.core.events import DayClosed, Event, TransitionRecorded
from janus_sim.eventlog import EventBatch
from janus_sim.ports import RunInfo

BATCH = 100_000
T0_NS = 1_704_186_600_000_000_000  # 2024-01-02 09:30 UTC
BAR_NS = 60_000_000_000
BARS_PER_DAY = 390
GOAL_EVENTS_S = 1_000_000


def _build(cls: type[Event], values: dict[str, Any]) -> Event:
    """``cls(**values)``, tolerating fields added to the event since this was written."""
    neutral = {int: 0, float: 0.0, str: "", bool: False}
    known = {f.name for f in dataclasses.fields(cls)}
    extra = {
        f.name: neutral.get(f.type, ()) if isinstance(f.type, type) else ()
        for f in dataclasses.fields(cls)
        if f.name not in values
    }
    kwargs: dict[str, Any] = {k: v for k, v in values.items() if k in known} | extra
    return cls(**kwargs)


def _transitions(n: int, rng: np.random.Generator) -> list[Event]:
    states = rng.standard_normal((n + 1, 9))
    ctx = rng.standard_normal((n, 4))
    prices = 100.0 + np.cumsum(rng.standard_normal(n)) * 0.05
    return [
        _build(
            TransitionRecorded,
            {
                "cycle": i // BARS_PER_DAY,
                "t_ns": T0_NS + i * BAR_NS,
                "entity": f"transition:{i}",
                "transition_id": i,
                "dt_ns": BAR_NS,
                "state": tuple(states[i].tolist()),
                "action": i % 3 - 1,
                "reward": float(ctx[i, 0]) * 1e-3,
                "next_state": tuple(states[i + 1].tolist()),
                "done": i % BARS_PER_DAY == BARS_PER_DAY - 1,
                "price": float(prices[i]),
                "regime": ("calm", "trend", "crash")[i % 3],
                "ctx": tuple(ctx[i].tolist()),
                "violation": float(abs(ctx[i, 1])) * 0.1,
                "position_after": i % 5 - 2,
            },
        )
        for i in range(n)
    ]


def _days_closed(n: int, rng: np.random.Generator) -> list[Event]:
    truth = rng.uniform(0.5, 1.0, (n, 3))
    pnl = rng.standard_normal(n) * 25.0
    return [
        _build(
            DayClosed,
            {
                "cycle": i,
                "t_ns": T0_NS + i * BAR_NS,  # synthetic: one "day" per bar keeps int64 room
                "entity": "agent",
                "date": f"{2024 + i // 366:04d}-{1 + i % 12:02d}-{1 + i % 28:02d}",
                "n_transitions": BARS_PER_DAY - 1,
                "close_price": 100.0 + float(pnl[i]) * 0.1,
                "pnl": float(pnl[i]),
                "sat_agg": float(truth[i].mean()),
                "constraint_truth": tuple(truth[i].tolist()),
            },
        )
        for i in range(n)
    ]


def _shifted(base: EventBatch, k: int) -> EventBatch:
    """Copy ``k`` of ``base``: the same payloads, later sequence numbers, cycles and times."""
    n = len(base)
    span_cycles = int(base.cycle[-1]) + 1
    span_ns = int(base.t_ns[-1] - base.t_ns[0]) + BAR_NS
    return dataclasses.replace(
        base,
        seq=base.seq + k * n,
        cycle=base.cycle + np.int32(k * span_cycles),
        t_ns=base.t_ns + np.int64(k * span_ns),
    )


def _workload(
    label: str, make: Callable[[int, np.random.Generator], list[Event]], total: int, unique: int
) -> list[dict[str, Any]]:
    events = make(unique, np.random.default_rng(20240102))
    t = time.perf_counter()
    base = EventBatch.from_records("bench", 0, [encode(e) for e in events])
    encode_rate = unique / (time.perf_counter() - t)

    # Batches of BATCH events cut from repeated copies of the encoded events.
    copies = -(-total // unique)
    pool = base
    for k in range(1, copies):
        pool = pool.concat(_shifted(base, k))
    batches = [_slice(pool, start, start + BATCH) for start in range(0, total, BATCH)]
    n = sum(len(b) for b in batches)
    context = {
        "events": n,
        "batch": BATCH,
        "payload_bytes": round(sum(map(len, base.payload)) / unique),
        "shape": label,
    }

    with tempfile.TemporaryDirectory(prefix="janus-bench-") as tmp:
        store = open_store(Path(tmp))
        store.create_run(RunInfo("bench", "bench", "-", "", "", 0, "bench"))
        append_s = 0.0
        for batch in batches:
            t = time.perf_counter()
            store.append(batch)
            append_s += time.perf_counter() - t
        t = time.perf_counter()
        store.close()
        close_s = time.perf_counter() - t
        db_mb = round((Path(tmp) / "janus.duckdb").stat().st_size / 1e6, 1)

        store = open_store(Path(tmp), read_only=True)
        t = time.perf_counter()
        read_n = len(store.read("bench"))
        read_s = time.perf_counter() - t
        store.close()
    if read_n != n:
        raise AssertionError(f"read back {read_n} events, appended {n}")
    rate = "events/s"
    append_rate = round(n / append_s)
    return [
        {
            "name": f"append_{label}",
            "value": append_rate,
            "unit": rate,
            "anchor": GOAL_EVENTS_S,
            "ratio": round(append_rate / GOAL_EVENTS_S, 4),
            **context,
        },
        {
            "name": f"append+close_{label}",
            "value": round(n / (append_s + close_s)),
            "unit": rate,
            "db_mb": db_mb,
            **context,
        },
        {
            "name": f"log_size_{label}",
            "value": round(db_mb / (n / 1e6), 1),
            "unit": "MB per million events",
            **context,
        },
        {"name": f"encode_{label}", "value": round(encode_rate), "unit": rate, **context},
        {"name": f"read_{label}", "value": round(read_n / read_s), "unit": rate, **context},
    ]


def _slice(b: EventBatch, lo: int, hi: int) -> EventBatch:
    return EventBatch(
        run_id=b.run_id,
        seq=b.seq[lo:hi].copy(),
        cycle=b.cycle[lo:hi].copy(),
        t_ns=b.t_ns[lo:hi].copy(),
        kind=b.kind[lo:hi],
        entity=b.entity[lo:hi],
        version=b.version[lo:hi].copy(),
        payload=b.payload[lo:hi],
    )


def run(quick: bool) -> list[dict[str, Any]]:
    """1,000,000 events per shape (200,000 with ``quick``), in batches of 100,000."""
    total, unique = (200_000, 50_000) if quick else (1_000_000, 100_000)
    return _workload("transition", _transitions, total, unique) + _workload(
        "day_closed", _days_closed, total, unique
    )
