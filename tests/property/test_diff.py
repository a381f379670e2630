"""diff between moments: empty against itself; names exactly the created and pruned sets."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from janus_sim.app.diff import StateDiff, diff_states, parse_spec, with_membership
from janus_sim.app.engine import Engine
from janus_sim.app.timetravel import Moment, state_at
from janus_sim.config import Scenario
from janus_sim.errors import ConfigError
from janus_sim.memory_store import MemoryEventStore
from tests.conftest import TINY


@pytest.fixture(scope="module")
def store() -> MemoryEventStore:
    s = MemoryEventStore()
    Engine(Scenario.model_validate(TINY), s, run_id="r").run()
    return s


def _schema_events(store: MemoryEventStore, kind: str, lo: int, hi: int) -> list[str]:
    batch = store.read("r")
    return [
        json.loads(batch.payload[i])["schema_id"]
        for i in range(len(batch))
        if batch.kind[i] == kind and lo < int(batch.seq[i]) <= hi
    ]


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_diff_with_itself_is_empty(store: MemoryEventStore, data: st.DataObject) -> None:
    n = len(store.read("r"))
    seq = data.draw(st.integers(0, n - 1))
    state, _ = state_at(store, "r", Moment(seq=seq))
    again, _ = state_at(store, "r", Moment(seq=seq))
    assert diff_states(state, again).empty


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_diff_names_exactly_the_created_and_pruned(
    store: MemoryEventStore, data: st.DataObject
) -> None:
    n = len(store.read("r"))
    a = data.draw(st.integers(0, n - 1))
    b = data.draw(st.integers(a, n - 1))
    sa, _ = state_at(store, "r", Moment(seq=a))
    sb, _ = state_at(store, "r", Moment(seq=b))
    d = diff_states(sa, sb)
    born = _schema_events(store, "schema_created", a, b)
    died = _schema_events(store, "schema_pruned", a, b)
    assert d.created == [s for s in born if s not in died]
    assert sorted(d.pruned) == sorted(s for s in died if s not in born)
    assert all(u.points_after >= u.points_before for u in d.updated)


def test_parse_spec() -> None:
    assert parse_spec("end") == (None, Moment(label="the end of the run"))
    assert parse_spec("x@cycle:3") == ("x", Moment(cycle=3, label="cycle 3"))
    assert parse_spec("seq:12")[1].seq == 12
    assert parse_spec("2025-12-18")[1].t_ns is not None
    with pytest.raises(ConfigError, match="cycle:N with N a whole number"):
        parse_spec("cycle:-1")
    with pytest.raises(ConfigError, match="cycle:N, seq:N or end"):
        parse_spec("yesterday")


def test_the_fixture_run_creates_and_prunes(store: MemoryEventStore) -> None:
    n = len(store.read("r"))
    assert _schema_events(store, "schema_created", -1, n)  # otherwise the tests above are vacuous
    assert _schema_events(store, "schema_pruned", -1, n)


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_the_schema_view_equals_the_full_fold(store: MemoryEventStore, data: st.DataObject) -> None:
    from janus_sim.app.timetravel import SCHEMA_KINDS

    seq = data.draw(st.integers(0, len(store.read("r")) - 1))
    full, last_full = state_at(store, "r", Moment(seq=seq))
    view, last_view = state_at(store, "r", Moment(seq=seq), kinds=SCHEMA_KINDS)
    assert last_full == last_view == seq and full.cycle == view.cycle
    assert diff_states(full, view).empty
    if full.metrics:  # the view holds the metrics since its checkpoint: the latest agree
        assert view.metrics[max(view.metrics)] == full.metrics[max(full.metrics)]


def _regimes(store: MemoryEventStore) -> dict[int, str]:
    batch = store.read("r")
    return {
        int(batch.entity[i].split(":")[1]): json.loads(batch.payload[i])["regime"]
        for i in range(len(batch))
        if batch.kind[i] == "transition_recorded"
    }


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_diff_membership_accounts_for_every_point(
    store: MemoryEventStore, data: st.DataObject
) -> None:
    """Between two moments, what joined a schema is its point delta (a created schema:
    all its points), each transition once, named with its true regime; a created schema's
    points are listed."""
    n = len(store.read("r"))
    a = data.draw(st.integers(0, n - 1))
    b = data.draw(st.integers(a, n - 1))
    sa, _ = state_at(store, "r", Moment(seq=a))
    sb, _ = state_at(store, "r", Moment(seq=b))
    d = with_membership(diff_states(sa, sb), store, "r", a, b)
    assert d.joined is not None
    assert set(d.joined) == set(d.created) | {u.schema_id for u in d.updated}
    for sid in d.created:
        assert d.points[sid] == sb.schemas[sid].n_points == d.joined[sid].count
        assert d.joined[sid].joiners[0].mahalanobis_sq is None  # its founder
    for sid in d.pruned:
        assert d.points[sid] == sa.schemas[sid].n_points
    for u in d.updated:
        assert d.joined[u.schema_id].count == u.points_after - u.points_before
    regimes = _regimes(store)
    ids = [x.transition_id for j in d.joined.values() for x in j.joiners]
    assert len(ids) == len(set(ids))
    for j in d.joined.values():
        assert j.known and len(j.joiners) == j.count
        assert all(x.regime == regimes[x.transition_id] for x in j.joiners)


def test_diff_membership_runs_forwards_only(store: MemoryEventStore) -> None:
    sa, _ = state_at(store, "r", Moment(seq=5))
    with pytest.raises(ValueError, match=r"membership runs forwards: B \(event 3\) precedes A"):
        with_membership(diff_states(sa, sa), store, "r", 5, 3)
    assert with_membership(diff_states(sa, sa), store, "r", 5, 5).joined == {}


def test_diff_table_shows_points_and_joiners(store: MemoryEventStore) -> None:
    """The table gives a created schema its points and each schema who joined it; without
    membership (across runs) it has no joined columns."""
    from rich.console import Console

    from janus_sim.cli.render_diff import diff_tables

    n = len(store.read("r"))
    sa, _ = state_at(store, "r", Moment(cycle=0))
    sb, _ = state_at(store, "r", Moment(seq=n - 1))
    plain = diff_states(sa, sb)
    d = with_membership(diff_states(sa, sb), store, "r", 0, n - 1)

    def text(diff: StateDiff) -> str:
        console = Console(width=250, record=True)
        console.print(diff_tables(diff, "A", "B"))
        return console.export_text()

    assert d.created and d.joined is not None
    sid = d.created[0]
    j = d.joined[sid]
    line = next(x for x in text(d).splitlines() if sid in x and "created" in x)
    cells = [c.strip() for c in line.split("│")]
    regimes = ", ".join(f"{r} {k}" for r, k in j.regime_counts())
    assert cells[3] == str(d.points[sid]) == str(j.count)
    assert cells[6] == f"{j.count}: {regimes}"
    assert cells[7].split()[:3] == [str(x.transition_id) for x in j.joiners[:3]]
    assert f"{sum(x.count for x in d.joined.values())} transitions joined" in text(d)
    assert "joined" not in text(plain) and str(plain.points[sid]) in text(plain)
