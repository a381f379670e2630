"""A synthetic run's events and run row, shared by the store contract and the DuckDB tests."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from janus_sim.core.codec import EncodedEvent
from janus_sim.eventlog import EventBatch
from janus_sim.ports import RunInfo

STARTED = "2026-01-02T09:30:00+00:00"
KINDS = ("day_opened", "transition_recorded", "policy_updated")
ENTITIES = ("agent", "transition:7")


def run_info(run_id: str, **changes: Any) -> RunInfo:
    info = RunInfo(
        run_id=run_id,
        scenario_name="tiny",
        scenario_source="scenarios/tiny.yaml",
        scenario_text="name: tiny\nseed: 7\n",
        scenario_hash="ab" * 32,
        seed=2**62 + 7,
        code_version="0.1.0+g1234",
        versions={"numpy": "2.4.6", "duckdb": "2.0.1"},
        started_at=STARTED,
    )
    return replace(info, **changes)


def record(i: int) -> EncodedEvent:
    """Event ``i`` of a synthetic run: every column varies, payloads carry non-ASCII text."""
    return EncodedEvent(
        kind=KINDS[i % 3],
        version=1 + i % 2,
        cycle=i // 7,
        t_ns=1_767_346_200_000_000_000 + 60_000_000_000 * i,
        entity=ENTITIES[i % 2],
        payload=f'{{"i":{i},"x":{i * 0.1!r},"note":"é☃ \\"q\\" {i}"}}',
    )


def make_batch(run_id: str, first: int, n: int) -> EventBatch:
    return EventBatch.from_records(run_id, first, [record(i) for i in range(first, first + n)])


def assert_same(got: EventBatch, want: EventBatch) -> None:
    assert got.run_id == want.run_id
    for name in ("seq", "cycle", "t_ns", "version"):
        g, w = getattr(got, name), getattr(want, name)
        assert g.dtype == w.dtype, name
        np.testing.assert_array_equal(g, w, err_msg=name)
    assert got.kind == want.kind
    assert got.entity == want.entity
    assert got.payload == want.payload
