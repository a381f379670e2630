"""Readers while a run writes the same store; a second writer of the same run is refused."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.test_cli import digest_line, jsim
from tests.e2e.test_kill_resume import _start

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def long_file(tiny_dict: dict[str, Any], tmp_path: Path) -> Path:
    """Several seconds of work, many batches: time for readers to come in between."""
    tiny_dict["calendar"]["end"] = "2025-12-31"
    tiny_dict["calendar"]["bars_per_day"] = 120
    tiny_dict["replay"]["n_replays"] = 1000
    path = tmp_path / "long.yaml"
    path.write_text(yaml.safe_dump(tiny_dict))
    return path


@pytest.mark.hostile("run", kind="concurrent")
def test_readers_see_committed_events_while_a_run_writes(long_file: Path, tmp_path: Path) -> None:
    store = tmp_path / "s"
    writer = _start(long_file, store, "--run-id", "w")
    seen: list[int] = []
    at_ok = 0
    try:
        deadline = time.monotonic() + 120
        while writer.poll() is None and time.monotonic() < deadline:
            if not (store / "janus.duckdb").exists():
                time.sleep(0.05)
                continue
            tail = jsim(
                "events", "--store", store, "--run", "w", "--tail", "--limit", "1", "--json"
            )
            if tail.returncode == 2 and "no run 'w'" in tail.stderr:
                continue  # the store exists, the run row is not committed yet
            assert tail.returncode == 0, tail.stderr
            assert "lock" not in tail.stderr.lower() or "waiting" in tail.stderr
            seen.append(json.loads(tail.stdout.splitlines()[-1])["seq"])
            at = jsim("at", "--store", store, "--run", "w", "--cycle", "1", "--json")
            if at.returncode == 0:
                at_ok += 1
                assert isinstance(json.loads(at.stdout), dict)
            else:  # before the first night has committed
                assert at.returncode == 2 and "Traceback" not in at.stderr, at.stderr
                assert "lock" not in at.stderr.lower(), at.stderr
        out, err = writer.communicate(timeout=120)
    finally:
        if writer.poll() is None:
            writer.kill()
    assert writer.returncode == 0, err
    # Readers came in while the log grew, and only ever saw a growing, committed prefix.
    assert len(set(seen)) >= 2, seen
    assert seen == sorted(seen)
    assert at_ok >= 1
    alone = jsim("run", long_file, "--store", tmp_path / "alone", "--quiet", "--run-id", "w")
    assert digest_line(out) == digest_line(alone.stdout)  # readers changed nothing
    assert jsim("verify", "--store", store, "--run", "w").returncode == 0


@pytest.mark.hostile("run", kind="concurrent")
def test_a_second_writer_of_the_same_run_is_refused(long_file: Path, tmp_path: Path) -> None:
    store = tmp_path / "s"
    writer = _start(long_file, store, "--run-id", "w", "--no-qdrant")
    try:
        deadline = time.monotonic() + 60
        while not (store / "janus.duckdb").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        assert writer.poll() is None, "finished too fast; make the fixture longer"
        second = jsim(
            "run",
            long_file,
            "--store",
            store,
            "--run-id",
            "w",
            "--resume",
            "--quiet",
            "--no-qdrant",
        )
        assert second.returncode == 2, second.stderr
        assert "is being written by another janus-sim process" in second.stderr
        assert f"PID {writer.pid}" in second.stderr and "Traceback" not in second.stderr
        _, err = writer.communicate(timeout=120)
    finally:
        if writer.poll() is None:
            writer.kill()
    assert writer.returncode == 0, err
    runs = [json.loads(x) for x in jsim("runs", "--store", store, "--json").stdout.splitlines()]
    assert [(r["run_id"], r["status"]) for r in runs] == [("w", "finished")]


@pytest.mark.hostile("run", kind="concurrent")
def test_two_runs_share_a_store(long_file: Path, tmp_path: Path) -> None:
    """A second run (another id) on the same store proceeds; both logs are whole."""
    store = tmp_path / "s"
    first = _start(long_file, store, "--run-id", "a", "--no-qdrant")
    time.sleep(1.0)
    second = _start(long_file, store, "--run-id", "b", "--no-qdrant", "--seed", "8")
    outs = [p.communicate(timeout=180) for p in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, outs
    for run in ("a", "b"):
        check = jsim("verify", "--store", store, "--run", run)
        assert check.returncode == 0, check.stdout
