"""Properties of the notebook API's moments and diffs, over any moment of a real run:

* ``run.at(W).schemas`` is the fold of every event up to W (from event 0, by the core's
  own ``apply``), whatever checkpoint ``at`` starts from;
* ``run.diff(A, B)`` takes A's schema ids to B's: (A - pruned) + created = B, the updated
  ones live at both, and each row's points are the schema's at the side it lives on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import janus_sim as js
from janus_sim.app.diff import parse_when
from janus_sim.app.timetravel import schema_rows
from janus_sim.core.codec import decode
from janus_sim.core.state import SimState, apply
from janus_sim.ports import EventQuery
from tests.conftest import write_tiny


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = write_tiny(Path(tmp_path_factory.mktemp("api_moments")) / "tiny.yaml")
    with js.simulate(path) as simulated:
        yield simulated


def _moments(run: Any) -> st.SearchStrategy[str]:
    last_seq = run.info["n_events"] - 1
    last_cycle = int(run.cycles()["cycle"].max())
    return st.one_of(
        st.just("end"),
        st.integers(0, last_cycle).map(lambda n: f"cycle:{n}"),
        st.integers(0, last_seq).map(lambda n: f"seq:{n}"),
        st.sampled_from(["2025-12-17", "2025-12-18", "2025-12-19"]),
        st.tuples(st.sampled_from([17, 18, 19]), st.integers(9, 16), st.integers(0, 59)).map(
            lambda t: f"2025-12-{t[0]}T{t[1]:02d}:{t[2]:02d}"
        ),
    )


def _folded(run: Any, when: str) -> list[dict[str, object]]:
    """The schemas of a plain fold of every event up to ``when``."""
    m = parse_when(when)
    query = EventQuery(t_max=m.t_ns, cycle_max=m.cycle, seq_max=m.seq)
    state = SimState()
    for stored in run.store.events.read(run.run_id, query).records():
        apply(decode(stored.record), state)
    return schema_rows(state)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_at_is_the_fold_of_the_events_up_to_the_moment(run: Any, data: st.DataObject) -> None:
    when = data.draw(_moments(run))
    try:
        moment = run.at(when)
    except js.ApiError as e:  # a time before the first event of the run
        assert "before run" in str(e)
        return
    assert moment.schemas.to_dicts() == _folded(run, when)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_diff_takes_a_to_b(run: Any, data: st.DataObject) -> None:
    a, b = data.draw(_moments(run)), data.draw(_moments(run))
    try:
        at_a, at_b = run.at(a).schemas, run.at(b).schemas
    except js.ApiError:
        return
    d = run.diff(a, b)
    ids_a, ids_b = at_a["id"].to_list(), at_b["id"].to_list()
    by_change = {c: d.filter(change=c)["schema_id"].to_list() for c in ("created", "pruned")}
    updated = set(d.filter(change="updated")["schema_id"])
    assert (set(ids_a) - set(by_change["pruned"])) | set(by_change["created"]) == set(ids_b)
    assert set(by_change["created"]).isdisjoint(ids_a) and set(by_change["pruned"]) <= set(ids_a)
    assert updated <= set(ids_a) & set(ids_b)
    points_a = dict(zip(ids_a, at_a["points"], strict=True))
    points_b = dict(zip(ids_b, at_b["points"], strict=True))
    for r in d.to_dicts():
        sid = r["schema_id"]
        assert r["points"] == (points_a[sid] if r["change"] == "pruned" else points_b[sid])
        assert r["points_before"] == points_a.get(sid)
        assert r["points_after"] == points_b.get(sid)
