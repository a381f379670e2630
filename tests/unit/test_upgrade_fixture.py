"""Logs written by earlier versions stay readable: every committed fixture still folds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from janus_sim.app.timetravel import Moment, state_at
from janus_sim.core import events as ev
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


V010 = Path(__file__).resolve().parents[1] / "fixtures" / "event_log_v0_1_0.jsonl"


def test_v1_schema_updates_upcast_to_unknown_membership() -> None:
    """The fixture's schema_updated rows are v1 and decode, through ``upcast_v1``, into v2
    events that say their membership is unknown (not empty), keeping their counts."""
    _, batch = _load(V010)
    rows = [s.record for s in batch.records() if s.record.kind == "schema_updated"]
    assert rows and {r.version for r in rows} == {1}  # the upcast has real data to run on
    assert ev.SchemaUpdated.VERSION == 2
    for r in rows:
        e = decode(r)
        assert isinstance(e, ev.SchemaUpdated)
        assert e.joined is None and e.joined_mahalanobis_sq is None
        assert not e.membership_known
        assert e.points_added == json.loads(r.payload)["points_added"] > 0


@pytest.fixture(scope="module")
def v010_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The v0.1.0 fixture in a DuckDB store, as a store of that version holds it."""
    from janus_sim.adapters.duckdb_store import DuckDBEventStore
    from janus_sim.ports import RunInfo

    meta, batch = _load(V010)
    path = tmp_path_factory.mktemp("v010") / "janus.duckdb"
    with DuckDBEventStore(path) as store:
        store.create_run(RunInfo("fixture", "tiny", "", "", "", 7, str(meta["janus_sim"])))
        store.append(batch)
        store.finish_run("fixture", "finished", str(meta["digest"]))
    return path


def test_at_diff_and_verify_read_the_v010_log(
    capsys: pytest.CaptureFixture[str], v010_store: Path
) -> None:
    from tests.cli_inprocess import cli

    code, out, err = cli(capsys, "verify", "--store", v010_store, "--run", "fixture")
    assert code == 0, (out, err)
    code, out, err = cli(capsys, "at", "end", "--store", v010_store, "--run", "fixture", "--json")
    assert code == 0 and json.loads(out)["schemas"], (out, err)
    args = ("--store", v010_store, "--run", "fixture")
    code, out, err = cli(capsys, "diff", "cycle:0", "end", *args, "--json")
    assert code == 0, (out, err)
    d = json.loads(out)
    assert d["created"] and all(d["points"][sid] >= 1 for sid in d["created"])
    # Who founded each schema is known (schema_created); who joined later is not (v1).
    unknown = [j for j in d["joined"].values() if not j["membership_known"]]
    assert unknown and all(j["count"] > len(j["transitions"]) for j in unknown)
    code, out, err = cli(capsys, "diff", "cycle:0", "end", *args)
    assert code == 0 and "not recorded" in out, (out, err)
    page = v010_store.parent / "report.html"
    code, out, err = cli(capsys, "report", *args, "-o", page)
    assert code == 0, (out, err)
    browser = page.read_text().split('<section id="schemas">')[1].split("</section>")[0]
    assert "(founder)</li>" in browser and "more: who: not recorded" in browser
