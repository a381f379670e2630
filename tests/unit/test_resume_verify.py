"""Resume after an early stop, cooperative interruption, and verify (incl. tampering)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from janus_sim.adapters.duckdb_store import open_store
from janus_sim.app.engine import Engine
from janus_sim.app.log_sink import ReplayMismatch
from janus_sim.app.run_outcome import Observer, RunInterrupted
from janus_sim.app.verify import verify_run
from janus_sim.config import Scenario
from janus_sim.errors import StoreError
from janus_sim.memory_store import MemoryEventStore
from janus_sim.wiring import stored_scenario


class _FailOnce(Observer):
    def __init__(self, cycle: int) -> None:
        self.cycle = cycle

    def cycle_finished(self, cycle: int, date: str, metrics: dict[str, float]) -> None:
        if cycle == self.cycle:
            raise RuntimeError("power cut")


def _stop_after(n_flushes: int) -> Callable[[], str | None]:
    calls = {"n": 0}

    def should_stop() -> str | None:
        calls["n"] += 1
        return "SIGTERM" if calls["n"] == n_flushes else None

    return should_stop


def _interrupted(sc: Scenario, n_flushes: int) -> tuple[MemoryEventStore, RunInterrupted]:
    """A store holding run "r" stopped by SIGTERM at its ``n_flushes``-th batch boundary."""
    store = MemoryEventStore()
    engine = Engine(sc, store, run_id="r", should_stop=_stop_after(n_flushes))
    with pytest.raises(RunInterrupted) as info:
        engine.run()
    return store, info.value


@pytest.mark.parametrize("fail_cycle", [1, 2, 3])
def test_resume_after_a_failure_gives_the_uninterrupted_digest(
    tiny_scenario: Scenario, fail_cycle: int
) -> None:
    whole = Engine(tiny_scenario, MemoryEventStore(), run_id="r").run()
    store = MemoryEventStore()
    with pytest.raises(RuntimeError):
        Engine(tiny_scenario, store, run_id="r", observer=_FailOnce(fail_cycle)).run()
    assert store.get_run("r").status == "failed"
    resumed = Engine(tiny_scenario, store, run_id="r").resume()
    assert resumed.digest == whole.digest
    assert store.get_run("r").status == "finished" and store.get_run("r").digest == whole.digest
    assert verify_run(store, "r", replay=stored_scenario(store.get_run("r"))).ok


@pytest.mark.parametrize("n_flushes", [1, 2, 4, 7])
def test_interrupt_stops_at_a_batch_boundary_and_resumes(
    tiny_scenario: Scenario, n_flushes: int
) -> None:
    whole = Engine(tiny_scenario, MemoryEventStore(), run_id="r").run()
    store, stopped = _interrupted(tiny_scenario, n_flushes)
    assert stopped.signal_name == "SIGTERM"
    run = store.get_run("r")
    assert run.status == "interrupted" and "resume with --resume" in (run.message or "")
    assert store.last_seq("r") + 1 == stopped.next_seq  # whole batches only
    assert Engine(tiny_scenario, store, run_id="r").resume().digest == whole.digest


def test_resume_refuses_finished_runs_and_other_scenarios(tiny_scenario: Scenario) -> None:
    store = MemoryEventStore()
    Engine(tiny_scenario, store, run_id="r").run()
    with pytest.raises(StoreError, match="already finished; nothing to resume"):
        Engine(tiny_scenario, store, run_id="r").resume()
    with pytest.raises(StoreError, match="started from another scenario file or seed"):
        Engine(tiny_scenario.with_seed(99), store, run_id="r").resume()


def test_resume_with_changed_code_names_the_first_divergence(tiny_scenario: Scenario) -> None:
    store = MemoryEventStore()
    with pytest.raises(RuntimeError):
        Engine(tiny_scenario, store, run_id="r", observer=_FailOnce(2)).run()
    # Stand-in for a code change: same scenario hash, different behaviour.
    changed = tiny_scenario.model_copy(
        update={"agent": tiny_scenario.agent.model_copy(update={"epsilon": 0.5})}
    )
    object.__setattr__(changed, "scenario_hash", tiny_scenario.scenario_hash)
    with pytest.raises(ReplayMismatch, match=r"event \d+ payload is"):
        Engine(changed, store, run_id="r").resume()


@pytest.fixture
def stored_run(tiny_scenario: Scenario, tmp_path: Path) -> Path:
    store = open_store(tmp_path)
    Engine(tiny_scenario, store, run_id="r").run()
    store.close()
    return tmp_path / "janus.duckdb"


def _tamper(db: Path, sql: str) -> None:
    con = duckdb.connect(str(db))
    con.execute(sql)
    con.close()


def _verify(db: Path, replay: bool = False) -> object:
    store = open_store(db, read_only=True)
    try:
        inputs = stored_scenario(store.get_run("r")) if replay else None
        return verify_run(store, "r", replay=inputs)
    finally:
        store.close()


def test_verify_accepts_an_untouched_run(stored_run: Path) -> None:
    report = _verify(stored_run, replay=True)
    assert report.ok and report.replayed  # type: ignore[attr-defined]


def test_verify_names_an_altered_event(stored_run: Path) -> None:
    con = duckdb.connect(str(stored_run))
    (target,) = con.execute(
        "SELECT min(seq) FROM events WHERE kind = 'transition_recorded' "
        "AND payload LIKE '%\"action\":2%'"
    ).fetchone()  # type: ignore[misc]
    con.execute(
        "UPDATE events SET payload = replace(payload, '\"action\":2', '\"action\":0') "
        "WHERE seq = ?",
        [target],
    )
    con.close()
    plain = _verify(stored_run)
    assert not plain.ok  # type: ignore[attr-defined]
    assert any("digest does not match" in p for p in plain.problems)  # type: ignore[attr-defined]
    replayed = _verify(stored_run, replay=True)
    assert replayed.first_bad_seq == target  # type: ignore[attr-defined]
    assert any(f"event {target}: payload is" in p for p in replayed.problems)  # type: ignore[attr-defined]


def test_verify_names_a_deleted_event(stored_run: Path) -> None:
    _tamper(stored_run, "DELETE FROM events WHERE seq = 30")
    report = _verify(stored_run)
    assert report.first_bad_seq == 30  # type: ignore[attr-defined]
    assert "not gap-free" in report.problems[0]  # type: ignore[attr-defined]


def test_verify_names_reordered_events(stored_run: Path) -> None:
    _tamper(
        stored_run,
        "UPDATE events SET seq = CASE seq WHEN 40 THEN 41 ELSE 40 END WHERE seq IN (40, 41)",
    )
    report = _verify(stored_run, replay=True)
    assert report.first_bad_seq == 40  # type: ignore[attr-defined]


@pytest.mark.parametrize("fail_cycle", [1, 2, 3])
def test_resume_from_the_last_checkpoint_gives_the_uninterrupted_digest(
    tiny_scenario: Scenario, fail_cycle: int
) -> None:
    whole = Engine(tiny_scenario, MemoryEventStore(), run_id="r").run()
    store = MemoryEventStore()
    with pytest.raises(RuntimeError):
        Engine(tiny_scenario, store, run_id="r", observer=_FailOnce(fail_cycle)).run()
    resumed = Engine(tiny_scenario, store, run_id="r").resume(from_checkpoint=True)
    assert resumed.digest == whole.digest and resumed.n_events == whole.n_events
    assert resumed.metrics == whole.metrics and resumed.dates == whole.dates
    assert verify_run(store, "r", replay=stored_scenario(store.get_run("r"))).ok


@pytest.mark.parametrize("n_flushes", [1, 2, 4, 7])
def test_resume_from_checkpoint_after_an_interrupt_anywhere(
    tiny_scenario: Scenario, n_flushes: int
) -> None:
    whole = Engine(tiny_scenario, MemoryEventStore(), run_id="r").run()
    store, _ = _interrupted(tiny_scenario, n_flushes)
    resumed = Engine(tiny_scenario, store, run_id="r").resume(from_checkpoint=True)
    assert resumed.digest == whole.digest


def test_resume_from_checkpoint_skips_the_stored_nights(tiny_scenario: Scenario) -> None:
    """The point of the checkpoint: nights before it are restored, not re-simulated."""
    store = MemoryEventStore()
    with pytest.raises(RuntimeError):
        Engine(tiny_scenario, store, run_id="r", observer=_FailOnce(2)).run()

    class _Days(Observer):
        def __init__(self) -> None:
            self.days: list[int] = []

        def day_started(self, day: int, date: str) -> None:
            self.days.append(day)

    days = _Days()
    Engine(tiny_scenario, store, run_id="r", observer=days).resume(from_checkpoint=True)
    assert days.days == [2]  # cycles 1-2 came from the checkpoint


def test_a_damaged_checkpoint_falls_back_to_the_full_replay(
    tiny_scenario: Scenario, tmp_path: Path
) -> None:
    store = open_store(tmp_path)
    with pytest.raises(RuntimeError):
        Engine(tiny_scenario, store, run_id="r", observer=_FailOnce(2)).run()
    store.close()
    db = tmp_path / "janus.duckdb"
    con = duckdb.connect(str(db))
    (cp_seq,) = con.execute(
        "SELECT max(seq) FROM events WHERE kind = 'state_checkpoint'"
    ).fetchone()  # type: ignore[misc]
    con.execute(
        "UPDATE events SET payload = "
        "replace(payload, '\"buffer_next_id\":', '\"buffer_next_id\":9') WHERE seq = ?",
        [cp_seq],
    )
    con.close()
    store = open_store(tmp_path)
    try:
        # The restore refuses the checkpoint; the full re-simulation names it.
        with pytest.raises(ReplayMismatch) as info:
            Engine(tiny_scenario, store, run_id="r").resume(from_checkpoint=True)
        assert info.value.seq == cp_seq and "payload is" in info.value.problem
    finally:
        store.close()


_TAMPERING = {
    "alter": "UPDATE events SET payload = replace(payload, '\"reward\":', '\"reward\":1') "
    "WHERE seq = 30",
    "delete": "DELETE FROM events WHERE seq = 30",
    "insert": "UPDATE events SET seq = seq + 1 WHERE seq >= 30; "
    "INSERT INTO events SELECT run_id, 30, cycle, t_ns, kind, entity, version, payload, chain "
    "FROM events WHERE seq = 29",
    "reorder": "UPDATE events SET seq = CASE seq WHEN 30 THEN 31 ELSE 30 END WHERE seq IN (30, 31)",
    "rewrite the hash too": "UPDATE events SET payload = replace(payload, '\"reward\":', "
    "'\"reward\":1'), chain = sha256('forged')::BLOB WHERE seq = 30",
}


@pytest.mark.hostile("verify", kind="tamper")
@pytest.mark.parametrize("how", list(_TAMPERING))
def test_verify_names_the_first_tampered_event_without_replay(stored_run: Path, how: str) -> None:
    """The hash chain alone finds every kind of tampering, at its exact sequence number."""
    con = duckdb.connect(str(stored_run))
    assert con.execute("SELECT kind FROM events WHERE seq = 30").fetchall() == [
        ("transition_recorded",)
    ]
    con.close()
    _tamper(stored_run, _TAMPERING[how])
    report = _verify(stored_run)
    assert not report.ok  # type: ignore[attr-defined]
    assert report.first_bad_seq == 30, report.problems  # type: ignore[attr-defined]
