"""The divergence report against brute force: payload diffs find exactly the perturbed
elements, and compare names the first differing row and flags exactly the cycles whose
metrics differ beyond tolerance (so a compare that never flags anything fails here)."""

from __future__ import annotations

import json
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from janus_sim.app.compare import RunSource, compare_runs, read_cycles
from janus_sim.app.divergence import MAX_INDICES, METADATA_FIELDS, payload_diff
from janus_sim.eventlog import ROW_FIELDS
from tests.property.test_compare import _SETTINGS, _STORE, Variant, _run, variants

finite = st.floats(-1e6, 1e6, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 6), st.integers(1, 6)),
    data=st.data(),
)
def test_payload_diff_finds_exactly_the_perturbed_elements(
    shape: tuple[int, int], data: st.DataObject
) -> None:
    base = np.array(
        data.draw(st.lists(finite, min_size=shape[0] * shape[1], max_size=shape[0] * shape[1]))
    ).reshape(shape)
    flat = sorted(data.draw(st.sets(st.integers(0, base.size - 1), max_size=base.size)))
    other = base.copy()
    for k in flat:
        other.flat[k] = other.flat[k] + data.draw(st.sampled_from([1.0, -2.5, 1e-3]))
    bad = sorted(int(k) for k in np.flatnonzero(other.ravel() != base.ravel()))
    a = json.dumps({"m": base.tolist(), "n": 3})
    b = json.dumps({"m": other.tolist(), "n": 3})
    diffs = payload_diff(a, b)
    if not bad:
        assert diffs == []
        return
    (d,) = diffs
    assert d.path == "m" and d.n_differ == len(bad) and d.size == base.size
    want = [tuple(int(i) for i in np.unravel_index(k, shape)) for k in bad[:MAX_INDICES]]
    assert list(d.indices) == want
    assert d.max_abs_diff == max(abs(float(other.flat[k] - base.flat[k])) for k in bad)
    assert payload_diff(b, b) == []


def _behaviour(kind: str, payload: str, skip: bool) -> str:
    names = METADATA_FIELDS.get(kind, frozenset()) if skip else frozenset()
    return json.dumps({k: v for k, v in json.loads(payload).items() if k not in names})


@_SETTINGS
@given(va=variants, vb=variants)
def test_compare_names_the_first_differing_row_and_flags_what_moved(
    va: Variant, vb: Variant
) -> None:
    a, b = _run(va), _run(vb)
    report = compare_runs(RunSource(_STORE, a), RunSource(_STORE, b))
    x, y = _STORE.read(a), _STORE.read(b)
    skip = report.a.scenario_hash != report.b.scenario_hash
    first = None
    for i in range(min(len(x), len(y))):
        head = [getattr(x, f)[i] != getattr(y, f)[i] for f in ROW_FIELDS[:-1]]
        pay = _behaviour(x.kind[i], x.payload[i], skip) != _behaviour(y.kind[i], y.payload[i], skip)
        if any(head) or pay:
            first = i
            break
    d = report.first_divergence
    if first is None and len(x) == len(y):
        assert report.digests_equal or d is None or d.seq == 0
    elif first is None:
        assert d is not None and d.field == "length" and d.seq == min(len(x), len(y))
    else:
        assert d is not None and d.seq == first and d.fields
        if x.kind[first] == y.kind[first] and x.payload[first] != y.payload[first]:
            keys = {
                k
                for k in json.loads(x.payload[first]) | json.loads(y.payload[first])
                if json.loads(x.payload[first]).get(k) != json.loads(y.payload[first]).get(k)
            }
            assert {f.path.split(".")[0].split("[")[0] for f in d.fields} <= keys
    # cycles whose metrics differ beyond tolerance, by brute force
    ca, cb = read_cycles(_STORE, a), read_cycles(_STORE, b)
    moved = set()
    tol = report.tolerances
    for cycle in set(ca) | set(cb):
        if cycle not in ca or cycle not in cb:
            moved.add(cycle)
            continue
        ma, mb = ca[cycle].metrics, cb[cycle].metrics
        for name in set(ma) | set(mb):
            u, v = ma.get(name), mb.get(name)
            rtol, atol = tol.for_metric(name)
            if u is None or v is None:
                moved.add(cycle)
            elif math.isnan(u) or math.isnan(v):
                if not (math.isnan(u) and math.isnan(v)):
                    moved.add(cycle)
            elif u != v and abs(u - v) > atol + rtol * max(abs(u), abs(v)):
                moved.add(cycle)
    assert set(report.metric_cycles) == moved
    if va != vb and va[1:] != vb[1:]:  # another eta, quantile or replay count: it shows
        assert moved or report.schema_cycles
