"""The doctor's pieces without processes: its perturbations, the scenario adjustment every
run shares, the verdict over stored logs (``app.doctor.diagnose``), and the command's
output and exit codes with the fresh processes replaced by in-process runs."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from janus_sim import portable_check as pc
from janus_sim.app.compare import first_divergence
from janus_sim.app.doctor import diagnose
from janus_sim.app.engine import Engine
from janus_sim.config import Scenario
from janus_sim.memory_store import MemoryEventStore
from janus_sim.ports import EventStore
from tests.cli_inprocess import cli
from tests.conftest import SMALL_PROJECTION, TINY, write_tiny


@dataclass(frozen=True)
class _Run:
    name: str
    digest: str
    n_events: int
    store: str
    error: str = ""


def _memory_run(seed: int) -> tuple[MemoryEventStore, str, int]:
    store = MemoryEventStore()
    result = Engine(Scenario.model_validate(TINY).with_seed(seed), store, run_id="doctor").run()
    return store, result.digest, result.n_events


class _Opener:
    """Opens the named in-memory stores and counts which are still open."""

    def __init__(self, stores: dict[str, MemoryEventStore]) -> None:
        self.stores = stores
        self.open = 0

    def __call__(self, path: str) -> EventStore:
        outer, store = self, self.stores[path]

        class Tracked:
            def __getattr__(self, name: str) -> object:
                return getattr(store, name)

            def close(self) -> None:
                outer.open -= 1

        self.open += 1
        return Tracked()  # type: ignore[return-value]


def test_doctor_settings_cover_threads_hash_seed_and_a_fresh_process() -> None:
    chosen = pc.doctor_settings(many_threads=3)
    assert chosen[0].name == pc.IN_PROCESS and chosen[0].env == {}
    assert chosen[1].name == "fresh process" and chosen[1].env == {}
    blas = [s.env for s in chosen if set(s.env) == set(pc.BLAS_THREADS)]
    assert [set(e.values()) for e in blas] == [{"1"}, {"3"}]
    assert [s.env for s in chosen if "NUMBA_NUM_THREADS" in s.env] == [
        {"NUMBA_NUM_THREADS": "1"},
        {"NUMBA_NUM_THREADS": "3"},
    ]
    seeds = {s.env["PYTHONHASHSEED"] for s in chosen if "PYTHONHASHSEED" in s.env}
    assert len(seeds) == 2
    assert len({s.name for s in chosen}) == len(chosen)


def test_options_travel_to_the_child_as_arguments() -> None:
    assert pc.RunOptions().argv() == []
    assert pc.RunOptions(seed=3, days=2, projection=True).argv() == [
        "--seed",
        "3",
        "--days",
        "2",
        "--projection",
    ]


def test_adjusting_forces_projection_on_and_says_so(tmp_path: Path) -> None:
    path = write_tiny(tmp_path / "t.yaml")
    inputs, notes = pc.adjusted_input(path, pc.RunOptions(projection=True))
    assert inputs.scenario.projection.enabled
    assert notes == ("projection forced on (the scenario has projection.enabled: false)",)
    assert Scenario.model_validate_json(inputs.text) == inputs.scenario


def test_an_unchanged_scenario_keeps_its_file_text(tmp_path: Path) -> None:
    path = write_tiny(tmp_path / "t.yaml", projection=SMALL_PROJECTION)
    inputs, notes = pc.adjusted_input(path, pc.RunOptions(seed=11, days=9, projection=True))
    assert notes == ()
    assert inputs.text == path.read_text() and inputs.scenario.seed == 11


@settings(max_examples=20, deadline=None)
@given(days=st.integers(1, 6))
def test_days_keeps_the_first_n_trading_days(days: int) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = write_tiny(Path(tmp) / "t.yaml")
        inputs, notes = pc.adjusted_input(path, pc.RunOptions(days=days))
    all_days = Scenario.model_validate(TINY).calendar.trading_days()
    kept = inputs.scenario.calendar.trading_days()
    assert kept == all_days[:days]
    assert bool(notes) == (days < len(all_days))
    if notes:
        assert notes[0] == (
            f"the first {days} of {len(all_days)} trading days (to {kept[-1].isoformat()})"
        )
    assert kept[-1] <= dt.date(2025, 12, 19)


def test_diagnose_names_the_first_divergent_event_of_each_different_run() -> None:
    a, digest_a, n_a = _memory_run(7)
    b, digest_b, n_b = _memory_run(8)
    opener = _Opener({"a": a, "b": b})
    runs = [
        _Run("ref", digest_a, n_a, "a"),
        _Run("same", digest_a, n_a, "a"),
        _Run("other seed", digest_b, n_b, "b"),
        _Run("broken", "", 0, "", error="exit 1: boom"),
    ]
    rows = diagnose(runs, [{}, {"X": "1"}, {}, {}], opener, "doctor")
    assert [r.same for r in rows] == [True, True, False, False]
    assert rows[1].env == {"X": "1"} and rows[1].divergence is None
    div = rows[2].divergence
    # The seed is in the first event's payload, so the logs part at once.
    assert div == first_divergence(a, "doctor", b, "doctor")
    assert div is not None and (div.seq, div.field) == (0, "payload")
    assert "run_started of cycle 0 in A" in div.detail
    assert rows[3].error == "exit 1: boom" and rows[3].divergence is None
    assert opener.open == 0  # every store it opened is closed


def test_a_failed_reference_makes_every_run_a_difference() -> None:
    runs = [_Run("ref", "", 0, "", error="exit 2: bad"), _Run("x", "d", 3, "s")]
    rows = diagnose(runs, [{}, {}], _Opener({}), "doctor")
    assert [r.same for r in rows] == [False, False]
    assert all(r.divergence is None for r in rows)


def test_diagnose_refuses_no_outcomes() -> None:
    with pytest.raises(ValueError, match="at least the reference"):
        diagnose([], [], _Opener({}), "doctor")


def _fake_check(seed_of: dict[str, int]) -> Callable[..., list[pc.Outcome]]:
    """A stand-in for ``portable_check.check``: each setting run in this process, under
    the seed ``seed_of`` gives it (default: the scenario's), into its store."""

    def check(scenario: Path, chosen: list[pc.Setting], **kw: object) -> list[pc.Outcome]:
        options = kw["options"]
        stores = kw["stores"]
        assert isinstance(options, pc.RunOptions) and isinstance(stores, Path)
        out = []
        for i, s in enumerate(chosen):
            seed = seed_of.get(s.name, options.seed)
            inputs, _ = pc.adjusted_input(scenario, pc.RunOptions(seed, options.days, True))
            o = pc.in_process(inputs, stores / f"{i:02d}")
            out.append(pc.Outcome(s, o.digest, o.n_events, store=o.store))
            progress = kw["progress"]
            assert callable(progress)
            progress(out[-1])
        return out

    return check


@pytest.mark.slow  # six in-process runs with projection on
def test_doctor_reports_a_difference_with_its_first_divergent_event(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_tiny(tmp_path / "t.yaml", projection={**SMALL_PROJECTION, "enabled": False})
    three = pc.doctor_settings()[:3]
    monkeypatch.setattr(pc, "doctor_settings", lambda: three)
    monkeypatch.setattr(pc, "check", _fake_check({"BLAS/OpenMP 1 thread": 8}))
    code, out, err = cli(capsys, "doctor", path, "--days", "2")
    assert code == 1, err
    assert "note: projection forced on" in out
    assert "BLAS/OpenMP 1 thread: first divergent event: seq" in out
    assert "DIFFERENT: 1 of 3 runs differ from the in-process run" in out
    assert "[3/3] BLAS/OpenMP 1 thread" in err

    code, out, _ = cli(capsys, "doctor", path, "--days", "2", "--json", "--quiet")
    doc = json.loads(out)
    assert code == 1 and doc["ok"] is False and doc["reference"] == "in-process"
    assert [r["same"] for r in doc["runs"]] == [True, True, False]
    assert doc["runs"][2]["divergence"]["seq"] == 0
    assert doc["notes"] == [
        "projection forced on (the scenario has projection.enabled: false)",
        "the first 2 of 3 trading days (to 2025-12-18)",
    ]


def test_doctor_refuses_bad_input_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, "doctor", tmp_path / "missing.yaml")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "missing.yaml" in err and "Traceback" not in err
    code, _, err = cli(capsys, "doctor", write_tiny(tmp_path / "t.yaml"), "--days", "0")
    assert code == 2 and "--days" in err
