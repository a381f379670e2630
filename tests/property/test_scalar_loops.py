"""Kernels rewritten from row expressions to scalar loops give the old bits.

``projector._moments`` and ``aligned_layout._start_from`` were written with numpy row
expressions (``mu += x[i]``, ``y[i] = acc[i] / norm[i]``); numba compiles broadcasting and
shape-error code for those, about two seconds of a cold start, so they now loop over the
entries. For any input the results must equal, bit for bit, the row expressions' (kept
below as references, evaluated by numpy), NaN and infinity included.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from janus_sim.core import aligned_layout as al
from janus_sim.core import projector as pj


def _moments_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mu, var = np.zeros(x.shape[1]), np.zeros(x.shape[1])
    for i in range(x.shape[0]):
        mu += x[i]
    mu /= x.shape[0]
    for i in range(x.shape[0]):
        var += (x[i] - mu) * (x[i] - mu)
    sd = np.sqrt(var / x.shape[0])
    return mu, np.where(sd > 1e-12, sd, 1.0)


def _start_from_rows(
    y: np.ndarray,
    heads: np.ndarray,
    tails: np.ndarray,
    w: np.ndarray,
    prev: np.ndarray,
    related: np.ndarray,
) -> None:
    n, dim = y.shape
    acc, norm, mean, n_rel = np.zeros((n, dim)), np.zeros(n), np.zeros(dim), 0
    for i in range(n):
        if related[i] >= 0:
            n_rel += 1
            y[i] = prev[related[i]]
            mean += prev[related[i]]
    for e in range(len(heads)):
        r = related[tails[e]]
        if r >= 0 and related[heads[e]] < 0:
            norm[heads[e]] += w[e]
            acc[heads[e]] += w[e] * prev[r]
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in range(n):
            if related[i] < 0:
                y[i] = acc[i] / norm[i] if norm[i] > 0.0 else mean / n_rel


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 30),
    d=st.integers(1, 6),
    constant=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
    scale=st.sampled_from([1e-9, 1.0, 1e6]),
)
def test_moments_are_the_row_expressions(
    n: int, d: int, constant: bool, seed: int, scale: float
) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)) * scale + rng.normal(size=d)
    if constant:
        x[:, 0] = 3.25
    mu, sd = pj._moments(x)
    want_mu, want_sd = _moments_rows(x)
    assert np.array_equal(mu, want_mu)
    assert np.array_equal(sd, want_sd)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 25),
    n_prev=st.integers(1, 10),
    dim=st.integers(1, 3),
    n_edges=st.integers(0, 60),
    p_related=st.sampled_from([0.0, 0.3, 0.8]),
    seed=st.integers(0, 2**32 - 1),
)
def test_start_from_is_the_row_expressions(
    n: int, n_prev: int, dim: int, n_edges: int, p_related: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    prev = rng.normal(size=(n_prev, dim)) * 5.0
    related = np.where(rng.random(n) < p_related, rng.integers(0, n_prev, n), -1).astype(np.int64)
    heads = rng.integers(0, n, n_edges).astype(np.int64)
    tails = rng.integers(0, n, n_edges).astype(np.int64)
    w = rng.random(n_edges)
    got, want = np.zeros((n, dim)), np.zeros((n, dim))
    al._start_from(got, heads, tails, w, prev, related)
    _start_from_rows(want, heads, tails, w, prev, related)
    assert np.array_equal(got, want, equal_nan=True)
