"""Kill a real `janus-sim run` process (SIGKILL, SIGTERM), resume it, get the same digest."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.test_cli import ROOT, digest_line, jsim

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def long_file(tiny_dict: dict[str, Any], tmp_path: Path) -> Path:
    """A few seconds of work (3.5 s on a fast 2-core machine): long enough to be killed at
    several points."""
    tiny_dict["calendar"]["bars_per_day"] = 120
    tiny_dict["replay"]["n_replays"] = 1500
    path = tmp_path / "long.yaml"
    path.write_text(yaml.safe_dump(tiny_dict))
    return path


def _start(scenario: Path, store: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "janus_sim",
            "run",
            str(scenario),
            "--store",
            str(store),
            "--quiet",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
    )


@pytest.mark.hostile("run", kind="kill")
def test_sigkill_at_several_points_then_resume(long_file: Path, tmp_path: Path) -> None:
    # Timed on a second run: the first may compile numba's kernels into an empty cache,
    # which would make every share too long for the warm attempts below.
    whole = jsim("run", long_file, "--store", tmp_path / "whole", "--quiet")
    assert whole.returncode == 0, whole.stderr
    t0 = time.monotonic()
    again = jsim("run", long_file, "--store", tmp_path / "again", "--quiet")
    whole_s = time.monotonic() - t0
    assert digest_line(again.stdout) == digest_line(whole.stdout)
    expected = digest_line(whole.stdout)
    store = tmp_path / "killed"
    kills = 0
    # Kill points as shares of the uninterrupted run's wall time (a resume re-simulates
    # what is stored, so each attempt gets further): fixed delays let a fast machine
    # finish before the second kill.
    for share in (0.35, 0.5, 0.65, 0.8, 0.95):
        # Resume once the first attempt got far enough to create the run.
        started = jsim("runs", "--store", store, "--json").stdout.strip() != ""
        proc = _start(long_file, store, *(("--resume",) if started else ()))
        time.sleep(share * whole_s)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=60)
        if proc.returncode == 0:
            break
    assert kills >= 2, f"only {kills} of 5 attempts outlived their share of {whole_s:.1f} s"
    # A kill can land after the run committed its last batch: then there is nothing left.
    if '"status": "finished"' not in jsim("runs", "--store", store, "--json").stdout:
        final = jsim("run", long_file, "--store", store, "--quiet", "--resume")
        assert final.returncode == 0, final.stderr
    runs = [
        json.loads(line) for line in jsim("runs", "--store", store, "--json").stdout.splitlines()
    ]
    assert [(r["status"], r["digest"]) for r in runs] == [("finished", expected)]
    verify = jsim("verify", "--store", store)
    assert verify.returncode == 0, verify.stdout
    assert expected in verify.stdout


@pytest.mark.hostile("run", kind="kill")
def test_sigterm_stops_at_a_batch_boundary(long_file: Path, tmp_path: Path) -> None:
    store = tmp_path / "s"
    proc = _start(long_file, store)
    deadline = time.monotonic() + 30
    while not (store / "janus.duckdb").exists() and time.monotonic() < deadline:
        time.sleep(0.05)  # the store opens after the stop handlers are installed
    time.sleep(1.0)
    assert proc.poll() is None, "finished before the signal; make the fixture longer"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "marked interrupted" in err and "--resume" in err and "Traceback" not in err
    runs = jsim("runs", "--store", store, "--json")
    assert '"status": "interrupted"' in runs.stdout
    resumed = jsim("run", long_file, "--store", store, "--quiet", "--resume", "--from-checkpoint")
    assert resumed.returncode == 0, resumed.stderr
    fresh = jsim("run", long_file, "--store", tmp_path / "fresh", "--quiet")
    assert digest_line(resumed.stdout) == digest_line(fresh.stdout)


KILL_POINTS = [
    ("mid-append", 1),  # the very first batch (run_started): rolled back, resume restarts
    ("mid-append", 4),  # a night's batch, inserted but not committed
    ("append-begun", 3),
    ("after-append", 2),
    ("replay", 700),  # inside night 1's phase 1 (1500 policy steps a night)
    ("replay", 2600),  # inside night 2's phase 1
    ("consolidation", 2),  # inside night 2, after phase 2, before the night's batch
    ("finish", 1),  # every event stored, the run not yet marked finished
]


def _kill_at(point: str, n: int, scenario: Path, store: Path) -> None:
    """Run ``scenario`` as run ``r`` into ``store`` under the kill harness, which
    SIGKILLs it at the ``n``-th ``point`` (``tests/e2e/kill_harness.py``)."""
    killed = subprocess.run(
        [
            *(sys.executable, "-m", "tests.e2e.kill_harness", point, str(n), "--"),
            *("run", str(scenario), "--store", str(store), "--quiet", "--no-qdrant"),
            *("--run-id", "r"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert killed.returncode == -signal.SIGKILL, (killed.returncode, killed.stderr)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    import copy

    from tests.conftest import TINY

    folder = tmp_path_factory.mktemp("kill")
    raw = copy.deepcopy(TINY)
    raw["calendar"]["bars_per_day"] = 120
    raw["replay"]["n_replays"] = 1500
    scenario = folder / "long.yaml"
    scenario.write_text(yaml.safe_dump(raw))
    whole = jsim("run", scenario, "--store", folder / "whole", "--quiet", "--no-qdrant")
    assert whole.returncode == 0, whole.stderr
    return scenario, digest_line(whole.stdout)


@pytest.mark.hostile("run", kind="kill")
@pytest.mark.parametrize(("point", "n"), KILL_POINTS, ids=[f"{p}-{n}" for p, n in KILL_POINTS])
def test_sigkill_at_an_exact_point_then_resume(
    uninterrupted: tuple[Path, str], tmp_path: Path, point: str, n: int
) -> None:
    scenario, expected = uninterrupted
    store = tmp_path / "s"
    _kill_at(point, n, scenario, store)
    # Whatever the point, the log holds whole batches only and the run is not finished.
    runs = jsim("runs", "--store", store, "--json")
    assert runs.returncode == 0, runs.stderr
    assert '"status": "finished"' not in runs.stdout
    resumed = jsim(
        "run", scenario, "--store", store, "--quiet", "--no-qdrant", "--run-id", "r", "--resume"
    )
    assert resumed.returncode == 0, resumed.stderr
    assert digest_line(resumed.stdout) == expected
    check = jsim("verify", "--store", store, "--run", "r")
    assert check.returncode == 0, check.stdout


MAP_KILL_POINTS = [("after-append", 2), ("mid-append", 4), ("consolidation", 2)]


@pytest.fixture(scope="module")
def uninterrupted_with_map(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    import copy

    from tests.conftest import TINY

    folder = tmp_path_factory.mktemp("kill-map")
    raw = copy.deepcopy(TINY)
    raw["calendar"]["bars_per_day"] = 60
    raw["hippocampus"]["capacity"] = 150
    raw["projection"] = {"enabled": True, "sample_size": 80, "n_epochs": 60}
    scenario = folder / "map.yaml"
    scenario.write_text(yaml.safe_dump(raw))
    whole = jsim("run", scenario, "--store", folder / "whole", "--quiet", "--no-qdrant")
    assert whole.returncode == 0, whole.stderr
    return scenario, digest_line(whole.stdout)


@pytest.mark.parametrize(
    ("point", "n"), MAP_KILL_POINTS, ids=[f"{p}-{n}" for p, n in MAP_KILL_POINTS]
)
@pytest.mark.hostile("run", kind="kill")
def test_sigkill_with_the_map_on_then_resume_from_the_checkpoint(
    uninterrupted_with_map: tuple[Path, str], tmp_path: Path, point: str, n: int
) -> None:
    """With phase 3 on, ``--from-checkpoint`` restores the map's chain from the log and
    the checkpointed generator, and still ends on the uninterrupted digest."""
    scenario, expected = uninterrupted_with_map
    store = tmp_path / "s"
    _kill_at(point, n, scenario, store)
    resumed = jsim(
        *("run", scenario, "--store", store, "--quiet", "--no-qdrant", "--run-id", "r"),
        *("--resume", "--from-checkpoint"),
    )
    assert resumed.returncode == 0, resumed.stderr
    assert digest_line(resumed.stdout) == expected
    check = jsim("verify", "--store", store, "--run", "r", "--replay")
    assert check.returncode == 0, check.stdout
