"""Logs written by earlier versions stay readable: every committed fixture still folds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from janus_sim.app.timetravel import Moment, state_at
from janus_sim.core.codec import EncodedEvent, decode
from janus_sim.eventlog import EventBatch, digest_of

FIXTURES = sorted(
    Path(__file__).resolve().parents[1].joinpath("fixtures").glob("event_log_*.jsonl")
)


def _load(path: Path) -> tuple[dict[str, object], EventBatch]:
    lines = path.read_text().splitlines()
    meta = json.loads(lines[0])
    rows = [json.loads(x) for x in lines[1:]]
    records = [
        EncodedEvent(r["kind"], r["version"], r["cycle"], r["t_ns"], r["entity"], r["payload"])
        for r in rows
    ]
    batch = EventBatch.from_records("fixture", 0, records)
    assert batch.seq.tolist() == [r["seq"] for r in rows]
    return meta, batch


def test_there_is_a_fixture() -> None:
    assert FIXTURES, (
        "commit at least one event log fixture (python -m tests.fixtures.make_event_log)"
    )


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_fixture_decodes_folds_and_keeps_its_digest(path: Path) -> None:
    from janus_sim.memory_store import MemoryEventStore
    from janus_sim.ports import RunInfo

    meta, batch = _load(path)
    assert digest_of([batch]) == meta["digest"] and len(batch) == meta["n_events"]
    for stored in batch.records():
        decode(stored.record)  # every payload version upcasts to the current one
    store = MemoryEventStore()
    store.create_run(RunInfo("fixture", "tiny", "", "", "", 7, str(meta["janus_sim"])))
    store.append(batch)
    state, last = state_at(store, "fixture", Moment())
    assert last == len(batch) - 1 and state.finished
    assert state.buffer is not None and state.buffer.next_id > 0
