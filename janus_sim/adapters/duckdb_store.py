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

Assumptions: one ``DuckDBEventStore`` object opens a given file at a time (DuckDB refuses
a second attach of the same file in one process, and a second read-write process), since
``last_seq`` is cached per run after its first lookup. The class is not thread-safe.
Every DuckDB error leaves as a StoreError whose one-line message names the database file
and what failed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import fields
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb
import pyarrow as pa

from janus_sim.adapters.memory_store import (
    ALL_EVENTS,
    check_append,
    check_query,
    check_status,
    now_utc,
    unknown_run,
)
from janus_sim.errors import StoreError
from janus_sim.eventlog import EventBatch
from janus_sim.ports import EventQuery, RunInfo, RunStatus

DB_FILENAME = "janus.duckdb"
ROW_GROUP_SIZE = 32_768  # a multiple of DuckDB's vector size (2048); see the module docstring
_ALIAS = "janus"  # the attached database's name inside the private DuckDB instance

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id          VARCHAR PRIMARY KEY,
    created_order   BIGINT  NOT NULL,
    scenario_name   VARCHAR NOT NULL,
    scenario_source VARCHAR NOT NULL,
    scenario_text   VARCHAR NOT NULL,
    scenario_hash   VARCHAR NOT NULL,
    seed            BIGINT  NOT NULL,
    code_version    VARCHAR NOT NULL,
    versions        VARCHAR NOT NULL,  -- JSON object {component: version}
    status          VARCHAR NOT NULL,
    digest          VARCHAR,
    n_events        BIGINT  NOT NULL,
    started_at      VARCHAR NOT NULL,
    finished_at     VARCHAR,
    message         VARCHAR
);
CREATE TABLE IF NOT EXISTS events (
    run_id  VARCHAR  NOT NULL,
    seq     BIGINT   NOT NULL,
    cycle   INTEGER  NOT NULL,
    t_ns    BIGINT   NOT NULL,
    kind    VARCHAR  NOT NULL,
    entity  VARCHAR  NOT NULL,
    version SMALLINT NOT NULL,
    payload VARCHAR  NOT NULL USING COMPRESSION zstd
);
"""

_RUN_FIELDS = tuple(f.name for f in fields(RunInfo))  # the runs columns, bar created_order
_RUN_COLUMNS = ", ".join(_RUN_FIELDS)
_EVENT_COLUMNS = "seq, cycle, t_ns, kind, entity, version, payload"
_APPEND_VIEW = "_janus_append_batch"
_INSERT_BATCH = f"INSERT INTO events SELECT run_id, {_EVENT_COLUMNS} FROM {_APPEND_VIEW}"


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _run_info(row: tuple[Any, ...]) -> RunInfo:
    values = dict(zip(_RUN_FIELDS, row, strict=True))
    values["versions"] = dict(json.loads(values["versions"]))
    return RunInfo(**values)


class DuckDBEventStore:
    """``EventStore`` backed by the DuckDB file ``path`` (created unless ``read_only``)."""

    def __init__(self, path: Path, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._where = f"event store {self.path}"
        self._last_seq: dict[str, int] = {}
        # A private in-memory instance with the file ATTACHed: that is where DuckDB takes
        # per-file options such as ROW_GROUP_SIZE.
        self._con: duckdb.DuckDBPyConnection | None = duckdb.connect(":memory:")
        literal = "'" + str(self.path).replace("'", "''") + "'"
        options = "READ_ONLY" if read_only else f"ROW_GROUP_SIZE {ROW_GROUP_SIZE}"
        try:
            try:
                self.con.execute(f"ATTACH {literal} AS {_ALIAS} ({options})")
                self.con.execute(f"USE {_ALIAS}")
            except duckdb.Error as e:
                mode = "read-only" if read_only else "read-write"
                raise StoreError(
                    f"cannot open event store {self.path} {mode}: {_first_line(e)}"
                ) from e
            if read_only:
                self._check_schema()
            else:
                with self._sql("create the schema"):
                    self.con.execute(_SCHEMA)
        except BaseException:
            with suppress(duckdb.Error):
                self.con.close()
            self._con = None
            raise

    # --- plumbing ----------------------------------------------------------------------

    @contextmanager
    def _sql(self, what: str) -> Iterator[None]:
        """Turn any DuckDB error inside the block into a one-line StoreError."""
        try:
            yield
        except duckdb.Error as e:
            raise StoreError(f"event store {self.path}: {what} failed: {_first_line(e)}") from e

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
        sql = (
            "SELECT table_name FROM duckdb_tables() "
            f"WHERE database_name = '{_ALIAS}' AND table_name IN ('runs', 'events')"
        )
        if len(self._rows("read the schema", sql)) != 2:
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
        if run_id in self._last_seq:  # runs are never deleted, so a cached run exists
            return
        sql = "SELECT 1 FROM runs WHERE run_id = ?"
        if not self._rows(f"look up run {run_id!r}", sql, [run_id]):
            raise unknown_run(run_id, str(self.path), self._known_runs())

    def _lookup_last_seq(self, run_id: str) -> int:
        cached = self._last_seq.get(run_id)
        if cached is not None:
            return cached
        self._require_run(run_id)
        sql = "SELECT coalesce(max(seq), -1) FROM events WHERE run_id = ?"
        last = int(self._rows(f"read the last seq of run {run_id!r}", sql, [run_id])[0][0])
        self._last_seq[run_id] = last
        return last

    # --- the port ----------------------------------------------------------------------

    def create_run(self, info: RunInfo) -> None:
        """Insert a new run row; StoreError if the id is taken. Empty ``started_at`` is set."""
        con = self._writable()
        check_status(info.status, self._where)
        sql = "SELECT 1 FROM runs WHERE run_id = ?"
        if self._rows(f"look up run {info.run_id!r}", sql, [info.run_id]):
            raise StoreError(f"event store {self.path}: run {info.run_id!r} already exists")
        row = {name: getattr(info, name) for name in _RUN_FIELDS}
        row["versions"] = json.dumps(info.versions, sort_keys=True)
        row["started_at"] = info.started_at or now_utc()
        values = list(row.values())
        marks = ", ".join("?" * len(values))
        with self._sql(f"create run {info.run_id!r}"):
            # created_order is computed in the same statement, so it is atomic with the row.
            con.execute(
                f"INSERT INTO runs (created_order, {_RUN_COLUMNS}) "
                f"SELECT (SELECT coalesce(max(created_order), 0) + 1 FROM runs), {marks}",
                values,
            )

    def append(self, batch: EventBatch) -> None:
        """Append ``batch`` atomically; StoreError (nothing written) if it breaks the rules.

        One transaction: look up the run's last seq, check the batch follows it and is
        contiguous, insert it through Arrow, commit. Any failure rolls back.
        """
        con = self._writable()
        run_id = batch.run_id
        self._require_run(run_id)
        with self._sql(f"begin append to run {run_id!r}"):
            con.execute("BEGIN TRANSACTION")
        try:
            check_append(batch, self._lookup_last_seq(run_id), self._where)
            if len(batch):
                table = self._to_arrow(batch)
                with self._sql(f"append {len(batch)} events to run {run_id!r}"):
                    con.register(_APPEND_VIEW, table)
                    try:
                        con.execute(_INSERT_BATCH)
                    finally:
                        con.unregister(_APPEND_VIEW)
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
                f"({_first_line(e)}); nothing written"
            ) from e

    def finish_run(
        self, run_id: str, status: RunStatus, digest: str | None, message: str | None = None
    ) -> None:
        """Set status, digest, message, ``finished_at`` (now) and ``n_events`` (the count)."""
        con = self._writable()
        check_status(status, self._where)
        self._require_run(run_id)
        with self._sql(f"finish run {run_id!r}"):
            con.execute(
                "UPDATE runs SET status = ?, digest = ?, message = ?, finished_at = ?, "
                "n_events = (SELECT count(*) FROM events WHERE run_id = ?) WHERE run_id = ?",
                [status, digest, message, now_utc(), run_id, run_id],
            )

    def get_run(self, run_id: str) -> RunInfo:
        sql = f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = ?"
        rows = self._rows(f"read run {run_id!r}", sql, [run_id])
        if not rows:
            raise unknown_run(run_id, str(self.path), self._known_runs())
        return _run_info(rows[0])

    def list_runs(self) -> list[RunInfo]:
        """All runs, oldest first."""
        sql = f"SELECT {_RUN_COLUMNS} FROM runs ORDER BY created_order"
        return [_run_info(r) for r in self._rows("list runs", sql)]

    def last_seq(self, run_id: str) -> int:
        """The highest sequence number of the run, or -1 when it has no events."""
        return self._lookup_last_seq(run_id)

    def read(self, run_id: str, query: EventQuery = ALL_EVENTS) -> EventBatch:
        """Events of ``run_id`` matching ``query`` (inclusive bounds), in seq order.

        With ``tail`` the last ``limit`` matches are returned, still in ascending seq order.
        """
        self._require_run(run_id)
        check_query(query, self._where)
        q = query
        if q.limit == 0 or (q.kinds is not None and len(q.kinds) == 0):
            return EventBatch.empty(run_id)
        where = ["run_id = ?"]
        params: list[object] = [run_id]
        if q.kinds is not None:
            kinds: Sequence[str] = list(q.kinds)
            where.append(f"kind IN ({', '.join('?' * len(kinds))})")
            params.extend(kinds)
        if q.entity is not None:
            where.append("entity = ?")
            params.append(q.entity)
        for column, lo, hi in (
            ("cycle", q.cycle_min, q.cycle_max),
            ("t_ns", q.t_min, q.t_max),
            ("seq", q.seq_min, q.seq_max),
        ):
            if lo is not None:
                where.append(f"{column} >= ?")
                params.append(int(lo))
            if hi is not None:
                where.append(f"{column} <= ?")
                params.append(int(hi))
        sql = f"SELECT {_EVENT_COLUMNS} FROM events WHERE {' AND '.join(where)}"
        if q.limit is None:
            sql += " ORDER BY seq"
        elif q.tail:
            sql = f"SELECT * FROM ({sql} ORDER BY seq DESC LIMIT ?) ORDER BY seq"
            params.append(int(q.limit))
        else:
            sql += " ORDER BY seq LIMIT ?"
            params.append(int(q.limit))
        with self._sql(f"read run {run_id!r}"):
            table = self.con.sql(sql, params=params).to_arrow_table()
        return EventBatch.from_arrow(run_id, table)

    def close(self) -> None:
        """Close the connection (DuckDB checkpoints on close). Idempotent."""
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


def open_store(location: str | Path, read_only: bool = False) -> DuckDBEventStore:
    """Open the event store at ``location``.

    ``location`` is either a directory (the database is ``<dir>/janus.duckdb``; the
    directory is created unless ``read_only``) or a file path ending in ``.duckdb``.
    Raises StoreError naming the path when it cannot be created, written or opened.
    """
    loc = Path(location).expanduser()
    db = loc if loc.suffix == ".duckdb" else loc / DB_FILENAME
    folder = db.parent
    if read_only:
        if not db.is_file():
            raise StoreError(f"no event store at {db}")
    else:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            reason = e.strerror or type(e).__name__
            if isinstance(e, FileExistsError | NotADirectoryError):
                reason = "a path component is a file, not a directory"
            raise StoreError(f"cannot create event store directory {folder}: {reason}") from e
        if not os.access(folder, os.W_OK | os.X_OK):
            raise StoreError(f"cannot write event store in {folder}: permission denied")
    return DuckDBEventStore(db, read_only=read_only)


__all__ = ["DB_FILENAME", "ROW_GROUP_SIZE", "DuckDBEventStore", "open_store"]
