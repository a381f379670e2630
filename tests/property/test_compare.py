"""compare: a run against itself (or its deterministic rerun) is identical; compare(A, B)
and compare(B, A) flag the same cycles."""

from __future__ import annotations

import copy
import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from janus_sim.app.compare import RunSource, compare_runs
from janus_sim.app.engine import Engine
from janus_sim.config import Scenario
from janus_sim.memory_store import MemoryEventStore
from tests.conftest import TINY

Variant = tuple[int, float, float, int]
"""(seed, neocortex.eta, neocortex.recall_quantile, replay.n_replays)"""

variants = st.tuples(
    st.integers(0, 3),
    st.sampled_from([0.01, 0.2]),
    st.sampled_from([0.2, 0.5]),
    st.sampled_from([5, 10]),
)

_STORE = MemoryEventStore()
_RUNS: dict[Variant, str] = {}
_IDS = itertools.count()


def _run(v: Variant, *, again: bool = False) -> str:
    """The run of variant ``v`` in the shared store (simulated once; ``again``: a rerun)."""
    if v in _RUNS and not again:
        return _RUNS[v]
    key = f"run-{next(_IDS)}"
    seed, eta, recall, n_replays = v
    d: dict[str, Any] = copy.deepcopy(TINY)
    d["seed"] = seed
    # A low logic gate so that every night consolidates: there are schemas to compare.
    d["neocortex"] = {"eta": eta, "recall_quantile": recall, "logic_threshold": 0.2}
    d["replay"]["n_replays"] = n_replays
    Engine(Scenario.model_validate(d), _STORE, run_id=key).run()
    if not again:
        _RUNS[v] = key
    return key


_SETTINGS = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(v=variants)
def test_a_run_compared_with_itself_is_identical(v: Variant) -> None:
    x = _run(v)
    same = compare_runs(RunSource(_STORE, x), RunSource(_STORE, x))
    assert same.ok and same.flagged_cycles == () and same.first_divergence is None
    for c in same.cycles:
        assert c.schemas is not None and c.schemas.count("id") == c.schemas.n_a
    # A deterministic rerun is the same run: identical too, with an equal digest.
    rerun = compare_runs(RunSource(_STORE, x), RunSource(_STORE, _run(v, again=True)))
    assert rerun.ok and rerun.digests_equal and rerun.flagged_cycles == ()


@_SETTINGS
@given(va=variants, vb=variants)
def test_compare_is_symmetric_in_the_cycles_it_flags(va: Variant, vb: Variant) -> None:
    a, b = RunSource(_STORE, _run(va)), RunSource(_STORE, _run(vb))
    ab, ba = compare_runs(a, b), compare_runs(b, a)
    assert ab.flagged_cycles == ba.flagged_cycles
    assert ab.metric_cycles == ba.metric_cycles
    assert ab.schema_cycles == ba.schema_cycles
    assert ab.ok == ba.ok
    d_ab, d_ba = ab.first_divergence, ba.first_divergence
    assert (d_ab is None) == (d_ba is None)
    if d_ab is not None and d_ba is not None:
        assert (d_ab.seq, d_ab.field) == (d_ba.seq, d_ba.field)
