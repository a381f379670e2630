"""The last ``limit`` events of a query, read from the end of the run backwards.

A plain top-N (``ORDER BY seq DESC LIMIT n``) scans every row of the run that passes the
filters. For a ``kind`` or ``entity`` filter that is a string comparison over the whole
run: at 10 M events the latest checkpoint alone cost 0.11 s on a cold session. The
columns ``seq``, ``cycle`` and ``t_ns`` grow with the run, so DuckDB's zone maps prune
ranges of them well; the strings they cannot prune. So the read first takes the highest
seq the bounds allow (the query's own ``seq_max``, or a ``max(seq)`` that the zone maps
answer almost for free), then runs the same top-N inside a seq window below it, widened
geometrically until it holds ``limit`` matches; once a window would reach seq 0 (or the
query's lower bound) the last try is the plain top-N below that highest seq.

The rows are exactly the plain top-N's: every match has a seq at or below that highest
seq, so when the window ``[lo, hi]`` holds ``limit`` matches no match outside it
(all below ``lo``) could be among the last ``limit``.
"""

from __future__ import annotations

from dataclasses import replace

import duckdb
import pyarrow as pa

from janus_sim.adapters.duckdb_sql import max_seq_sql, select_events
from janus_sim.ports import EventQuery

FIRST_WINDOW = 1 << 14
"""Seqs in the first window: more than one night of crash_week (about 3,500 events) and
of a 10k-transition night (about 13,000), so the latest checkpoint is found at once."""
GROWTH = 8
"""Each further window is this many times wider: a search that finds nothing (a log
without checkpoints) costs at most about GROWTH / (GROWTH - 1) plain scans."""


def read_tail(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    q: EventQuery,
    *,
    first_window: int = FIRST_WINDOW,
    growth: int = GROWTH,
) -> pa.Table:
    """The rows of ``select_events(run_id, q)`` for a query with ``tail`` and a
    positive ``limit``, in ascending seq order."""
    if not q.tail or q.limit is None or q.limit <= 0 or first_window < 1 or growth < 2:
        raise ValueError("read_tail needs tail=True, a positive limit and growing windows")
    # The query's own seq bound stands as it is (an aggregate under a seq filter scans
    # the column); otherwise the numeric bounds alone, which zone maps answer.
    highest = q.seq_max
    if highest is None:
        numeric = replace(q, kinds=None, entity=None, limit=None, tail=False)
        sql, params = max_seq_sql(run_id, numeric)
        highest = con.execute(sql, params).fetchall()[0][0]
        if highest is None:  # nothing within the bounds: the plain query's empty result
            return query_table(con, run_id, q)
    top = int(highest)
    # The append rules start every run at seq 0; the last try keeps the query's own lower
    # bound, so a seq below the floor would still be found.
    floor = 0 if q.seq_min is None else max(q.seq_min, 0)
    width = first_window
    while True:
        lo = top - width + 1
        if lo <= floor:  # the window reaches the bottom: the last try
            return query_table(con, run_id, replace(q, seq_max=top))
        table = query_table(con, run_id, replace(q, seq_min=lo, seq_max=top))
        if table.num_rows >= q.limit:
            return table
        width *= growth


def query_table(con: duckdb.DuckDBPyConnection, run_id: str, q: EventQuery) -> pa.Table:
    """The rows of ``select_events(run_id, q)``, as one plain query."""
    sql, params = select_events(run_id, q)
    return con.sql(sql, params=params).to_arrow_table()
