"""Hippocampus behaviour the older tests left open (found by mutation testing, QUALITY.md):
the top-k mask is boolean on both of its paths."""

from __future__ import annotations

import numpy as np
import pytest

from janus_sim.core.hippocampus import (
    ortho_loss,
    separate,
    sparse_code,
    sparsity_k,
    top_k,
    top_k_mask,
    train_orthogonality,
)


@pytest.mark.parametrize("with_nan", [False, True])
def test_top_k_mask_is_boolean_on_both_paths(with_nan: bool) -> None:
    h = np.array([[0.5, 2.0, 1.0, 2.0], [3.0, 0.0, 1.0, -1.0]])
    if with_nan:
        h[1, 3] = np.nan  # rows with a NaN take the sorting path
    mask = top_k_mask(h, 2)
    assert mask.dtype == np.bool_
    assert mask.tolist() == [[False, True, False, True], [True, False, True, False]]
    # A boolean mask selects; a 0/1 float mask would index positions 0 and 1 instead.
    assert h[mask].shape == (4,)
    assert np.array_equal(top_k(h, 2), np.where(mask, h, 0.0))


def test_separation_adds_the_bias_before_the_relu() -> None:
    w = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    b = np.array([0.5, -0.25, -3.0])
    h = separate(w, b, np.array([[1.0, 2.0]]))
    assert h.tolist() == [[1.5, 1.75, 0.0]]


def test_sparse_code_keeps_ceil_rho_times_the_hidden_width() -> None:
    rng = np.random.default_rng(0)
    w = rng.normal(size=(8, 3))  # d_h = 8, d_s = 3
    b = np.full(8, 100.0)  # every unit active: only the top-k cut zeroes
    code = sparse_code(w, b, rng.normal(size=(5, 3)), 0.5)
    assert np.count_nonzero(code, axis=1).tolist() == [4] * 5


def test_float_noise_in_rho_times_width_does_not_add_a_unit() -> None:
    assert sparsity_k(10, 0.300000000005) == 3  # 3 + 5e-11 is 3, up to float error
    assert sparsity_k(10, 0.3000001) == 4


def test_top_k_mask_refuses_k_outside_the_row_by_message() -> None:
    with pytest.raises(ValueError) as err:
        top_k_mask(np.zeros((2, 4)), 5)
    assert str(err.value) == "k must be in [1, 4], got 5"


def test_ortho_loss_is_lambda_times_the_squared_frobenius_distance() -> None:
    w = np.array([[1.0, 2.0], [0.0, 1.0], [0.0, 0.0]])  # gram [[1, 2], [2, 5]]
    assert ortho_loss(w, 0.5) == 0.5 * (0.0 + 4.0 + 4.0 + 16.0)


def test_one_orthogonality_step_is_the_gradient_four_lambda_w_gram_minus_i() -> None:
    w = np.array([[1.0, 0.0], [0.0, 2.0]])  # W (W^T W - I) = [[0, 0], [0, 6]]
    out = train_orthogonality(w, lam=0.5, lr=0.01, steps=1)
    assert out[0].tolist() == [1.0, 0.0] and out[1, 0] == 0.0
    assert out[1, 1] == pytest.approx(2.0 - 0.01 * 4.0 * 0.5 * 6.0, rel=1e-15)
    assert w.tolist() == [[1.0, 0.0], [0.0, 2.0]]  # the input is not changed
