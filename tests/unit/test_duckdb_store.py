"""What only the file-backed DuckDB store has: persistence, large batches and rollback,
store locations and permissions, lock waits between processes. The behaviour both stores
share is the contract suite, tests/contract/test_event_store.py."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from janus_sim.adapters.duckdb_store import (
    DB_FILENAME,
    ROW_GROUP_SIZE,
    DuckDBEventStore,
    open_store,
)
from janus_sim.errors import EmptyStoreError, StoreError
from janus_sim.eventlog import first_broken_link
from janus_sim.ports import EventQuery
from tests.store_fixtures import assert_same, make_batch, run_info


def test_duckdb_data_persists_after_close_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "events.duckdb"
    with DuckDBEventStore(path) as store:
        for run_id in ("b", "a"):
            store.create_run(run_info(run_id))
        store.append(make_batch("b", 0, 30))
        store.finish_run("b", "finished", "d")
        infos = store.list_runs()
    assert not (tmp_path / "events.duckdb.wal").exists()  # closing checkpoints
    with DuckDBEventStore(path, read_only=True) as store:
        assert store.list_runs() == infos
        assert store.last_seq("b") == 29
        assert_same(store.read("b"), make_batch("b", 0, 30))
        with pytest.raises(StoreError, match="read-only"):
            store.append(make_batch("b", 30, 1))
        with pytest.raises(StoreError, match="read-only"):
            store.create_run(run_info("c"))
    with DuckDBEventStore(path) as store:  # the seq check resumes from what is on disk
        with pytest.raises(StoreError, match="next seq is 30"):
            store.append(make_batch("b", 0, 1))
        store.append(make_batch("b", 30, 5))
        assert_same(store.read("b"), make_batch("b", 0, 35))


def test_duckdb_large_batches_round_trip_and_roll_back(tmp_path: Path) -> None:
    """Batches over a row group take DuckDB's direct-to-file path; it must be atomic too."""
    n = ROW_GROUP_SIZE + 5_000
    path = tmp_path / "big.duckdb"
    with DuckDBEventStore(path) as store:
        store.create_run(run_info("r"))
        store.append(make_batch("r", 0, n))
        bad = make_batch("r", n, n)
        bad.payload[-1] = None  # type: ignore[call-overload]
        with pytest.raises(StoreError, match="failed"):
            store.append(bad)
        assert store.last_seq("r") == n - 1
        store.append(make_batch("r", n, 10))
    with DuckDBEventStore(path, read_only=True) as store:
        back = store.read("r")
        assert store.last_seq("r") == n + 9
        assert_same(back, make_batch("r", 0, n + 10))


class _CommitFails:
    """Connection proxy whose COMMIT fails: the failure happens after the INSERT ran."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con

    def execute(self, sql: str, *args: Any) -> Any:
        if sql.strip().upper() == "COMMIT":
            raise duckdb.IOException("IO Error: simulated disk failure at commit")
        return self._con.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def test_duckdb_failed_commit_rolls_back(tmp_path: Path) -> None:
    store = DuckDBEventStore(tmp_path / "events.duckdb", hold=True)
    store.create_run(run_info("r"))
    store.append(make_batch("r", 0, 10))
    real = store._con
    assert real is not None
    store._con = _CommitFails(real)  # type: ignore[assignment]
    with pytest.raises(StoreError, match=r"events\.duckdb: append 5 events .* simulated disk"):
        store.append(make_batch("r", 10, 5))
    store._con = real
    assert store.last_seq("r") == 9
    assert_same(store.read("r"), make_batch("r", 0, 10))
    store.append(make_batch("r", 10, 5))
    assert store.last_seq("r") == 14
    store.close()


def test_open_store_with_a_directory(tmp_path: Path) -> None:
    location = tmp_path / "nested" / "store"
    with open_store(location) as store:
        store.create_run(run_info("r"))
    assert (location / DB_FILENAME).is_file()
    with open_store(str(location), read_only=True) as store:
        assert [r.run_id for r in store.list_runs()] == ["r"]


def test_open_store_with_a_duckdb_file(tmp_path: Path) -> None:
    location = tmp_path / "sub" / "mine.duckdb"
    with open_store(location) as store:
        store.create_run(run_info("r"))
    assert location.is_file()
    assert not (tmp_path / "sub" / DB_FILENAME).exists()
    with open_store(location, read_only=True) as store:
        assert store.get_run("r") == run_info("r")


def test_open_store_read_only_needs_an_existing_store(tmp_path: Path) -> None:
    want = f"no event store at {tmp_path / 'x' / DB_FILENAME}"
    with pytest.raises(StoreError, match=re.escape(want)):
        open_store(tmp_path / "x", read_only=True)
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("below", ["store", "store.duckdb"])
def test_location_under_a_regular_file_is_a_store_error(tmp_path: Path, below: str) -> None:
    blocker = tmp_path / "plain.txt"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match=f"{re.escape(str(blocker))}.*not a directory") as err:
        open_store(blocker / below)
    assert "\n" not in str(err.value)


def test_location_that_is_a_regular_file_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "plain.txt"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match=re.escape(str(blocker))):
        open_store(blocker)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores modes")
def test_read_only_directory_is_a_store_error(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with pytest.raises(StoreError, match=f"{re.escape(str(locked))}.*permission denied"):
            open_store(locked)
        with pytest.raises(StoreError, match=re.escape(str(locked / "deeper"))):
            open_store(locked / "deeper")
    finally:
        locked.chmod(stat.S_IRWXU)


def test_unwritable_directory_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same check as above, runnable as root: pretend the directory is not writable."""
    monkeypatch.setattr("janus_sim.adapters.duckdb_store.os.access", lambda *a, **k: False)
    with pytest.raises(StoreError, match=f"{re.escape(str(tmp_path))}: permission denied"):
        open_store(tmp_path)


def test_a_file_that_is_not_a_store_is_a_store_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(b"definitely not a duckdb file" * 200)
    with pytest.raises(StoreError, match=re.escape(str(junk))) as err:
        open_store(junk)
    assert "\n" not in str(err.value)
    foreign = tmp_path / "foreign.duckdb"
    with duckdb.connect(str(foreign)) as con:
        con.execute("CREATE TABLE runs (x INTEGER)")
    with pytest.raises(StoreError, match="not a janus-sim event store") as err:
        open_store(foreign, read_only=True)
    assert not isinstance(err.value, EmptyStoreError)


def test_an_empty_database_is_a_store_cut_off_at_birth_and_a_writable_open_completes_it(
    tmp_path: Path,
) -> None:
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()  # a kill between the file and its tables
    with pytest.raises(EmptyStoreError, match="not a janus-sim event store yet: an empty"):
        open_store(empty, read_only=True)
    with open_store(empty) as store:
        store.create_run(run_info("r"))
        store.append(make_batch("r", 0, 2))
    with open_store(empty, read_only=True) as store:
        assert len(store.read("r")) == 2


def test_two_store_objects_take_turns_on_one_file(tmp_path: Path) -> None:
    """Unheld stores hold the file only per call, so two writers can interleave batches;
    each append reads the run's tip inside its transaction, so nothing is lost or reused."""
    first, second = open_store(tmp_path), open_store(tmp_path)
    first.create_run(run_info("r"))
    first.append(make_batch("r", 0, 3))
    second.append(make_batch("r", 3, 2))  # the second object sees the first one's rows
    with pytest.raises(StoreError, match="starts at seq 3"):
        first.append(make_batch("r", 3, 2))  # a stale writer is refused, not merged
    first.append(make_batch("r", 5, 1))
    back = second.read("r")
    assert back.seq.tolist() == list(range(6))
    assert first_broken_link(back) is None
    first.close()
    second.close()


_HOLDER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


def _hold_in_another_process(db: Path, seconds: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(db), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_locked_store_is_waited_for_and_said_so(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        store.create_run(run_info("r"))
    holder = _hold_in_another_process(tmp_path / DB_FILENAME, 1.0)
    said: list[str] = []
    try:
        with open_store(tmp_path, read_only=True, lock_timeout=20, on_wait=said.append) as s:
            assert [r.run_id for r in s.list_runs()] == ["r"]
    finally:
        holder.wait(timeout=30)
    assert len(said) == 1 and f"in use by process {holder.pid}" in said[0]


def test_a_store_locked_too_long_is_a_clear_error(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        store.create_run(run_info("r"))
    holder = _hold_in_another_process(tmp_path / DB_FILENAME, 5.0)
    try:
        with pytest.raises(StoreError) as err:
            open_store(tmp_path, read_only=True, lock_timeout=0.3)
    finally:
        holder.kill()
        holder.wait(timeout=30)
    message = str(err.value)
    assert f"stayed locked by process {holder.pid} for 0.3 s" in message
    assert str(tmp_path / DB_FILENAME) in message and "\n" not in message


def test_rows_stored_out_of_seq_order_read_back_in_seq_order(tmp_path: Path) -> None:
    """Reads carry no ORDER BY (insertion order is seq order for what the store writes);
    a store whose rows were rewritten out of order still reads in seq order, and a
    limited read (seqs first, then the rows of that range) picks the right rows."""
    path = tmp_path / "events.duckdb"
    with DuckDBEventStore(path) as store:
        store.create_run(run_info("r"))
        store.append(make_batch("r", 0, 40))
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE moved AS SELECT * FROM events ORDER BY seq DESC")
    con.execute("DELETE FROM events")
    con.execute("INSERT INTO events SELECT * FROM moved")
    con.execute("DROP TABLE moved")
    assert con.execute("SELECT first(seq) FROM events").fetchall() == [(39,)]
    con.close()
    with DuckDBEventStore(path, read_only=True) as store:
        assert_same(store.read("r"), make_batch("r", 0, 40))
        assert_same(store.read("r", EventQuery(limit=3, tail=True)), make_batch("r", 37, 3))
        assert_same(store.read("r", EventQuery(limit=1)), make_batch("r", 0, 1))
        got = store.read("r", EventQuery(kinds=["policy_updated"], seq_max=30, limit=2, tail=True))
        assert got.seq.tolist() == [26, 29]


def test_a_limited_read_of_a_store_with_a_seq_stored_twice_keeps_its_limit(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.duckdb"
    with DuckDBEventStore(path) as store:
        store.create_run(run_info("r"))
        store.append(make_batch("r", 0, 10))
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO events SELECT * FROM events WHERE seq = 9")
    con.close()
    with DuckDBEventStore(path, read_only=True) as store:
        assert store.read("r", EventQuery(limit=1, tail=True)).seq.tolist() == [9]
        assert store.read("r", EventQuery(limit=2, tail=True)).seq.tolist() == [9, 9]
        assert store.read("r").seq.tolist() == [*range(10), 9]
