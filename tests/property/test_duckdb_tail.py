"""The windowed tail read returns exactly the plain top-N's rows.

``duckdb_tail.read_tail`` searches seq windows below the highest seq the numeric bounds
allow; for any events (several runs interleaved, kinds and entities mixed, times and
cycles in any order) and any tail query, with windows as small as one seq, its rows
equal ``SELECT ... ORDER BY seq DESC LIMIT n`` reordered ascending, column for column.
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from janus_sim.adapters.duckdb_sql import SCHEMA, select_events
from janus_sim.adapters.duckdb_tail import read_tail
from janus_sim.ports import EventQuery

KINDS = ("transition_recorded", "state_checkpoint", "cycle_metrics", "schema_created")
RUNS = ("a", "b")


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(":memory:")
    connection.execute(SCHEMA)
    yield connection
    connection.close()


event = st.tuples(
    st.sampled_from(RUNS),
    st.integers(0, 5),  # cycle
    st.integers(-3, 40),  # t_ns: not monotone in seq, so zone maps may not prune
    st.sampled_from(KINDS),
    st.sampled_from(("x", "y")),  # entity
)
bound = st.none() | st.integers(-2, 45)
query = st.builds(
    EventQuery,
    kinds=st.none() | st.lists(st.sampled_from(KINDS), min_size=1, max_size=3, unique=True),
    cycle_min=st.none() | st.integers(0, 5),
    cycle_max=st.none() | st.integers(0, 5),
    t_min=bound,
    t_max=bound,
    seq_min=bound,
    seq_max=bound,
    entity=st.none() | st.sampled_from(("x", "y")),
    limit=st.integers(1, 6),
    tail=st.just(True),
)


def _plain(con: duckdb.DuckDBPyConnection, run_id: str, q: EventQuery) -> list[dict[str, object]]:
    sql, params = select_events(run_id, q)
    return con.sql(sql, params=params).to_arrow_table().to_pylist()


@settings(max_examples=300, deadline=None)
@given(
    events=st.lists(event, max_size=60),
    q=query,
    run_id=st.sampled_from(RUNS),
    first_window=st.integers(1, 8),
    growth=st.integers(2, 4),
)
def test_windowed_tail_equals_plain_top_n(
    con: duckdb.DuckDBPyConnection,
    events: list[tuple[str, int, int, str, str]],
    q: EventQuery,
    run_id: str,
    first_window: int,
    growth: int,
) -> None:
    con.execute("DELETE FROM events")
    next_seq = {r: 0 for r in RUNS}
    for run, cycle, t_ns, kind, entity in events:  # per-run seqs from 0, gap-free
        seq = next_seq[run]
        next_seq[run] += 1
        con.execute(
            "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, 1, ?, NULL)",
            [run, seq, cycle, t_ns, kind, entity, f'{{"n": {seq}}}'],
        )
    got = read_tail(con, run_id, q, first_window=first_window, growth=growth).to_pylist()
    assert got == _plain(con, run_id, q)


def test_read_tail_refuses_a_query_it_cannot_answer(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(ValueError, match="tail=True, a positive limit"):
        read_tail(con, "a", EventQuery(limit=3))
    with pytest.raises(ValueError, match="growing windows"):
        read_tail(con, "a", EventQuery(limit=1, tail=True), growth=1)
