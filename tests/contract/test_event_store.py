"""The EventStore contract (``janus_sim.ports``), run over every adapter.

Every test taking the ``store`` fixture runs once per adapter. What only the file-backed
DuckDB store has (persistence, locations, permissions, locks) is tests/unit/test_duckdb_store.py.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from janus_sim.adapters.duckdb_store import (
    DuckDBEventStore,
    open_store,
)
from janus_sim.errors import NotFoundError, StoreError
from janus_sim.eventlog import EventBatch, RunDigest, digest_of, first_broken_link
from janus_sim.memory_store import MemoryEventStore
from janus_sim.ports import EventQuery, EventStore, RunInfo
from tests.store_fixtures import ENTITIES, KINDS, STARTED, assert_same, make_batch, record, run_info


def snapshot(store: EventStore) -> list[tuple[RunInfo, int, list[str]]]:
    """Everything a reader can see, to check that a failed call changed nothing."""
    return [
        (info, store.last_seq(info.run_id), store.read(info.run_id).payload)
        for info in store.list_runs()
    ]


@pytest.fixture(params=["memory", "duckdb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventStore]:
    s: EventStore
    if request.param == "memory":
        s = MemoryEventStore()
    else:
        s = DuckDBEventStore(tmp_path / "events.duckdb")
    yield s
    s.close()


@pytest.fixture
def run_with_events(store: EventStore) -> EventStore:
    """Run ``r`` with events 0..59 appended in batches of 25, 25 and 10."""
    store.create_run(run_info("r"))
    for first, n in ((0, 25), (25, 25), (50, 10)):
        store.append(make_batch("r", first, n))
    return store


# --- runs ------------------------------------------------------------------------------


def test_create_get_and_list_runs_oldest_first(store: EventStore) -> None:
    ids = ["zeta", "alpha", "mid", "beta"]  # not alphabetical: order must be creation order
    for i, run_id in enumerate(ids):
        store.create_run(run_info(run_id, seed=i, message=f"m{i}"))
    assert [r.run_id for r in store.list_runs()] == ids
    assert store.get_run("alpha") == run_info("alpha", seed=1, message="m1")
    assert store.list_runs()[0] == run_info("zeta", seed=0, message="m0")


def test_get_run_returns_a_copy(store: EventStore) -> None:
    store.create_run(run_info("r"))
    store.get_run("r").versions["numpy"] = "tampered"
    assert store.get_run("r").versions["numpy"] == "2.4.6"


def test_empty_started_at_is_filled_in(store: EventStore) -> None:
    store.create_run(run_info("r", started_at=""))
    got = store.get_run("r")
    assert got.started_at.endswith("+00:00")
    assert replace(got, started_at=STARTED) == run_info("r")


def test_duplicate_run_id_is_rejected_and_changes_nothing(store: EventStore) -> None:
    store.create_run(run_info("r"))
    before = snapshot(store)
    with pytest.raises(StoreError, match="'r' already exists"):
        store.create_run(run_info("r", seed=99))
    assert snapshot(store) == before


def test_new_run_has_no_events(store: EventStore) -> None:
    store.create_run(run_info("r"))
    assert store.last_seq("r") == -1
    assert len(store.read("r")) == 0
    assert store.read("r").seq.dtype == np.int64


def test_finish_run(run_with_events: EventStore) -> None:
    store = run_with_events
    store.finish_run("r", "finished", "d1g3st")
    got = store.get_run("r")
    assert (got.status, got.digest, got.message, got.n_events) == ("finished", "d1g3st", None, 60)
    assert got.finished_at and got.finished_at.endswith("+00:00")
    assert replace(got, status="running", digest=None, n_events=0, finished_at=None) == run_info(
        "r"
    )
    store.finish_run("r", "failed", None, "boom: disk full")
    got = store.get_run("r")
    assert (got.status, got.digest, got.message) == ("failed", None, "boom: disk full")


def test_finish_run_rejects_unknown_status(run_with_events: EventStore) -> None:
    with pytest.raises(StoreError, match="status"):
        run_with_events.finish_run("r", "done", None)  # type: ignore[arg-type]
    assert run_with_events.get_run("r").status == "running"


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.get_run("nope"),
        lambda s: s.last_seq("nope"),
        lambda s: s.read("nope"),
        lambda s: s.finish_run("nope", "finished", None),
        lambda s: s.append(make_batch("nope", 0, 3)),
        lambda s: s.append(EventBatch.empty("nope")),
    ],
    ids=["get_run", "last_seq", "read", "finish_run", "append", "append_empty"],
)
def test_unknown_run_is_not_found(store: EventStore, call: Callable[[EventStore], Any]) -> None:
    store.create_run(run_info("known-1"))
    store.create_run(run_info("known-2"))
    with pytest.raises(NotFoundError, match=r"no run 'nope' in .*known runs: 'known-1', 'known-2'"):
        call(store)


# --- append ----------------------------------------------------------------------------


def test_append_and_read_round_trip_every_column(run_with_events: EventStore) -> None:
    store = run_with_events
    assert store.last_seq("r") == 59
    assert_same(store.read("r"), make_batch("r", 0, 60))


def test_runs_do_not_mix(run_with_events: EventStore) -> None:
    store = run_with_events
    store.create_run(run_info("other"))
    store.append(make_batch("other", 0, 5))
    assert_same(store.read("other"), make_batch("other", 0, 5))
    assert store.last_seq("r") == 59
    assert len(store.read("r")) == 60


def test_appended_batch_is_copied(store: EventStore) -> None:
    store.create_run(run_info("r"))
    batch = make_batch("r", 0, 3)
    store.append(batch)
    batch.payload[0] = "mutated"
    batch.cycle[0] = 999
    assert_same(store.read("r"), make_batch("r", 0, 3))


def test_empty_batch_appends_nothing(run_with_events: EventStore) -> None:
    before = snapshot(run_with_events)
    run_with_events.append(EventBatch.empty("r"))
    assert snapshot(run_with_events) == before


def _with_seq(batch: EventBatch, seq: list[int]) -> EventBatch:
    return replace(batch, seq=np.array(seq, dtype=np.int64))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: make_batch("r", 61, 5), "starts at seq 61 but the run's next seq is 60"),
        (lambda: make_batch("r", 0, 5), "starts at seq 0 but the run's next seq is 60"),
        (lambda: make_batch("r", 59, 5), "starts at seq 59"),
        (lambda: _with_seq(make_batch("r", 60, 3), [60, 61, 63]), "non-contiguous"),
        (lambda: _with_seq(make_batch("r", 60, 3), [60, 62, 61]), "non-contiguous"),
        (lambda: _with_seq(make_batch("r", 60, 2), [60, 60]), "non-contiguous"),
        (lambda: replace(make_batch("r", 60, 3), payload=["{}"]), "unequal length"),
    ],
    ids=["gap", "restart", "overlap", "hole", "shuffled", "repeat", "ragged"],
)
def test_bad_batches_are_rejected_and_write_nothing(
    run_with_events: EventStore, make: Callable[[], EventBatch], message: str
) -> None:
    store = run_with_events
    before = snapshot(store)
    with pytest.raises(StoreError, match=message):
        store.append(make())
    assert snapshot(store) == before
    store.append(make_batch("r", 60, 2))  # the store still accepts the right next batch
    assert store.last_seq("r") == 61


def test_first_batch_must_start_at_zero(store: EventStore) -> None:
    store.create_run(run_info("r"))
    with pytest.raises(StoreError, match="next seq is 0"):
        store.append(make_batch("r", 1, 3))
    assert store.last_seq("r") == -1


@pytest.mark.parametrize("bad", [None, 17], ids=["null", "not-a-string"])
def test_failing_batch_is_atomic(run_with_events: EventStore, bad: object) -> None:
    """A batch that fails part-way (row 3 of 5 cannot be stored) leaves no trace."""
    store = run_with_events
    before = snapshot(store)
    batch = make_batch("r", 60, 5)
    batch.payload[3] = bad  # type: ignore[call-overload]
    with pytest.raises(StoreError, match=r"nothing written|failed"):
        store.append(batch)
    assert snapshot(store) == before
    store.append(make_batch("r", 60, 5))
    assert_same(store.read("r"), make_batch("r", 0, 65))


def test_closed_store_refuses_work(store: EventStore) -> None:
    store.create_run(run_info("r"))
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        store.list_runs()
    with pytest.raises(StoreError, match="closed"):
        store.append(make_batch("r", 0, 1))


# --- read ------------------------------------------------------------------------------

QUERIES = {
    "all": EventQuery(),
    "one_kind": EventQuery(kinds=["policy_updated"]),
    "two_kinds_tuple": EventQuery(kinds=("day_opened", "policy_updated")),
    "no_kinds": EventQuery(kinds=[]),
    "unknown_kind": EventQuery(kinds=["nope"]),
    "cycle_min": EventQuery(cycle_min=5),
    "cycle_max": EventQuery(cycle_max=2),
    "cycle_range": EventQuery(cycle_min=3, cycle_max=3),
    "t_exact_bounds": EventQuery(t_min=record(10).t_ns, t_max=record(20).t_ns),
    "t_min": EventQuery(t_min=record(55).t_ns),
    "t_max": EventQuery(t_max=record(0).t_ns),
    "seq_range": EventQuery(seq_min=17, seq_max=42),
    "seq_beyond": EventQuery(seq_min=60),
    "entity": EventQuery(entity="transition:7"),
    "unknown_entity": EventQuery(entity="ghost"),
    "limit": EventQuery(limit=7),
    "limit_zero": EventQuery(limit=0),
    "limit_over": EventQuery(limit=1000),
    "tail": EventQuery(limit=7, tail=True),
    "tail_over": EventQuery(limit=1000, tail=True),
    "tail_no_limit": EventQuery(tail=True),
    "empty_range": EventQuery(cycle_min=4, cycle_max=3),
    "combined": EventQuery(
        kinds=["transition_recorded", "day_opened"],
        entity="agent",
        cycle_min=1,
        t_max=record(50).t_ns,
        seq_min=3,
        limit=4,
    ),
    "combined_tail": EventQuery(
        kinds=["transition_recorded", "day_opened"], entity="agent", cycle_max=6, limit=4, tail=True
    ),
}


def expected(q: EventQuery, n: int = 60) -> list[int]:
    """The sequence numbers ``q`` selects from events 0..n-1, by a plain Python filter."""

    def within(v: int, lo: int | None, hi: int | None) -> bool:
        return (lo is None or v >= lo) and (hi is None or v <= hi)

    seqs = [
        i
        for i in range(n)
        if (q.kinds is None or record(i).kind in q.kinds)
        and (q.entity is None or record(i).entity == q.entity)
        and within(record(i).cycle, q.cycle_min, q.cycle_max)
        and within(record(i).t_ns, q.t_min, q.t_max)
        and within(i, q.seq_min, q.seq_max)
    ]
    if q.limit is not None:
        seqs = seqs[len(seqs) - min(q.limit, len(seqs)) :] if q.tail else seqs[: q.limit]
    return seqs


@pytest.mark.parametrize("name", QUERIES)
def test_read_filters(run_with_events: EventStore, name: str) -> None:
    want = expected(QUERIES[name])
    got = run_with_events.read("r", QUERIES[name])
    assert got.seq.tolist() == want
    assert_same(got, _rows(make_batch("r", 0, 60), want))


def _rows(batch: EventBatch, rows: list[int]) -> EventBatch:
    return batch.take(np.array(rows, dtype=np.intp))


def test_query_table_is_not_vacuous() -> None:
    """Each query selects what its name says: nothing, everything, or a proper subset."""
    nothing = {
        "no_kinds",
        "unknown_kind",
        "seq_beyond",
        "unknown_entity",
        "limit_zero",
        "empty_range",
    }
    everything = {"all", "limit_over", "tail_over", "tail_no_limit"}
    for name, q in QUERIES.items():
        n = len(expected(q))
        if name in nothing:
            assert n == 0, name
        elif name in everything:
            assert n == 60, name
        else:
            assert 0 < n < 60, name


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


RANDOM_QUERIES = st.builds(
    EventQuery,
    kinds=_maybe(st.lists(st.sampled_from([*KINDS, "nope"]), max_size=3, unique=True)),
    cycle_min=_maybe(st.integers(-1, 9)),
    cycle_max=_maybe(st.integers(-1, 9)),
    t_min=_maybe(st.integers(0, 61).map(lambda i: record(i).t_ns - i % 2)),
    t_max=_maybe(st.integers(0, 61).map(lambda i: record(i).t_ns + i % 2)),
    seq_min=_maybe(st.integers(-1, 61)),
    seq_max=_maybe(st.integers(-1, 61)),
    entity=_maybe(st.sampled_from([*ENTITIES, "ghost"])),
    limit=_maybe(st.integers(0, 70)),
    tail=st.booleans(),
)


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(q=RANDOM_QUERIES)
def test_random_queries_match_a_plain_filter(run_with_events: EventStore, q: EventQuery) -> None:
    want = expected(q)
    assert_same(run_with_events.read("r", q), _rows(make_batch("r", 0, 60), want))


@pytest.mark.parametrize("q", [EventQuery(kinds="day_opened"), EventQuery(limit=-1)])
def test_nonsense_queries_are_rejected(run_with_events: EventStore, q: EventQuery) -> None:
    with pytest.raises(StoreError, match="EventQuery"):
        run_with_events.read("r", q)


# --- property: any batch sizes ---------------------------------------------------------

_run_ids = itertools.count()


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=40), max_size=8),
    texts=st.lists(st.text(max_size=12), min_size=1, max_size=5),
)
def test_any_batch_sizes_read_back_in_order(
    store: EventStore, sizes: list[int], texts: list[str]
) -> None:
    run_id = f"prop-{next(_run_ids)}"
    store.create_run(run_info(run_id))
    appended: list[EventBatch] = []
    first = 0
    for n in sizes:
        recs = [
            replace(record(i), entity=texts[i % len(texts)], payload=texts[(i + 1) % len(texts)])
            for i in range(first, first + n)
        ]
        batch = EventBatch.from_records(run_id, first, recs)
        store.append(batch)
        appended.append(batch)
        first += n
    back = store.read(run_id)
    assert store.last_seq(run_id) == first - 1
    assert back.seq.tolist() == list(range(first))
    want = EventBatch.empty(run_id)
    for b in appended:
        want = want.concat(b)
    assert_same(back, want)
    digest = RunDigest()
    digest.update(back)
    assert digest.hexdigest() == digest_of(appended)
    assert digest.n_events == first


def test_both_stores_chain_rows_identically_across_batches(tmp_path: Path) -> None:
    """The chain continues across appends and does not depend on the adapter or run id."""
    whole = make_batch("r", 0, 12)
    chains = []
    for store in (MemoryEventStore(), open_store(tmp_path)):
        for run_id in ("r", "other"):
            store.create_run(run_info(run_id))
            for lo, hi in ((0, 5), (5, 6), (6, 12)):
                part = whole.take(np.arange(lo, hi))
                store.append(replace(part, run_id=run_id))
            back = store.read(run_id)
            assert back.chain is not None and first_broken_link(back) is None
            chains.append(back.chain)
            # A bounded read keeps each row's own hash.
            assert store.read(run_id, EventQuery(seq_min=6)).chain == back.chain[6:]
        store.close()
    assert all(c == chains[0] for c in chains) and len(set(chains[0])) == 12
