"""What ``runs`` says, and what a run does when its store fails it (issue 17, cause 6).

* ``runs`` counts what is stored: a killed run is not listed with 0 events;
* a run whose store stays locked by another process mid-run is marked interrupted, its
  one error line says ``--resume`` (not "try again"), and ``--resume`` then finishes it
  with the uninterrupted digest;
* ``run`` into a store with a damaged block (a checksum mismatch) is refused in one line
  and writes nothing.

In process, except the one case that needs a second process to hold a real lock.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import duckdb
import pytest

from janus_sim.adapters.duckdb_store import DuckDBEventStore, open_store
from janus_sim.errors import StoreLocked
from tests.cli_inprocess import cli
from tests.e2e.test_hostile_inputs import (
    _fresh_copy,
    _keep_signal_handlers,
    _one_error_line,
    _snapshot,
    stored,
)
from tests.e2e.test_hostile_text_ids import _refused, _tiny_file

pytestmark = pytest.mark.e2e
_FIXTURES = (stored, _keep_signal_handlers)  # the hostile-input suite's, used here by name


def _set_row(store: Path, sql: str) -> None:
    con = duckdb.connect(str(store / "janus.duckdb"))
    try:
        con.execute(sql)
    finally:
        con.close()


@pytest.mark.hostile("runs", kind="kill")
@pytest.mark.parametrize(
    "row",
    [
        pytest.param("status = 'running', n_events = 0", id="killed-never-finished"),
        pytest.param("status = 'running', n_events = 100", id="killed-after-a-resume"),
        pytest.param("status = 'failed', n_events = 7", id="failed-stale-count"),
    ],
)
def test_runs_counts_what_is_stored(
    row: str, stored: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A killed run's row keeps the count of its last finish (or 0): count the events."""
    store = _fresh_copy(stored, tmp_path)
    _set_row(store, f"UPDATE runs SET {row}, digest = NULL WHERE run_id = 'tiny-s7'")
    code, out, _ = cli(capsys, "runs", "--store", store, "--json")
    assert code == 0 and json.loads(out)["n_events"] == 433
    code, out, _ = cli(capsys, "runs", "--store", store)
    assert code == 0 and "│ 433 " in out, out


class _Locked:
    """Makes the store look locked by another process: from the ``at``-th append on, when
    the run marks itself ``interrupted`` (``hold_marking``), and when it records its end
    (``hold_end``)."""

    def __init__(self, at: int, hold_marking: bool, hold_end: bool) -> None:
        self.at, self.hold_marking, self.hold_end, self.calls = at, hold_marking, hold_end, 0
        self.append, self.finish = DuckDBEventStore.append, DuckDBEventStore.finish_run

    def patched_append(self, store: DuckDBEventStore, batch: Any) -> None:
        self.calls += 1
        if self.calls >= self.at:
            raise StoreLocked(str(store.path), "process 4242", 0.1)
        self.append(store, batch)

    def patched_finish(self, store: DuckDBEventStore, run_id: str, status: Any, *a: Any) -> None:
        held = {"interrupted": self.hold_marking, "finished": self.hold_end}.get(status, False)
        if held:
            raise StoreLocked(str(store.path), "process 4242", 0.1)
        self.finish(store, run_id, status, *a)


# (append that finds the store locked, the marking locked too, the end locked too)
LOCKED_CASES = {
    "2nd-batch-marked": (2, False, False),
    "4th-batch-marked": (4, False, False),
    "2nd-batch-still-locked": (2, True, False),
    "4th-batch-still-locked": (4, True, False),
    "at-the-end": (10**9, False, True),
}


@pytest.mark.hostile("run", kind="concurrent")
@pytest.mark.parametrize("name", list(LOCKED_CASES))
def test_lock_timeout_mid_run_says_resume(
    name: str, stored: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    at, hold_marking, hold_end = LOCKED_CASES[name]
    store = tmp_path / "store"
    scenario = _tiny_file(tmp_path)
    locked = _Locked(at, hold_marking, hold_end)
    with (
        mock.patch.object(DuckDBEventStore, "append", lambda s, b: locked.patched_append(s, b)),
        mock.patch.object(
            DuckDBEventStore, "finish_run", lambda s, *a: locked.patched_finish(s, *a)
        ),
    ):
        line = _refused(capsys, "run", scenario, "--store", store, "--no-qdrant", "--quiet")
    assert f"event store {store}/janus.duckdb stayed locked by process 4242" in line, line
    assert "of run 'tiny-s7'" in line and "try again" not in line, line
    assert f"--store {store} --run-id tiny-s7 --resume" in line, line
    still_locked = hold_marking or hold_end
    assert ("still locked" in line) is still_locked, line
    with open_store(store, read_only=True) as s:
        info = s.get_run("tiny-s7")
    assert info.status == ("running" if still_locked else "interrupted")
    code, out, err = cli(
        capsys, "run", scenario, "--store", store, "--run-id", "tiny-s7", "--resume", "--quiet"
    )
    assert code == 0, (out, err)
    with open_store(stored, read_only=True) as s:
        assert f"digest  {s.get_run('tiny-s7').digest}" in out


HOLD = """
import duckdb, pathlib, sys, time
con = duckdb.connect(sys.argv[1])
print("held", flush=True)
while not pathlib.Path(sys.argv[2]).exists():
    time.sleep(0.02)
con.close()
"""


@pytest.mark.slow
@pytest.mark.hostile("run", kind="concurrent")
def test_real_lock_held_mid_run_marks_interrupted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process really holds the file past JANUS_STORE_WAIT at the third batch,
    and lets go when the run marks itself interrupted."""
    monkeypatch.setenv("JANUS_STORE_WAIT", "0.3")
    store, release = tmp_path / "store", tmp_path / "release"
    scenario = _tiny_file(tmp_path)
    append, finish = DuckDBEventStore.append, DuckDBEventStore.finish_run
    holder: list[subprocess.Popen[str]] = []
    calls = [0]

    def hold_then_append(self: DuckDBEventStore, batch: Any) -> None:
        calls[0] += 1
        if calls[0] == 3:
            p = subprocess.Popen(
                [sys.executable, "-c", HOLD, str(self.path), str(release)],
                stdout=subprocess.PIPE,
                text=True,
            )
            holder.append(p)
            assert p.stdout is not None and p.stdout.readline().strip() == "held"
        append(self, batch)

    def release_then_finish(self: DuckDBEventStore, run_id: str, status: Any, *a: Any) -> None:
        if holder and status == "interrupted":
            release.touch()
            holder[0].wait(timeout=30)
        finish(self, run_id, status, *a)

    try:
        with (
            mock.patch.object(DuckDBEventStore, "append", hold_then_append),
            mock.patch.object(DuckDBEventStore, "finish_run", release_then_finish),
        ):
            code, _, err = cli(capsys, "run", scenario, "--store", store, "--no-qdrant", "--quiet")
    finally:
        release.touch()
        for p in holder:
            p.wait(timeout=30)
    # The one line, after the note that the run waits (the same note as any wait's).
    waiting, _, rest = err.partition("janus-sim: error: ")
    assert code == 2 and waiting.startswith("waiting:"), err
    line = _one_error_line("janus-sim: error: " + rest)
    assert "stayed locked by process" in line and "for 0.3 s after event" in line, line
    assert "the run is marked interrupted" in line and "--resume" in line, line
    with open_store(store, read_only=True) as s:
        assert s.get_run("tiny-s7").status == "interrupted"


def _damage_events_block(store: Path) -> None:
    """Scribble over a block that holds events but nothing of the runs table (DuckDB's
    storage info names them), so listing runs works and only a read of old events, or
    a check of every block, finds the checksum mismatch."""
    db = store / "janus.duckdb"
    con = duckdb.connect(str(db), read_only=True)
    try:

        def blocks(table: str) -> set[int]:
            sql = (
                f"SELECT DISTINCT block_id FROM pragma_storage_info('{table}') WHERE block_id >= 0"
            )
            return {int(r[0]) for r in con.execute(sql).fetchall()}

        only_events = sorted(blocks("events") - blocks("runs"))
        (size,) = con.execute("SELECT block_size FROM pragma_database_size()").fetchall()[0]
        block_size = int(size)
    finally:
        con.close()
    assert only_events, "no block holds events alone"
    with db.open("r+b") as f:  # the file starts with three 4 KiB headers
        f.seek(3 * 4096 + only_events[0] * block_size + 100)
        f.write(b"\xff" * 64)
    with open_store(store, read_only=True, hold=True) as s:
        assert [r.run_id for r in s.list_runs()] == ["tiny-s7"]


@pytest.fixture(scope="module")
def damaged(stored: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``stored`` with a checksum mismatch in an events block (template: copy it)."""
    folder = tmp_path_factory.mktemp("damaged") / "store"
    shutil.copytree(stored, folder)
    _damage_events_block(folder)
    return folder


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param([], id="new-run"),
        pytest.param(["--run-id", "fresh"], id="named-run"),
        pytest.param(["--run-id", "tiny-s7", "--resume"], id="resume"),
    ],
)
@pytest.mark.hostile("run", kind="tamper")
def test_run_refuses_a_damaged_store(
    extra: list[str], damaged: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "store"
    shutil.copytree(damaged, store)
    before = _snapshot(store)
    scenario = _tiny_file(tmp_path)
    line = _refused(capsys, "run", scenario, "--store", store, "--no-qdrant", "--quiet", *extra)
    assert f"event store {store}/janus.duckdb is damaged, so no run is written" in line, line
    assert "checksum" in line and "restore it from a copy" in line, line
    assert _snapshot(store) == before
