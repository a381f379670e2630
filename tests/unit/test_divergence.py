"""The divergence report: field-level diffs, the metadata rule, and runs of one scenario
file under two code versions (a default changed) through compare, resume and replay."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from janus_sim.adapters.duckdb_store import open_store
from janus_sim.app import baseline as bl
from janus_sim.app.compare import RunSource, compare_runs
from janus_sim.app.divergence import payload_diff
from janus_sim.app.engine import Engine
from janus_sim.app.log_sink import ConfigChanged, ReplayMismatch
from janus_sim.app.run_inputs import ScenarioInput
from janus_sim.app.run_outcome import RunInterrupted
from janus_sim.app.scenario_identity import config_changes, file_identity
from janus_sim.app.verify import verify_run
from janus_sim.cli.divergence_view import divergence_json, divergence_lines
from janus_sim.config import Scenario
from janus_sim.memory_store import MemoryEventStore
from tests.cli_inprocess import cli
from tests.conftest import TINY

TEXT = yaml.safe_dump(TINY, sort_keys=False)
"""The user's file: it leaves neocortex.eta to its default."""


def _changed_default() -> Scenario:
    """What a code version with ``neocortex.eta`` defaulting to 0.012 resolves TEXT to."""
    base = Scenario.model_validate(TINY)
    assert base.neocortex.eta == 0.01
    return base.model_copy(update={"neocortex": base.neocortex.model_copy(update={"eta": 0.012})})


def _run(sc: Scenario, store: MemoryEventStore, **kw: Any) -> None:
    Engine(sc, store, run_id="r", scenario_text=TEXT, **kw).run()


def _tampered(
    store: MemoryEventStore, kind: str, change: Callable[[dict[str, Any]], None]
) -> tuple[MemoryEventStore, int]:
    """A copy of run "r" whose first ``kind`` event's payload went through ``change``."""
    batch = store.read("r")
    i = batch.kind.index(kind)
    payloads = list(batch.payload)
    doc = json.loads(payloads[i])
    change(doc)
    payloads[i] = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    copy = MemoryEventStore()
    info = store.get_run("r")
    copy.create_run(replace(info, status="running", digest=None))
    copy.append(replace(batch, payload=payloads, chain=None))
    copy.finish_run("r", "finished", None)  # its digest is unknown: compare reads events
    return copy, int(batch.seq[i])


def test_payload_diff_names_fields_indices_and_the_largest_difference() -> None:
    a = {"mean": [1.0, 2.0, 3.0], "cov": [[1.0, 0.0], [0.0, 1.0]], "n": 4, "id": "s1"}
    b = {"mean": [1.0, 2.5, 3.0], "cov": [[1.0, 0.0], [0.25, 2.0]], "n": 5, "id": "s1"}
    diffs = {d.path: d for d in payload_diff(json.dumps(a), json.dumps(b))}
    assert set(diffs) == {"mean", "cov", "n"}
    assert diffs["mean"].indices == ((1,),) and diffs["mean"].max_abs_diff == 0.5
    assert diffs["cov"].n_differ == 2 and diffs["cov"].indices == ((1, 0), (1, 1))
    assert diffs["cov"].max_abs_diff == 1.0 and diffs["cov"].size == 4
    assert (diffs["n"].expected, diffs["n"].actual) == ("4", "5")
    assert "2 of 4 elements differ at [1, 0], [1, 1]; max |diff| 1" in diffs["cov"].line()


def test_payload_diff_reports_absent_keys_shapes_and_nested_rows() -> None:
    a = {"x": [1.0, 2.0], "rows": [["calm", 3], ["crash", 1]], "gone": 1}
    b = {"x": [1.0, 2.0, 3.0], "rows": [["calm", 3], ["crash", 2]], "new": True}
    lines = [d.line() for d in payload_diff(json.dumps(a), json.dumps(b))]
    assert "gone: expected 1, actual (absent)" in lines
    assert "new: expected (absent), actual true" in lines
    assert "x: expected shape (2,), actual shape (3,)" in lines
    assert "rows[1][1]: expected 1, actual 2" in lines


def test_config_changes_name_defaults_new_and_removed_fields() -> None:
    a = {"neocortex": {"eta": 0.01, "old": 3}, "seed": 1, "name": "x"}
    b = {"neocortex": {"eta": 0.012, "tau": 0.5}, "seed": 2, "name": "y"}
    lines = [c.line() for c in config_changes(json.dumps(a), json.dumps(b), "name: y\n")]
    assert lines == [
        '`name` "x" → "y"',  # set by the file: no "default"
        "`neocortex.eta` default 0.01 → 0.012",
        "config field `neocortex.old` removed (was 3)",
        "new config field `neocortex.tau` (= 0.5)",
    ]  # the seed is matched on its own, never listed
    assert config_changes("", json.dumps(b)) == ()


def test_file_identity_is_the_files_fields_not_its_formatting() -> None:
    assert file_identity("a: 1\nb: [1, 2]\n") == file_identity("b: [1,2]\n# note\na: 1\n")
    assert file_identity("a: 1\n") != file_identity("a: 2\n")
    data = json.dumps({"market": {"data": {"sha256": "ab" * 32}}})
    assert file_identity("a: 1\n", data) != file_identity("a: 1\n")


@pytest.fixture(scope="module")
def two_versions() -> tuple[MemoryEventStore, MemoryEventStore]:
    """Run "r" of TEXT under this code (A) and under a code whose eta default is 0.012."""
    a, b = MemoryEventStore(), MemoryEventStore()
    _run(Scenario.model_validate(TINY), a)
    _run(_changed_default(), b)
    return a, b


def test_compare_across_a_changed_default_names_it_and_the_first_behavioural_event(
    two_versions: tuple[MemoryEventStore, MemoryEventStore],
) -> None:
    a, b = two_versions
    report = compare_runs(RunSource(a, "r", "v1"), RunSource(b, "r", "v2"))
    assert report.same_scenario  # the same file and seed: not "another scenario"
    assert [c.line() for c in report.config_changes] == ["`neocortex.eta` default 0.01 → 0.012"]
    d = report.first_divergence
    assert d is not None and d.seq > 0 and d.kind != "run_started"
    assert {f.path.split(".")[0] for f in d.metadata} == {"config", "scenario_hash"}
    assert d.kind in {"schema_updated", "policy_consolidated"} and d.fields
    assert d.cycle is not None and d.t_ns is not None and d.entity
    assert d.reached is not None and d.reached[0].cycle >= d.cycle
    lines = divergence_lines(d)
    assert lines[0].startswith(f"first divergent event: seq {d.seq}: {d.kind} {d.entity}")
    assert any("it reached" in line for line in lines)
    doc = divergence_json(d, report.config_changes)
    assert doc is not None and doc["config_changes"][0]["path"] == "neocortex.eta"
    assert doc["fields"][0]["path"] == d.fields[0].path
    json.dumps(doc)  # JSON-ready


def test_compare_of_the_same_code_reports_no_divergence(
    two_versions: tuple[MemoryEventStore, MemoryEventStore],
) -> None:
    a, _ = two_versions
    report = compare_runs(RunSource(a, "r"), RunSource(a, "r"))
    assert report.first_divergence is None and report.config_changes == ()


def test_a_tampered_scenario_hash_is_a_divergence_when_the_configs_agree() -> None:
    a = MemoryEventStore()
    _run(Scenario.model_validate(TINY), a)
    b, _ = _tampered(a, "run_started", lambda doc: doc.update(scenario_hash="0" * 64))
    report = compare_runs(RunSource(a, "r"), RunSource(b, "r"))
    d = report.first_divergence
    assert d is not None and d.seq == 0 and d.fields[0].path == "scenario_hash"


def _interrupted(sc: Scenario) -> MemoryEventStore:
    calls = {"n": 0}

    def stop() -> str | None:
        calls["n"] += 1
        return "SIGTERM" if calls["n"] == 4 else None

    store = MemoryEventStore()
    with pytest.raises(RunInterrupted):
        _run(sc, store, should_stop=stop)
    return store


def test_resume_across_a_changed_default_names_it_and_appends_nothing() -> None:
    store = _interrupted(Scenario.model_validate(TINY))
    stored = store.last_seq("r")
    engine = Engine(_changed_default(), store, run_id="r", scenario_text=TEXT)
    with pytest.raises(ConfigChanged) as info:
        engine.resume()
    e = info.value
    assert [c.line() for c in e.changes] == ["`neocortex.eta` default 0.01 → 0.012"]
    assert "another scenario" not in str(e) and "neocortex.eta" in str(e)
    assert store.last_seq("r") == stored  # nothing appended
    if e.divergence is not None:  # the stored prefix may hold the divergence, or not
        assert e.divergence.kind != "run_started" and e.divergence.fields


def test_verify_replay_across_a_changed_default_names_the_divergence(
    two_versions: tuple[MemoryEventStore, MemoryEventStore],
) -> None:
    a, _ = two_versions
    replay = ScenarioInput(_changed_default(), TEXT, "tiny.yaml", None)
    report = verify_run(a, "r", replay=replay)
    assert not report.ok
    assert [c.line() for c in report.config_changes] == ["`neocortex.eta` default 0.01 → 0.012"]
    d = report.divergence
    assert d is not None and d.kind != "run_started" and d.reached
    assert report.first_bad_seq == d.seq


def test_replay_mismatch_of_a_changed_payload_has_the_field_diff() -> None:
    store = MemoryEventStore()
    sc = Scenario.model_validate(TINY)
    _run(sc, store)
    bad, seq = _tampered(
        store, "schema_updated", lambda doc: doc.update(n_points=doc["n_points"] + 1)
    )
    with pytest.raises(ReplayMismatch) as info:
        Engine(sc, bad, run_id="r", scenario_text=TEXT).replay_check()
    d = info.value.divergence
    assert d is not None and d.seq == seq and d.kind == "schema_updated"
    assert [f.path for f in d.fields] == ["n_points"]
    assert "n_points" in str(info.value) and "(schema_updated" in str(info.value)


def _prepared(tmp_path: Path, sc: Scenario, base: bl.Baseline) -> bl.Prepared:
    path = tmp_path / "b.json"
    path.write_text(base.to_json())
    loaded = bl.load(path)
    assert loaded.fingerprints == base.fingerprints and loaded.config == base.config
    return bl.Prepared(str(path), loaded, sc, TEXT, sc.scenario_hash())


def test_baseline_check_across_a_changed_default_names_it_and_locates_the_event(
    tmp_path: Path,
) -> None:
    base = bl.record(ScenarioInput(Scenario.model_validate(TINY), TEXT, "tiny.yaml", None))
    assert len(base.fingerprints) == 4 * base.n_events
    result = bl.check(_prepared(tmp_path, _changed_default(), base))
    assert not result.ok
    assert not any("changed since the baseline" in p for p in result.problems)
    assert any("`neocortex.eta` default 0.01 → 0.012" in p for p in result.problems)
    d = result.report.first_divergence
    assert d is not None and d.kind != "run_started" and d.seq > 0
    # the same event the stored-log comparison names
    a, b = MemoryEventStore(), MemoryEventStore()
    _run(Scenario.model_validate(TINY), a)
    _run(_changed_default(), b)
    full = compare_runs(RunSource(a, "r"), RunSource(b, "r")).first_divergence
    assert full is not None and (d.seq, d.kind, d.entity) == (full.seq, full.kind, full.entity)


def test_baseline_check_of_unchanged_code_holds_and_a_bad_fingerprint_field_is_named(
    tmp_path: Path,
) -> None:
    sc = Scenario.model_validate(TINY)
    base = bl.record(ScenarioInput(sc, TEXT, "tiny.yaml", None))
    result = bl.check(_prepared(tmp_path, sc, base))
    assert result.ok and result.report.first_divergence is None
    doc = json.loads(base.to_json())
    doc["event_fingerprints"] = "abc"
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    with pytest.raises(bl.BaselineError, match="event_fingerprints: not base64"):
        bl.load(tmp_path / "bad.json")


def test_the_cli_names_a_changed_default_in_verify_replay_and_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A store written by "another code version" (eta default 0.012) of tiny.yaml."""
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(TEXT)
    store = open_store(tmp_path / "store")
    try:
        Engine(_changed_default(), store, run_id="r", scenario_text=TEXT).run()
    finally:
        store.close()
    code, out, _ = cli(capsys, "verify", "--store", tmp_path / "store", "--replay", "--json")
    doc = json.loads(out)
    assert code == 1 and not doc["ok"]
    (change,) = doc["divergence"]["config_changes"]
    assert change["line"] == "`neocortex.eta` default 0.012 → 0.01"
    assert doc["divergence"]["kind"] != "run_started" and doc["divergence"]["fields"]
    code, out, _ = cli(capsys, "verify", "--store", tmp_path / "store", "--replay")
    assert code == 1 and "first divergent event: seq" in out and "log " in out
    assert "another scenario" not in out
    code, _, err = cli(
        capsys,
        "run",
        scenario,
        "--store",
        tmp_path / "store",
        "--run-id",
        "r",
        "--resume",
        "--quiet",
        "--no-qdrant",
    )
    assert code == 2 and "already finished" in err  # a finished run is never resumed
