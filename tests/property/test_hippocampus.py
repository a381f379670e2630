"""Pattern separation and the sparse code (eq. 2-6)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from janus_sim.core.hippocampus import (
    init_separation,
    ortho_loss,
    separate,
    sparsity_k,
    top_k,
    top_k_mask,
    train_orthogonality,
)


@given(d_h=st.integers(1, 2048), rho=st.floats(0.05, 0.15))
def test_k_is_ceil_rho_dh(d_h: int, rho: float) -> None:
    k = sparsity_k(d_h, rho)
    assert k == max(1, math.ceil(round(rho * d_h, 9)))
    assert 1 <= k <= d_h


@given(
    h=arrays(
        np.float64,
        st.tuples(st.integers(1, 6), st.integers(1, 64)),
        elements=st.floats(-10, 10, allow_nan=False),
    ),
    rho=st.floats(0.05, 0.15),
)
def test_top_k_keeps_exactly_k_largest(h: np.ndarray, rho: float) -> None:
    k = sparsity_k(h.shape[1], rho)
    mask = top_k_mask(h, k)
    assert (mask.sum(axis=1) == k).all()
    code = top_k(h, k)
    assert (code[~mask] == 0).all() and (code[mask] == h[mask]).all()
    # every kept entry is >= every dropped entry of its row
    for row, m in zip(h, mask, strict=True):
        if (~m).any():
            assert row[m].min() >= row[~m].max()


def test_separation_is_relu_of_affine_and_init_scale() -> None:
    rng = np.random.default_rng(0)
    w, b = init_separation(12, 2000, rng)
    assert w.shape == (2000, 12) and (b == 0).all()
    assert abs(w.std() - math.sqrt(2 / 2012)) < 0.002
    s = rng.normal(size=(5, 12))
    h = separate(w, b, s)
    assert (h >= 0).all() and np.allclose(h, np.maximum(s @ w.T, 0))


@given(seed=st.integers(0, 2**32 - 1))
def test_orthogonality_training_lowers_the_loss(seed: int) -> None:
    w, _ = init_separation(9, 128, np.random.default_rng(seed))
    before = ortho_loss(w, 0.01)
    after = ortho_loss(train_orthogonality(w, 0.01, 0.05, 50), 0.01)
    assert after < before
