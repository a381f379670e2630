"""Sweeps end to end: executors agree with runs done alone, failures are retried and
recorded, a killed sweep resumes without rerunning what finished."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import polars as pl
import pytest
import yaml

from janus_sim.adapters.duckdb_store import open_store
from janus_sim.adapters.parquet_export import READ_GLOB
from janus_sim.app.engine import Engine
from janus_sim.errors import ConfigError, StoreError
from janus_sim.sweep.executors import InlineExecutor, LocalExecutor
from janus_sim.sweep.folder import SweepFolder
from janus_sim.sweep.plan import SweepPlan, load_sweep, scenario_of
from janus_sim.sweep.results import TrialRecord
from janus_sim.sweep.run import QuietObserver, SweepInterrupted, run_sweep
from janus_sim.sweep.trial import TrialOutcome, TrialTask, run_trial
from tests.conftest import TINY
from tests.e2e.test_cli import digest_line, jsim

pytestmark = pytest.mark.e2e
MACHINE_COLUMNS = ("elapsed_s", "attempts")
"""Columns of the trials table that depend on how the sweep went, not on its results."""


def make_sweep(tmp_path: Path, doc: dict[str, object]) -> Path:
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(TINY, sort_keys=False))
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump({"scenarios": ["tiny.yaml"], **doc}, sort_keys=False))
    return path


def digests(folder: Path) -> dict[str, str]:
    df = pl.read_parquet(folder / "trials.parquet")
    return dict(zip(df["trial_id"], df["digest"], strict=True))


def results(folder: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    trials = pl.read_parquet(folder / "trials.parquet").drop(MACHINE_COLUMNS)
    return trials, pl.read_parquet(folder / "cycles.parquet")


def alone(plan: SweepPlan, tmp_path: Path) -> dict[str, str]:
    """Each trial run by itself, in this process, in a store of its own."""
    out = {}
    for t in plan.trials:
        with open_store(tmp_path / "alone" / t.trial_id) as store:
            out[t.trial_id] = Engine(scenario_of(t), store, run_id="x").run().digest
    return out


@pytest.mark.slow
def test_local_and_ray_executors_give_the_digests_of_runs_done_alone(tmp_path: Path) -> None:
    if os.environ.get("CI"):
        import ray  # in CI a missing Ray fails this test

        assert ray.__version__
    else:
        pytest.importorskip("ray")
    from janus_sim.sweep.executors import RayExecutor

    path = make_sweep(tmp_path, {"seeds": [1, 2], "grid": {"projection.enabled": [False, True]}})
    plan = load_sweep(path)
    local = run_sweep(plan, SweepFolder(tmp_path / "local"), LocalExecutor(2))
    on_ray = run_sweep(plan, SweepFolder(tmp_path / "ray"), RayExecutor(workers=2))
    assert local.count("finished") == on_ray.count("finished") == 4

    expected = alone(plan, tmp_path)
    assert digests(tmp_path / "local") == expected == digests(tmp_path / "ray")
    lt, lc = results(tmp_path / "local")
    rt, rc = results(tmp_path / "ray")
    assert lt.equals(rt) and lc.equals(rc)
    # Projection on gives the phase-3 metrics; off leaves them null.
    on = lt.filter(pl.col("param:projection.enabled"))
    assert on["n_clusters_final"].null_count() == 0
    assert lt.filter(~pl.col("param:projection.enabled"))["n_clusters_final"].null_count() == 2

    # The setting "projection off" is tiny as written: the plain CLI run is the same run.
    ran = jsim("run", tmp_path / "tiny.yaml", "--seed", "1", "--store", tmp_path / "cli")
    assert ran.returncode == 0, ran.stderr
    off = plan.trials[0]
    assert off.setting == (("projection.enabled", False),) and off.seed == 1
    assert digest_line(ran.stdout) == expected[off.trial_id]


def test_trial_events_and_tables_reach_every_trial_with_one_query(tmp_path: Path) -> None:
    path = make_sweep(tmp_path, {"seeds": [4, 5], "grid": {"replay.alpha": [0.5, 0.7]}})
    plan = load_sweep(path)
    run_sweep(plan, SweepFolder(tmp_path / "out"), InlineExecutor())
    con = duckdb.connect(str(tmp_path / "out" / "sweep.duckdb"), read_only=True)
    rows = con.execute(
        'SELECT t.trial_id, t."param:replay.alpha", count(*) FROM events e '
        "JOIN trials t ON e.run_id = t.trial_id WHERE e.kind = 'cycle_metrics' "
        "GROUP BY ALL ORDER BY 1"
    ).fetchall()
    nights = con.execute("SELECT count(*) FROM cycles").fetchone()
    con.close()
    assert len(rows) == 4 and {r[1] for r in rows} == {0.5, 0.7}
    assert all(r[2] == 3 for r in rows) and nights == (12,)
    with open_store(tmp_path / "out" / "shards" / plan.trials[0].trial_id, read_only=True) as s:
        stored = len(s.read(plan.trials[0].trial_id))
    n = pl.read_parquet(tmp_path / "out" / "trials.parquet")["n_events"][0]
    assert n == stored


def exported(folder: Path) -> dict[str, int]:
    """Events per trial in the sweep's export tree."""
    sql = (
        "SELECT run_id, count(*) FROM read_parquet("
        f"'{folder}/events/{READ_GLOB}', hive_partitioning = true) GROUP BY ALL"
    )
    return dict(duckdb.execute(sql).fetchall())


def test_a_finished_trial_whose_export_was_cut_off_is_exported_on_resume(
    tmp_path: Path,
) -> None:
    plan = load_sweep(make_sweep(tmp_path, {"seeds": [1, 2]}))
    out = tmp_path / "out"
    run_sweep(plan, SweepFolder(out), InlineExecutor())
    whole = exported(out)
    shutil.rmtree(out / "events" / "run_id=tiny-s1")  # killed after the run, before export
    again = run_sweep(plan, SweepFolder(out), InlineExecutor())
    assert again.reused == 2
    trials = pl.read_parquet(out / "trials.parquet")
    assert exported(out) == whole == dict(zip(trials["trial_id"], trials["n_events"], strict=True))


def test_a_failing_trial_is_retried_recorded_and_does_not_sink_the_sweep(
    tmp_path: Path,
) -> None:
    path = make_sweep(tmp_path, {"seeds": [1, 2, 3], "retries": 2})
    out = tmp_path / "out"
    blocked = out / "shards" / "tiny-s2"
    blocked.parent.mkdir(parents=True)
    blocked.write_text("in the way")  # the trial's store cannot be created
    (out / "sweep.json").write_text(
        json.dumps({"name": "sweep", "sweep_hash": load_sweep(path).sweep_hash})
    )
    ran = jsim("sweep", path, "--out", out, "--executor", "inline")
    assert ran.returncode == 1, ran.stderr
    assert "failed tiny-s2 after 3: StoreError: cannot create event store" in ran.stdout
    assert "3 trials: 2 finished (0 were already), 1 failed" in ran.stdout
    assert "will retry" in ran.stderr and "gave up" in ran.stderr
    df = pl.read_parquet(out / "trials.parquet")
    row = df.filter(pl.col("trial_id") == "tiny-s2").row(0, named=True)
    assert row["status"] == "failed" and row["attempts"] == 3 and row["digest"] is None
    assert "a path component is a file" in row["error"]
    lines = (out / "attempts.jsonl").read_text().splitlines()
    assert [json.loads(x)["trial_id"] for x in lines].count("tiny-s2") == 3

    blocked.unlink()  # the cause is gone: the next sweep finishes it, reruns nothing else
    again = jsim("sweep", path, "--out", out, "--executor", "inline")
    assert again.returncode == 0, again.stderr
    assert "3 trials: 3 finished (2 were already), 0 failed" in again.stdout
    rows = pl.read_parquet(out / "trials.parquet").rows(named=True)
    assert rows[1]["status"] == "finished" and rows[1]["attempts"] == 4
    assert rows[1]["error"] is None
    assert all(r["elapsed_s"] > 0 for r in rows)  # the reused trials keep their logged times


def test_a_transient_failure_costs_one_retry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import janus_sim.sweep.executors as executors

    real = run_trial
    calls: list[str] = []

    def flaky(task: TrialTask, should_stop: Callable[[], str | None]) -> TrialOutcome:
        calls.append(task.trial_id)
        if task.trial_id == "tiny-s1" and calls.count("tiny-s1") == 1:
            return TrialOutcome(task.trial_id, "failed", error="OSError: disk hiccup")
        return real(task, should_stop)

    monkeypatch.setattr(executors, "run_trial", flaky)
    plan = load_sweep(make_sweep(tmp_path, {"seeds": [1, 2], "retries": 1}))
    result = run_sweep(plan, SweepFolder(tmp_path / "out"), InlineExecutor())
    assert calls == ["tiny-s1", "tiny-s2", "tiny-s1"]
    assert [r.status for r in result.records] == ["finished", "finished"]
    assert [r.attempts for r in result.records] == [2, 1]
    assert digests(tmp_path / "out") == alone(plan, tmp_path)


def test_a_shard_cut_off_while_its_store_was_made_is_run_and_a_broken_one_fails_alone(
    tmp_path: Path,
) -> None:
    plan = load_sweep(make_sweep(tmp_path, {"seeds": [1, 2, 3]}))
    out = tmp_path / "out"
    empty = out / "shards" / "tiny-s1" / "janus.duckdb"
    empty.parent.mkdir(parents=True)
    duckdb.connect(str(empty)).close()  # what a kill between file and tables leaves
    broken = out / "shards" / "tiny-s3" / "janus.duckdb"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"not a database at all" * 100)
    (out / "sweep.json").write_text(json.dumps({"name": "sweep", "sweep_hash": plan.sweep_hash}))
    result = run_sweep(plan, SweepFolder(out), InlineExecutor())
    status = {r.trial.trial_id: r.status for r in result.records}
    assert status == {"tiny-s1": "finished", "tiny-s2": "finished", "tiny-s3": "failed"}
    failed = result.records[2]
    assert failed.error is not None and failed.error.startswith("StoreError: ")
    assert str(broken) in failed.error
    want = alone(plan, tmp_path)
    got = digests(out)
    assert got["tiny-s1"] == want["tiny-s1"] and got["tiny-s2"] == want["tiny-s2"]


def _file_digests(folder: Path) -> dict[str, str]:
    return {
        p.parent.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((folder / "shards").glob("*/janus.duckdb"))
    }


@pytest.mark.slow
def test_a_killed_sweep_resumes_without_rerunning_finished_trials(tmp_path: Path) -> None:
    path = make_sweep(tmp_path, {"seeds": [1, 2, 3, 4, 5, 6]})
    whole = tmp_path / "whole"
    ran = jsim("sweep", path, "--out", whole, "--workers", "2", "--quiet")
    assert ran.returncode == 0, ran.stderr

    out = tmp_path / "killed"
    env = {**os.environ, "COLUMNS": "200"}
    cmd = [sys.executable, "-m", "janus_sim", "sweep", str(path), "--out", str(out)]
    proc = subprocess.Popen(
        [*cmd, "--workers", "2", "--quiet"],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    log = out / "attempts.jsonl"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if log.is_file() and len(log.read_text().splitlines()) >= 2:
            break
        assert proc.poll() is None, "the sweep ended before it could be killed"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its workers, mid-trial
    proc.wait()
    finished = [json.loads(x)["trial_id"] for x in log.read_text().splitlines()]
    assert 2 <= len(finished) < 6
    before = _file_digests(out)

    resumed = jsim("sweep", path, "--out", out, "--workers", "2")
    assert resumed.returncode == 0, resumed.stderr
    # The shard is the truth: a trial whose run ended just before the kill, but whose
    # attempt line the driver had not yet written, is reused too (and not logged again).
    match = re.search(r"(\d+) already finished, not rerun", resumed.stderr)
    assert match is not None, resumed.stderr
    reused = int(match.group(1))
    assert len(finished) <= reused < 6
    after = [json.loads(x)["trial_id"] for x in log.read_text().splitlines()]
    assert after[: len(finished)] == finished
    assert len(after) == len(set(after))  # none was run twice
    everything = {f"tiny-s{i}" for i in range(1, 7)}
    assert set(after) <= everything and len(everything - set(after)) == reused - len(finished)
    now = _file_digests(out)
    assert all(now[t] == before[t] for t in finished)  # their shards were not touched
    wt, wc = results(whole)
    kt, kc = results(out)
    assert wt.equals(kt) and wc.equals(kc)
    assert exported(out) == exported(whole)


def test_a_folder_holds_one_sweep_and_one_driver(tmp_path: Path) -> None:
    a = load_sweep(make_sweep(tmp_path, {"seeds": [1]}))
    folder = SweepFolder(tmp_path / "out")
    run_sweep(a, folder, InlineExecutor())
    b = load_sweep(make_sweep(tmp_path, {"seeds": [2]}))
    with pytest.raises(ConfigError, match="holds another sweep"):
        run_sweep(b, folder, InlineExecutor())
    holder = SweepFolder(tmp_path / "out")
    holder.lock()
    try:
        busy = rf"in use by another janus-sim sweep \(PID {os.getpid()}\)"
        with pytest.raises(StoreError, match=busy):
            run_sweep(a, SweepFolder(tmp_path / "out"), InlineExecutor())
    finally:
        holder.unlock()
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("")
    with pytest.raises(ConfigError, match="is not empty and holds no sweep"):
        run_sweep(a, SweepFolder(tmp_path / "busy"), InlineExecutor())


def test_cli_dry_run_sql_and_errors(tmp_path: Path) -> None:
    path = make_sweep(tmp_path, {"seeds": [1, 2], "grid": {"replay.alpha": [0.5]}})
    dry = jsim("sweep", path, "--dry-run")
    assert dry.returncode == 0 and "tiny-s2-" in dry.stdout and "replay.alpha=0.5" in dry.stdout
    assert not (tmp_path / "sweeps").exists()

    out = tmp_path / "out"
    assert jsim("sweep", "run", path, "--out", out, "--executor", "inline").returncode == 0
    q = jsim("sweep", "sql", out, "SELECT seed, status FROM trials ORDER BY seed", "--json")
    assert q.returncode == 0, q.stderr
    assert [json.loads(x) for x in q.stdout.splitlines()] == [
        {"seed": 1, "status": "finished"},
        {"seed": 2, "status": "finished"},
    ]
    cases: list[tuple[tuple[str | Path, ...], str]] = [
        (("sweep", "sql", out, "SELEC 1"), "QUERY: Parser Error"),
        (("sweep", "sql", tmp_path / "none", "SELECT 1"), "no sweep results at"),
        (("sweep", path, "--address", "x:1"), "--address: x:1: only applies with --executor ray"),
        (("sweep", tmp_path / "nope.yaml"), "nope.yaml: no such file"),
    ]
    for args, needle in cases:
        bad = jsim(*args)
        assert bad.returncode == 2, (args, bad.stdout)
        assert needle in bad.stderr and "Traceback" not in bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1


def test_a_scenario_of_real_bars_sweeps_like_its_run_alone(tmp_path: Path) -> None:
    from tests.unit.test_market_data import CSV, REAL

    (tmp_path / "scen" / "data").mkdir(parents=True)
    (tmp_path / "scen" / "data" / "bars.csv").write_text(CSV)
    (tmp_path / "scen" / "real.yaml").write_text(yaml.safe_dump(REAL, sort_keys=False))
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump({"scenarios": ["scen/real.yaml"], "seeds": [3, 4]}))
    out = tmp_path / "out"
    assert jsim("sweep", path, "--out", out, "--executor", "inline").returncode == 0
    ran = jsim("run", tmp_path / "scen" / "real.yaml", "--seed", "4", "--store", tmp_path / "a")
    assert ran.returncode == 0, ran.stderr
    assert digests(out)["real-s4"] == digest_line(ran.stdout)


def test_sigterm_stops_the_sweep_with_exit_143_and_a_resume_hint(tmp_path: Path) -> None:
    path = make_sweep(tmp_path, {"seeds": [1, 2, 3, 4]})
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "janus_sim", "sweep", str(path), "--out", str(out)]
    proc = subprocess.Popen(
        [*cmd, "--workers", "2"], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    log = out / "attempts.jsonl"
    deadline = time.monotonic() + 120
    while not (log.is_file() and log.read_text().strip()) and time.monotonic() < deadline:
        assert proc.poll() is None, "the sweep ended before it could be stopped"
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)  # the driver only: it must stop its workers itself
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert f"Resume with: janus-sim sweep {path} --out {out}" in err
    again = jsim("sweep", path, "--out", out, "--workers", "2", "--quiet")
    assert again.returncode == 0, again.stderr
    assert digests(out) == alone(load_sweep(path), tmp_path)


def test_the_stop_flag_stops_a_sweep_between_trials_and_a_resume_finishes_it(
    tmp_path: Path,
) -> None:
    """The cooperative stop: once the flag names a signal, no further trial starts and the
    sweep raises SweepInterrupted with that name; running it again finishes the rest."""
    plan = load_sweep(make_sweep(tmp_path, {"seeds": [1, 2]}))
    folder = SweepFolder(tmp_path / "out")
    finished: list[str] = []

    class Watch(QuietObserver):
        def trial_done(self, record: TrialRecord, will_retry: bool) -> None:
            finished.append(record.trial.trial_id)

    with pytest.raises(SweepInterrupted) as stopped:
        run_sweep(
            plan,
            folder,
            InlineExecutor(),
            observer=Watch(),
            should_stop=lambda: "SIGTERM" if finished else None,
        )
    assert stopped.value.signal_name == "SIGTERM"
    assert finished == ["tiny-s1"]
    again = run_sweep(plan, SweepFolder(tmp_path / "out"), InlineExecutor())
    assert again.reused == 1 and again.count("finished") == 2


def test_a_stop_inside_an_inline_trial_interrupts_the_sweep_not_the_trial_record(
    tmp_path: Path,
) -> None:
    """With the inline executor the trial's engine reads the flag at each batch: the stop
    leaves as SweepInterrupted, and the trial is not recorded as failed."""
    plan = load_sweep(make_sweep(tmp_path, {"seeds": [1]}))
    calls = {"n": 0}

    def stop_at_the_third_batch() -> str | None:
        calls["n"] += 1
        return "SIGINT" if calls["n"] >= 4 else None

    with pytest.raises(SweepInterrupted) as stopped:
        run_sweep(
            plan,
            SweepFolder(tmp_path / "out"),
            InlineExecutor(),
            should_stop=stop_at_the_third_batch,
        )
    assert stopped.value.signal_name == "SIGINT"
    attempts = tmp_path / "out" / "attempts.jsonl"
    assert not attempts.exists() or "failed" not in attempts.read_text()
    again = run_sweep(plan, SweepFolder(tmp_path / "out"), InlineExecutor())
    assert again.count("finished") == 1
