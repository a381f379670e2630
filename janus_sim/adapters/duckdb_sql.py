"""The SQL of the DuckDB event store: its tables, and the statements built from a query.

Kept apart from ``duckdb_store`` (which runs them) so each module reads in one sitting.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import fields
from typing import Any

import numpy as np
import pyarrow as pa

from janus_sim.ports import EventQuery, RunInfo

# One transaction, so a process killed while creating a store leaves either both
# tables or an empty database (which a writable open completes), never half a schema.
SCHEMA = """
BEGIN TRANSACTION;
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
    payload VARCHAR  NOT NULL USING COMPRESSION zstd,
    chain   BLOB
);
ALTER TABLE events ADD COLUMN IF NOT EXISTS chain BLOB;
COMMIT;
"""

RUN_FIELDS = tuple(f.name for f in fields(RunInfo))  # the runs columns, bar created_order
RUN_COLUMNS = ", ".join(RUN_FIELDS)
COUNT_EVENTS = (
    "SELECT run_id, count(*) FROM events WHERE run_id IN (SELECT unnest(?)) GROUP BY run_id"
)
"""The stored events of the runs in a list: how ``n_events`` reads for a run not
finished, whose row's count is written only when it ends (a killed run never wrote it,
and a resumed one holds the count of its earlier stop)."""
EVENT_COLUMNS = "seq, cycle, t_ns, kind, entity, version, payload, chain"
APPEND_VIEW = "_janus_append_batch"
INSERT_BATCH = (
    f"INSERT INTO events (run_id, {EVENT_COLUMNS}) "
    f"SELECT run_id, {EVENT_COLUMNS} FROM {APPEND_VIEW}"
)


def run_info_of(row: tuple[Any, ...]) -> RunInfo:
    values = dict(zip(RUN_FIELDS, row, strict=True))
    values["versions"] = dict(json.loads(values["versions"]))
    return RunInfo(**values)


def _where(run_id: str, q: EventQuery) -> tuple[str, list[object]]:
    """The WHERE clause (without the keyword) of ``q``'s filters, and its parameters."""
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
    return " AND ".join(where), params


def select_events(run_id: str, q: EventQuery) -> tuple[str, list[object]]:
    """The SELECT for ``read``: the run's events matching ``q`` (``tail``: the last
    ``limit`` matches, ascending). Bounds are inclusive. With a ``limit`` the rows come
    in seq order (DuckDB's top-N reads only seq and the filter columns before it fetches
    the winners' rows). Without one, no ORDER BY: rows come in insertion order, which is
    seq order for every store this package wrote (appends are contiguous, per run, one
    transaction each); the caller checks that and sorts only when it is not
    (``in_seq_order``). Sorting a million payloads costs more than reading them."""
    where, params = _where(run_id, q)
    sql = f"SELECT {EVENT_COLUMNS} FROM events WHERE {where}"
    if q.limit is not None and q.tail:
        sql = f"SELECT * FROM ({sql} ORDER BY seq DESC LIMIT ?) ORDER BY seq"
        params.append(int(q.limit))
    elif q.limit is not None:
        sql += " ORDER BY seq LIMIT ?"
        params.append(int(q.limit))
    return sql, params


def max_seq_sql(run_id: str, q: EventQuery) -> tuple[str, list[object]]:
    """The highest seq of the run's events matching ``q``'s filters (NULL when none
    match); ``limit`` and ``tail`` play no part."""
    where, params = _where(run_id, q)
    return f"SELECT max(seq) FROM events WHERE {where}", params


def in_seq_order(table: pa.Table) -> pa.Table:
    """``table`` sorted by ``seq`` (stable), or ``table`` itself when it already is, as
    every store this package writes reads back: one vectorized check, no sort."""
    seq = table.column("seq").to_numpy()
    if len(seq) < 2 or bool(np.all(seq[1:] >= seq[:-1])):
        return table
    return table.sort_by("seq")
