"""`janus-sim doctor` end to end: eight runs of a small scenario in fresh processes (every
perturbation of ``portable_check.doctor_settings``), one digest; Ctrl-C stops them all and
leaves no temporary store behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import SMALL_PROJECTION, write_tiny

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def _scenario(tmp_path: Path) -> Path:
    # Projection off in the file, so the doctor must force it on (and say so).
    return write_tiny(tmp_path / "t.yaml", projection={**SMALL_PROJECTION, "enabled": False})


def _env(tmp: Path) -> dict[str, str]:
    tmp.mkdir()
    return {**os.environ, "COLUMNS": "200", "TMPDIR": str(tmp)}


def test_every_perturbation_gives_one_digest(tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "janus_sim",
            "doctor",
            str(_scenario(tmp_path)),
            "--days",
            "2",
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_env(tmp),
        timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    doc = json.loads(done.stdout)
    table = "\n".join(
        f"{r['perturbation']:24} {r['digest'][:16] or r['error']}" for r in doc["runs"]
    )
    assert doc["ok"] and all(r["same"] for r in doc["runs"]), table
    assert len({(r["digest"], r["n_events"]) for r in doc["runs"]}) == 1, table
    assert len(doc["runs"]) == 8 and doc["runs"][0]["perturbation"] == "in-process"
    assert doc["notes"] == [
        "projection forced on (the scenario has projection.enabled: false)",
        "the first 2 of 3 trading days (to 2025-12-18)",
    ]
    assert "[8/8] PYTHONHASHSEED=4242" in done.stderr
    assert list(tmp.iterdir()) == []  # the temporary stores are gone


def _running_with(text: str) -> list[int]:
    """PIDs of the processes whose command line contains ``text``."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and text in (proc / "cmdline").read_text(errors="replace"):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find the children")
def test_ctrl_c_stops_every_run_and_removes_the_stores(tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    proc = subprocess.Popen(
        [sys.executable, "-m", "janus_sim", "doctor", str(_scenario(tmp_path))],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=_env(tmp),
        # Ctrl-C's SIGINT reaches it even when this test runs where SIGINT is ignored (a
        # background job): a process that starts with SIGINT ignored keeps ignoring it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:  # the reference is done: the fresh processes are starting
        seen.append(line)
        if "[1/8]" in line:
            break
    deadline = time.monotonic() + 60
    while not _running_with(str(tmp)) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _running_with(str(tmp)), "".join(seen)  # fresh processes writing under TMPDIR
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=120)
    assert proc.returncode == 130, "".join(seen) + rest
    assert "janus-sim: interrupted" in rest and "Traceback" not in rest
    assert _running_with(str(tmp)) == []
    assert list(tmp.iterdir()) == []
