"""The sleep cycle's fast paths equal their definitions bit for bit.

* ``hippocampus.top_k_mask`` (partition + tie count) == the stable descending sort;
* ``SchemaIndex.assign`` (schema-innermost kernel) == the module-level ``assign`` and its
  squared Mahalanobis distances == ``_mahalanobis_sq``'s, over moderate and extreme
  magnitudes (the power-of-two scaling path); ``assign_scored`` returns that choice and
  the chosen schema's distance;
* ``consolidate`` (which builds its result without re-checking it) == ``Schema(...)`` of
  the same fields;
* ``detmath.power`` of an array to a scalar exponent (the priorities' ``p ** alpha``,
  which skips the broadcast) == the broadcast path, for any shape, layout and dtype.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from janus_sim.core import detmath as dm
from janus_sim.core.hippocampus import _top_k_mask_sorted, top_k_mask
from janus_sim.core.neocortex import (
    Schema,
    SchemaIndex,
    _mahalanobis_sq,
    _mahalanobis_sq_one,
    assign,
    consolidate,
    create,
)

# Few distinct values (ties, signed zeros, infinities, NaN) and ordinary floats.
_TIED = st.sampled_from([0.0, -0.0, 1.0, 2.0, -1.0, np.inf, -np.inf, np.nan])
_VALUES = st.one_of(_TIED, st.floats(-1e6, 1e6))


@settings(max_examples=400, deadline=None)
@given(
    h=arrays(np.float64, st.tuples(st.integers(0, 5), st.integers(1, 24)), elements=_VALUES),
    data=st.data(),
)
def test_top_k_mask_equals_stable_sort(h: np.ndarray, data: st.DataObject) -> None:
    k = data.draw(st.integers(1, h.shape[1]))
    assert np.array_equal(top_k_mask(h, k), _top_k_mask_sorted(h, k))
    if len(h):
        assert np.array_equal(top_k_mask(h[0], k), _top_k_mask_sorted(h[0], k))


def _schemas(rng: np.random.Generator, n: int, d: int, scale: float) -> list[Schema]:
    out = []
    for k in range(n):
        s = create(f"s{k}", rng.normal(0, scale, d), 0.0, 0, float(rng.uniform(0.01, 1.0)))
        # (moments of states beyond ~1e153 overflow when consolidated: create only there)
        for _ in range(int(rng.integers(0, 4)) if scale < 1e100 else 0):
            s = consolidate(s, rng.normal(0, scale, d), 0.0, 0, 0.3)
        out.append(s)
    return out


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 40),
    d=st.integers(1, 12),
    log_scale=st.sampled_from([-300.0, -5.0, 0.0, 1.0, 3.0, 150.0, 300.0]),
    log_tau=st.floats(-200, 50),
)
def test_schema_index_equals_assign(
    seed: int, n: int, d: int, log_scale: float, log_tau: float
) -> None:
    rng = np.random.default_rng(seed)
    scale = 10.0**log_scale
    schemas = _schemas(rng, n, d, scale)
    index = SchemaIndex(schemas[: n // 2], d)  # grows through put
    for k in range(n // 2, n):
        index.put(k, schemas[k])
    chols = np.stack([s.chol for s in schemas])
    means = np.stack([s.mean for s in schemas])
    for x in rng.normal(0, scale, (5, d)) * rng.choice([1.0, 1e-3, 1e3], (5, d)):
        one = _mahalanobis_sq_one(x, index._chols_t, index._means_t, index._mean_max, n)
        assert np.array_equal(one, _mahalanobis_sq(x[None, :], chols, means)[0])
        best = assign(schemas, x, log_tau)
        assert index.assign(x, log_tau) == best
        # The distance logged for a joiner is the chosen schema's, exactly (NaN: none).
        got, dist = index.assign_scored(x, log_tau)
        assert got == best and (np.isnan(dist) if best is None else dist == float(one[best]))


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), d=st.integers(1, 10), eta=st.floats(0.001, 1.0))
def test_consolidate_equals_checked_construction(seed: int, d: int, eta: float) -> None:
    rng = np.random.default_rng(seed)
    s = create("a", rng.normal(size=d), 0.5, 0, 0.05)
    for t in range(1, 6):
        s = consolidate(s, rng.normal(size=d) * 3, float(rng.normal()), t, eta)
        ref = Schema(s.id, s.mean, s.cov, s.n_points, s.avg_reward, s.created_ns, t, s.eps)
        for name in ("mean", "cov", "chol"):
            assert np.array_equal(getattr(s, name), getattr(ref, name))
            assert not getattr(s, name).flags.writeable
        assert s.half_log_norm == ref.half_log_norm


@settings(max_examples=300, deadline=None)
@given(
    x=arrays(
        st.sampled_from([np.float64, np.int64]),
        st.lists(st.integers(0, 5), min_size=0, max_size=3).map(tuple),
        elements=st.integers(-50, 50),
    ).map(lambda a: np.asarray(a * 0.37) if a.dtype == np.float64 else a)
    | arrays(np.float64, st.integers(0, 30), elements=_VALUES),
    y=st.one_of(_TIED, st.floats(-8, 8), st.integers(-4, 4)),
    transpose=st.booleans(),
)
def test_power_to_a_scalar_equals_the_broadcast(
    x: np.ndarray, y: float | int, transpose: bool
) -> None:
    x = x.T if transpose else x  # a non-contiguous view when 2-d or more
    got = dm.power(x, y)
    want = dm.power(x, np.full(x.shape, y, dtype=np.float64))  # the broadcast path
    assert got.shape == x.shape and got.dtype == np.float64
    assert np.array_equal(got, want, equal_nan=True)
    assert np.array_equal(np.signbit(got), np.signbit(want))
