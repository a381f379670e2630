"""The ``EventStore`` port over one DuckDB file.

Layout: a ``runs`` table (one row per run, ``created_order`` makes ``list_runs``
deterministic) and an ``events`` table (one row per event). ``events`` has no primary
key: gap-free sequence numbers are enforced by this class instead (a batch must start at
``last_seq + 1`` and be contiguous), which keeps bulk inserts cheap. Each ``append`` is
one transaction: check, insert the batch through Arrow, commit; any failure rolls back so
none of the batch is visible.

Write path, measured in ``benchmarks/bench_append.py``: the file is ATTACHed to a private
in-memory DuckDB with ``ROW_GROUP_SIZE`` 32768, so any append of at least that many
events is written straight to the database file as compressed row groups ("optimistic
write") instead of first going through the write-ahead log and a later checkpoint; and
``payload`` (the bulk of the bytes) is compressed with zstd, which is both faster to
write and smaller than DuckDB's default string compression for JSON. Together they
roughly double append throughput on large batches. Small appends still go through the
WAL as usual; durability is DuckDB's default either way.

Concurrency: DuckDB lets one process hold a file read-write, and then no other process
may open it at all, not even read-only. So the store holds the file only while it works:
each call opens a session (a connection with the file attached) and closes it, unless
the caller holds one session across calls (``hold``: readers do, for a consistent view).
A writer between batches therefore leaves the file free for readers, and a reader holds
it only for its own short command. A session that finds the file locked by another
process waits (backing off, saying so once through ``on_wait``) up to ``lock_timeout``
seconds, then fails with a one-line StoreError naming the holder's PID. Two writers may
share a store (each batch is one transaction, and the last sequence number is read
inside it); the CLI keeps two processes off the same run (``run_lock.py``).

Integrity: every row carries ``chain``, its hash chained to the row before it in the
same run (``eventlog.chain_hashes``), computed inside the append's transaction from the
stored tip of the chain (for a run's first row, its genesis: ``eventlog.run_genesis`` of
the run row). Stores written before the chain existed get the column on
their first read-write open; their old rows hold NULL (``verify`` says so).

The class is not thread-safe. Every DuckDB error leaves as a StoreError whose one-line
message names the database file and what failed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb
import pyarrow as pa

from janus_sim.adapters.duckdb_connect import (
    ALIAS as _ALIAS,
)
from janus_sim.adapters.duckdb_connect import (
    DEFAULT_LOCK_TIMEOUT,
    ROW_GROUP_SIZE,
    connect_waiting,
    first_line,
)
from janus_sim.adapters.duckdb_sql import (
    APPEND_VIEW,
    COUNT_EVENTS,
    INSERT_BATCH,
    RUN_COLUMNS,
    RUN_FIELDS,
    SCHEMA,
    in_seq_order,
    run_info_of,
)
from janus_sim.adapters.duckdb_tail import query_table, read_tail
from janus_sim.errors import EmptyStoreError, StoreError, mkdir_reason
from janus_sim.eventlog import EventBatch, chain_hashes, run_genesis
from janus_sim.ports import EventQuery, RunInfo, RunStatus
from janus_sim.store_rules import (
    ALL_EVENTS,
    check_append,
    check_query,
    check_status,
    now_utc,
    unknown_run,
)

DB_FILENAME = "janus.duckdb"


class DuckDBEventStore:
    """``EventStore`` backed by the DuckDB file ``path`` (created unless ``read_only``).

    ``hold`` keeps one session open from construction to ``close`` (a reader's
    consistent view); otherwise every call opens and closes its own (see the module
    docstring). ``on_wait`` is told once when a session has to wait for another process.
    """

    def __init__(
        self,
        path: Path,
        read_only: bool = False,
        *,
        hold: bool = False,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self.lock_timeout = lock_timeout
        self._on_wait = on_wait
        self._where = f"event store {self.path}"
        self._literal = "'" + str(self.path).replace("'", "''") + "'"
        self._last_seq: dict[str, int] = {}  # a scan hint only: re-read in every append
        self._seen_runs: set[str] = set()  # runs found once (runs are never deleted)
        self._con: duckdb.DuckDBPyConnection | None = None
        self._held = False
        self._closed = False
        con = self._connect()
        try:
            self._con = con
            if read_only:
                self._check_schema()
            else:
                with self._sql("create the schema"):
                    con.execute(SCHEMA)
        except BaseException:
            self._con = None
            with suppress(duckdb.Error):
                con.close()
            raise
        if hold:
            self._held = True
        else:
            self._con = None
            with self._sql("close"):
                con.close()

    # --- plumbing ----------------------------------------------------------------------

    def _connect(self) -> duckdb.DuckDBPyConnection:
        return connect_waiting(self.path, self.read_only, self.lock_timeout, self._on_wait)

    @contextmanager
    def session(self) -> Iterator[None]:
        """Keep one session open for the calls inside the block (re-entrant)."""
        if self._closed:
            raise StoreError(f"event store {self.path} is closed")
        if self._con is not None:
            yield
            return
        self._con = self._connect()
        try:
            yield
        finally:
            con, self._con = self._con, None
            if con is not None:
                with suppress(duckdb.Error):
                    con.close()  # rolls back an unfinished transaction

    @contextmanager
    def _sql(self, what: str) -> Iterator[None]:
        """Turn any DuckDB error inside the block into a one-line StoreError."""
        try:
            yield
        except duckdb.Error as e:
            raise StoreError(f"event store {self.path}: {what} failed: {first_line(e)}") from e

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise StoreError(f"event store {self.path} is closed")
        return self._con

    def _writable(self) -> duckdb.DuckDBPyConnection:
        if self.read_only:
            raise StoreError(f"event store {self.path} is opened read-only")
        return self.con

    def _check_schema(self) -> None:
        sql = f"SELECT table_name FROM duckdb_tables() WHERE database_name = '{_ALIAS}'"
        tables = {r[0] for r in self._rows("read the schema", sql)}
        if not tables:
            raise EmptyStoreError(
                f"{self.path} is not a janus-sim event store yet: an empty database, as a "
                "process cut off while creating the store leaves it (a run completes it)"
            )
        if not {"runs", "events"} <= tables:
            raise StoreError(f"{self.path} is not a janus-sim event store (no runs/events tables)")

    def _rollback(self) -> None:
        # After a failed COMMIT DuckDB may already have aborted the transaction, in which
        # case ROLLBACK itself errors; either way nothing of the batch is left.
        with suppress(duckdb.Error):
            self.con.execute("ROLLBACK")

    def _rows(self, what: str, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        # fetchall, never fetchone: DuckDB 2 refuses new work on a connection while a
        # result is only partly fetched.
        with self._sql(what):
            return self.con.execute(sql, list(params)).fetchall()

    def _known_runs(self) -> list[str]:
        rows = self._rows("list runs", "SELECT run_id FROM runs ORDER BY created_order")
        return [r[0] for r in rows]

    def _require_run(self, run_id: str) -> None:
        if run_id in self._last_seq or run_id in self._seen_runs:
            return  # runs are never deleted, so a run found once exists
        sql = "SELECT 1 FROM runs WHERE run_id = ?"
        if not self._rows(f"look up run {run_id!r}", sql, [run_id]):
            raise unknown_run(run_id, str(self.path), self._known_runs())
        self._seen_runs.add(run_id)

    def _tip(self, run_id: str) -> tuple[int, bytes]:
        """(last seq, its chain hash) of the run, read now (another writer may have added)."""
        self._require_run(run_id)
        sql = (
            "SELECT seq, chain FROM events WHERE run_id = ? AND seq >= ? ORDER BY seq DESC LIMIT 1"
        )
        # The last seq this object saw bounds the scan (zone maps skip older row groups).
        since = self._last_seq.get(run_id, -1)
        rows = self._rows(f"read the last seq of run {run_id!r}", sql, [run_id, since])
        if not rows and since >= 0:
            rows = self._rows(f"read the last seq of run {run_id!r}", sql, [run_id, -1])
        if not rows:
            return -1, self._genesis(run_id)
        seq, chain = rows[0]
        self._last_seq[run_id] = int(seq)
        # A row written before chains existed has none: new rows chain from the start.
        return int(seq), bytes(chain) if chain is not None else self._genesis(run_id)

    def _genesis(self, run_id: str) -> bytes:
        """The hash the run's chain starts from: its run row's identity (``run_genesis``)."""
        sql = "SELECT scenario_name, scenario_text, scenario_hash, seed FROM runs WHERE run_id = ?"
        name, text, scenario_hash, seed = self._rows(f"read run {run_id!r}", sql, [run_id])[0]
        return run_genesis(name, text, scenario_hash, int(seed))

    # --- the port ----------------------------------------------------------------------

    def create_run(self, info: RunInfo) -> None:
        """Insert a new run row; StoreError if the id is taken. Empty ``started_at`` is set."""
        check_status(info.status, self._where)
        row = {name: getattr(info, name) for name in RUN_FIELDS}
        row["versions"] = json.dumps(info.versions, sort_keys=True)
        row["started_at"] = info.started_at or now_utc()
        values = list(row.values())
        marks = ", ".join("?" * len(values))
        with self.session():
            con = self._writable()
            sql = "SELECT 1 FROM runs WHERE run_id = ?"
            if self._rows(f"look up run {info.run_id!r}", sql, [info.run_id]):
                raise StoreError(f"event store {self.path}: run {info.run_id!r} already exists")
            with self._sql(f"create run {info.run_id!r}"):
                # created_order is computed in the same statement, so it is atomic with
                # the row; the primary key refuses a second writer that raced us here.
                con.execute(
                    f"INSERT INTO runs (created_order, {RUN_COLUMNS}) "
                    f"SELECT (SELECT coalesce(max(created_order), 0) + 1 FROM runs), {marks}",
                    values,
                )

    def append(self, batch: EventBatch) -> None:
        """Append ``batch`` atomically; StoreError (nothing written) if it breaks the rules.

        One transaction: read the run's last seq and chain tip, check the batch follows
        it and is contiguous, chain its rows, insert them through Arrow, commit. Any
        failure rolls back.
        """
        run_id = batch.run_id
        with self.session():
            con = self._writable()
            self._require_run(run_id)
            with self._sql(f"begin append to run {run_id!r}"):
                con.execute("BEGIN TRANSACTION")
            try:
                last, tip = self._tip(run_id)
                check_append(batch, last, self._where)
                if len(batch):
                    table = self._to_arrow(batch)
                    chain = pa.array(chain_hashes(tip, batch, table), pa.binary())
                    table = table.append_column("chain", chain)
                    with self._sql(f"append {len(batch)} events to run {run_id!r}"):
                        con.register(APPEND_VIEW, table)
                        try:
                            con.execute(INSERT_BATCH)
                        finally:
                            con.unregister(APPEND_VIEW)
                with self._sql(f"append {len(batch)} events to run {run_id!r}"):
                    con.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
        if len(batch):
            self._last_seq[run_id] = int(batch.seq[-1])

    def _to_arrow(self, batch: EventBatch) -> pa.Table:
        try:
            return batch.to_arrow()
        except (pa.ArrowException, TypeError, ValueError, OverflowError) as e:
            raise StoreError(
                f"{self._where}: batch for run {batch.run_id!r} cannot be converted to Arrow "
                f"({first_line(e)}); nothing written"
            ) from e

    def finish_run(
        self, run_id: str, status: RunStatus, digest: str | None, message: str | None = None
    ) -> None:
        """Set status, digest, message, ``finished_at`` (now) and ``n_events`` (the count)."""
        check_status(status, self._where)
        with self.session():
            con = self._writable()
            self._require_run(run_id)
            with self._sql(f"finish run {run_id!r}"):
                con.execute(
                    "UPDATE runs SET status = ?, digest = ?, message = ?, finished_at = ?, "
                    "n_events = (SELECT count(*) FROM events WHERE run_id = ?) WHERE run_id = ?",
                    [status, digest, message, now_utc(), run_id, run_id],
                )

    def check_intact(self) -> None:
        """Read every stored block once, so DuckDB checks each one's checksum; StoreError
        naming the damage if one fails. A writer calls it before adding a run: a file
        damaged where no append reads (old events) would otherwise take new runs without
        a word, and only `verify` would find it later. Costs one scan of the file."""
        with self.session():
            for table in ("runs", "events"):
                try:
                    self.con.execute(f"SELECT bit_xor(hash(t)) FROM {table} t").fetchall()
                except duckdb.Error as e:
                    raise StoreError(
                        f"event store {self.path} is damaged, so no run is written into it: "
                        f"{first_line(e)}"
                    ) from e

    def get_run(self, run_id: str) -> RunInfo:
        sql = f"SELECT {RUN_COLUMNS} FROM runs WHERE run_id = ?"
        with self.session():
            rows = self._rows(f"read run {run_id!r}", sql, [run_id])
            if not rows:
                raise unknown_run(run_id, str(self.path), self._known_runs())
            return self._counted([run_info_of(rows[0])])[0]

    def list_runs(self) -> list[RunInfo]:
        """All runs, oldest first; a run not finished with its stored events counted."""
        sql = f"SELECT {RUN_COLUMNS} FROM runs ORDER BY created_order"
        with self.session():
            return self._counted([run_info_of(r) for r in self._rows("list runs", sql)])

    def _counted(self, infos: list[RunInfo]) -> list[RunInfo]:
        """``infos`` with each unfinished run's ``n_events`` counted from its events (a
        finished run's row holds the count; only the others cost a scan)."""
        open_runs = [r.run_id for r in infos if r.status != "finished"]
        if not open_runs:
            return infos
        counts = dict(self._rows("count the events of unfinished runs", COUNT_EVENTS, [open_runs]))
        return [
            r if r.status == "finished" else replace(r, n_events=int(counts.get(r.run_id, 0)))
            for r in infos
        ]

    def last_seq(self, run_id: str) -> int:
        """The highest sequence number of the run, or -1 when it has no events."""
        with self.session():
            return self._tip(run_id)[0]

    def read(self, run_id: str, query: EventQuery = ALL_EVENTS) -> EventBatch:
        """Events of ``run_id`` matching ``query`` (inclusive bounds), in seq order, with
        their chain hashes. With ``tail`` the last ``limit`` matches are returned, still in
        ascending seq order."""
        check_query(query, self._where)
        with self.session():
            self._require_run(run_id)
            q = query
            if q.limit == 0 or (q.kinds is not None and len(q.kinds) == 0):
                return EventBatch.empty(run_id)
            with self._sql(f"read run {run_id!r}"):
                if q.tail and q.limit is not None:
                    table = read_tail(self.con, run_id, q)  # the same rows, found faster
                else:
                    table = query_table(self.con, run_id, q)
        return EventBatch.from_arrow(run_id, in_seq_order(table))

    def close(self) -> None:
        """Close a held session (DuckDB checkpoints on close). Idempotent; later calls
        raise StoreError."""
        self._closed = True
        con, self._con = self._con, None
        if con is not None:
            with self._sql("close"):
                con.close()

    def __enter__(self) -> DuckDBEventStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def store_file(location: str | Path) -> Path:
    """The database file of the store at ``location`` (see ``open_store``)."""
    loc = Path(location).expanduser()
    return loc if loc.suffix == ".duckdb" else loc / DB_FILENAME


def open_store(
    location: str | Path,
    read_only: bool = False,
    *,
    hold: bool = False,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    on_wait: Callable[[str], None] | None = None,
) -> DuckDBEventStore:
    """Open the event store at ``location``.

    ``location`` is either a directory (the database is ``<dir>/janus.duckdb``; the
    directory is created unless ``read_only``) or a file path ending in ``.duckdb``.
    Raises StoreError naming the path when it cannot be created, written or opened.
    """
    db = store_file(location)
    folder = db.parent
    if read_only:
        if not db.is_file():
            raise StoreError(f"no event store at {db}")
    else:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(
                f"cannot create event store directory {folder}: {mkdir_reason(e)}"
            ) from e
        if not os.access(folder, os.W_OK | os.X_OK):
            raise StoreError(f"cannot write event store in {folder}: permission denied")
    return DuckDBEventStore(
        db, read_only=read_only, hold=hold, lock_timeout=lock_timeout, on_wait=on_wait
    )


__all__ = [
    "DB_FILENAME",
    "DEFAULT_LOCK_TIMEOUT",
    "ROW_GROUP_SIZE",
    "DuckDBEventStore",
    "open_store",
]
