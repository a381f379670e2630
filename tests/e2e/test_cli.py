"""The command line as a user drives it, in separate processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import SMALL_PROJECTION, write_tiny

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def jsim(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "janus_sim", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env=env,
        timeout=300,
    )


def digest_line(out: str) -> str:
    lines = [ln for ln in out.splitlines() if ln.startswith("digest")]
    assert len(lines) == 1, out
    return lines[0].split()[1]


def test_same_seed_same_digest_in_two_processes(tiny_file: Path, tmp_path: Path) -> None:
    a = jsim("run", tiny_file, "--store", tmp_path / "a", "--quiet")
    b = jsim("run", tiny_file, "--store", tmp_path / "b", "--quiet")
    c = jsim("run", tiny_file, "--store", tmp_path / "c", "--quiet", "--seed", "8")
    for p in (a, b, c):
        assert p.returncode == 0, p.stderr
    assert digest_line(a.stdout) == digest_line(b.stdout)
    assert digest_line(a.stdout) != digest_line(c.stdout)
    assert len(digest_line(a.stdout)) == 64


def test_run_then_query_runs_and_events(tiny_file: Path, tmp_path: Path) -> None:
    store = tmp_path / "s"
    ran = jsim("run", tiny_file, "--store", store, "--run-id", "mine")
    assert ran.returncode == 0, ran.stderr
    assert "Sleep cycles of mine" in ran.stdout and "2025-12-18" in ran.stdout

    runs = jsim("runs", "--store", store, "--json")
    assert runs.returncode == 0, runs.stderr
    info = json.loads(runs.stdout.splitlines()[0])
    assert info["run_id"] == "mine" and info["status"] == "finished"
    assert info["digest"] == digest_line(ran.stdout)
    assert {"numpy", "scipy", "duckdb", "polars"} <= set(info["versions"])

    ev = jsim("events", "--store", store, "--kind", "cycle_metrics", "--json")
    lines = [json.loads(x) for x in ev.stdout.splitlines()]
    assert [x["cycle"] for x in lines] == [1, 2, 3]
    assert "mean_abs_td_before" in dict(lines[0]["payload"]["metrics"])

    tail = jsim("events", "--store", store, "--tail", "--limit", "1", "--json")
    assert json.loads(tail.stdout)["kind"] == "run_finished"

    window = jsim(
        "events",
        "--store",
        store,
        "--kind",
        "transition_recorded",
        "--since",
        "2025-12-18T09:35",
        "--until",
        "2025-12-18T09:40",
        "--json",
    )
    times = [json.loads(x)["t"] for x in window.stdout.splitlines()]
    assert times[0] == "2025-12-18T09:35:00" and times[-1] == "2025-12-18T09:40:00"

    table = jsim("events", "--store", store, "--cycle", "2", "--limit", "3")
    assert table.returncode == 0 and "day_opened" in table.stdout


def test_shim_and_schema(tmp_path: Path) -> None:
    p = subprocess.run(
        [sys.executable, "cli.py", "schema"], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert p.returncode == 0, p.stderr
    schema = json.loads(p.stdout)
    assert schema["title"] == "Scenario" and "replay" in schema["properties"]


def _one_line_error(p: subprocess.CompletedProcess[str]) -> str:
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert "Traceback" not in p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, p.stderr
    return lines[0]


def test_bad_scenario_is_exit_2_one_line(tiny_dict: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    tiny_dict["replay"]["alpha"] = 1.5
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(tiny_dict))
    line = _one_line_error(jsim("run", bad, "--store", tmp_path / "s"))
    assert "bad.yaml: replay.alpha: Input should be less than or equal to 1 (got 1.5)" in line
    assert not (tmp_path / "s").exists()  # nothing written for a scenario that never ran


def test_missing_file_is_exit_2(tmp_path: Path) -> None:
    line = _one_line_error(jsim("run", tmp_path / "nope.yaml"))
    assert "nope.yaml: no such file" in line


def test_from_checkpoint_needs_resume(tiny_file: Path, tmp_path: Path) -> None:
    line = _one_line_error(jsim("run", tiny_file, "--store", tmp_path / "s", "--from-checkpoint"))
    assert "--from-checkpoint: only applies with --resume" in line
    assert not (tmp_path / "s").exists()


def test_unwritable_store_is_exit_2(tiny_file: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    line = _one_line_error(jsim("run", tiny_file, "--store", blocker / "store"))
    assert str(blocker / "store") in line


def test_query_without_store_is_exit_2(tmp_path: Path) -> None:
    line = _one_line_error(jsim("events", "--store", tmp_path / "none"))
    assert "no event store at" in line


def test_unknown_kind_and_bad_time_are_exit_2(tiny_file: Path, tmp_path: Path) -> None:
    assert jsim("run", tiny_file, "--store", tmp_path, "--quiet").returncode == 0
    assert "unknown kind 'transition'" in _one_line_error(
        jsim("events", "--store", tmp_path, "--kind", "transition")
    )
    assert "expected YYYY-MM-DD" in _one_line_error(
        jsim("events", "--store", tmp_path, "--since", "yesterday")
    )
    assert "no run 'ghost'" in _one_line_error(
        jsim("events", "--store", tmp_path, "--run", "ghost")
    )


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["portable", "umap-learn"])
def test_digest_does_not_depend_on_thread_counts(tmp_path: Path, backend: str) -> None:
    """Every thread pool (BLAS/OpenMP/MKL and numba: ``portable_check.thread_settings``) at
    1 and at 2 threads, each run in a fresh process, with projection on: the map, clusters
    and projector are where numba kernels and thread pools run; umap-learn's map has
    numba-parallel kernels of its own. ``janus-sim doctor`` varies the pools one by one."""
    from janus_sim import portable_check as pc

    projection = {**SMALL_PROJECTION, "map_backend": backend}
    path = write_tiny(tmp_path / "t.yaml", projection=projection)
    pools = pc.thread_settings(many=2)
    chosen = [
        pc.Setting(f"{n} threads", {k: v for s in pools for k, v in s.env.items() if v == n})
        for n in ("1", "2")
    ]
    assert all(len(s.env) == len(pc.BLAS_THREADS) + 1 for s in chosen)
    outcomes = pc.check(path, chosen)
    table = "\n".join(f"{o.name:24} {o.digest[:16] or o.error} {o.n_events}" for o in outcomes)
    assert all(not o.error for o in outcomes), table
    assert len({(o.digest, o.n_events) for o in outcomes}) == 1, table
    # Phase 3 ran: its events (projection_fitted, ...) are on top of the 430 without it.
    assert outcomes[0].n_events > 450, table


def test_time_travel_and_verify(tiny_file: Path, tmp_path: Path) -> None:
    assert jsim("run", tiny_file, "--store", tmp_path, "--quiet").returncode == 0
    fri = jsim("at", "2025-12-19", "--store", tmp_path, "--json")
    assert fri.returncode == 0, fri.stderr
    doc = json.loads(fri.stdout)
    assert doc["cycle"] == 3 and doc["as_of"] == "2025-12-19"
    assert "is after run" in _one_line_error(jsim("at", "2025-12-20", "--store", tmp_path))
    end = json.loads(jsim("at", "--store", tmp_path, "--json").stdout)
    assert [s["id"] for s in doc["schemas"]] == [s["id"] for s in end["schemas"]]
    table = jsim("at", "--cycle", "1", "--store", tmp_path)
    assert table.returncode == 0 and "as of cycle 1" in table.stdout
    assert "is before run" in _one_line_error(jsim("at", "2025-12-01", "--store", tmp_path))
    assert "not a date or timestamp" in _one_line_error(
        jsim("at", "2025-13-40", "--store", tmp_path)
    )
    assert "give one of WHEN" in _one_line_error(
        jsim("at", "2025-12-18", "--cycle", "1", "--store", tmp_path)
    )
    same = jsim("diff", "end", "end", "--store", tmp_path)
    assert same.returncode == 0 and "no difference" in same.stdout
    d = json.loads(jsim("diff", "cycle:1", "end", "--store", tmp_path, "--json").stdout)
    assert set(d) == {"a", "b", "created", "pruned", "updated", "metrics", "points", "joined"}
    assert "cycle:N" in _one_line_error(jsim("diff", "cycle:x", "end", "--store", tmp_path))
    ok = jsim("verify", "--store", tmp_path, "--replay")
    assert ok.returncode == 0 and ok.stdout.startswith("ok")


def test_vector_store_search_and_rebuild(tiny_file: Path, tmp_path: Path) -> None:
    assert jsim("run", tiny_file, "--store", tmp_path, "--quiet").returncode == 0
    nights = sorted((tmp_path / "snapshots" / "janus_tiny-s7").iterdir())
    assert [p.name for p in nights] == ["cycle-0001.jsonl", "cycle-0002.jsonl", "cycle-0003.jsonl"]
    live = json.loads(jsim("at", "--store", tmp_path, "--json").stdout)
    hits = jsim("search", "--transition", "5", "-k", "50", "--store", tmp_path, "--json")
    assert hits.returncode == 0, hits.stderr
    found = [json.loads(x)["schema_id"] for x in hits.stdout.splitlines()]
    assert sorted(found) == sorted(s["id"] for s in live["schemas"])
    rebuilt = jsim("rebuild", "--qdrant", "--store", tmp_path)
    assert rebuilt.returncode == 0 and f"{len(found)} schemas" in rebuilt.stdout
    again = jsim("search", "--transition", "5", "-k", "50", "--store", tmp_path, "--json")
    assert again.stdout == hits.stdout  # the rebuilt collection answers the same
    assert "dimension 3" in _one_line_error(jsim("search", "--state", "1,2,3", "--store", tmp_path))


def test_restore_a_night_and_its_refusals(tiny_file: Path, tmp_path: Path) -> None:
    assert jsim("run", tiny_file, "--store", tmp_path, "--quiet").returncode == 0
    first = jsim("at", "--cycle", "1", "--store", tmp_path, "--json")
    ok = jsim("restore", "--qdrant", "--cycle", "1", "--store", tmp_path)
    assert ok.returncode == 0, ok.stderr
    n = len(json.loads(first.stdout)["schemas"])
    assert f"as of cycle 1: {n} schemas of run tiny-s7" in ok.stdout
    hits = jsim("search", "--transition", "5", "-k", "50", "--store", tmp_path, "--json")
    assert len(hits.stdout.splitlines()) == n  # the collection is night 1's again
    line = _one_line_error(jsim("restore", "--qdrant", "--cycle", "9", "--store", tmp_path))
    assert line == "janus-sim: error: run 'tiny-s7' has no night 9: its nights are 1-3"
    night = tmp_path / "snapshots" / "janus_tiny-s7" / "cycle-0002.jsonl"
    night.write_text(night.read_text() + "\n")
    line = _one_line_error(jsim("restore", "--qdrant", "--cycle", "2", "--store", tmp_path))
    assert f"snapshot {night} does not match the log" in line
    night.unlink()
    line = _one_line_error(jsim("restore", "--qdrant", "--cycle", "2", "--store", tmp_path))
    assert line.endswith("snapshots are kept for cycles: 1, 3")
    assert "exactly one of --state or --transition" in _one_line_error(
        jsim("search", "--store", tmp_path)
    )


def test_unreachable_qdrant_is_exit_2_and_writes_nothing(tiny_file: Path, tmp_path: Path) -> None:
    line = _one_line_error(
        jsim(
            "run",
            tiny_file,
            "--store",
            tmp_path / "s",
            "--quiet",
            "--qdrant-url",
            "http://127.0.0.1:9",
        )
    )
    assert "Qdrant at http://127.0.0.1:9 does not answer" in line
    assert not (tmp_path / "s" / "janus.duckdb").exists()
