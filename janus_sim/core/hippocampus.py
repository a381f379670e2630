"""Pattern separation (eq. 2-4) and the top-k sparse code (eq. 5-6).

h = ReLU(W_sep s + b_sep), with W_sep ~ N(0, sigma^2), sigma = sqrt(2 / (d_s + d_h)),
trained during sleep on the orthogonality regularizer
L_ortho = lambda * ||W^T W - I||_F^2, whose gradient is 4 lambda W (W^T W - I).
The sparse code keeps the k = ceil(rho * d_h) largest activations of each row.
"""

from __future__ import annotations

import math

import numpy as np

from janus_sim.core import detmath as dm


def init_separation(
    state_dim: int, hidden_dim: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(W_sep (d_h, d_s), b_sep (d_h,)) initialized per eq. 3."""
    sigma = math.sqrt(2.0 / (state_dim + hidden_dim))
    return rng.normal(0.0, sigma, size=(hidden_dim, state_dim)), np.zeros(hidden_dim)


def separate(weights: np.ndarray, bias: np.ndarray, states: np.ndarray) -> np.ndarray:
    """h_separated for a (n, d_s) batch: (n, d_h) (eq. 2)."""
    out: np.ndarray = np.maximum(dm.matmul(states, weights.T) + bias, 0.0)
    return out


def sparsity_k(hidden_dim: int, rho: float) -> int:
    """k = ceil(rho * d_h) (eq. 6), computed so that float error cannot add one."""
    return max(1, math.ceil(round(rho * hidden_dim, 9)))


def top_k(h: np.ndarray, k: int) -> np.ndarray:
    """Keep exactly the k largest entries of each row, zero the rest (eq. 5).

    Ties are broken towards the lower index (stable sort), so the code is deterministic.
    """
    return np.where(top_k_mask(h, k), h, 0.0)


def top_k_mask(h: np.ndarray, k: int) -> np.ndarray:
    """The boolean mask of the k kept positions of each row (ties to the lower index).

    Exactly the first k positions of a stable descending sort of each row, found without
    sorting: the row's k-th largest value t (``np.partition``, which only moves values)
    splits it into the entries above t, all kept, and those equal to t, of which the
    lowest-indexed k - #above are kept. Only rows with several entries equal to t need
    the count; rows with a NaN take the sort itself (NaN compares unequal to everything).
    """
    n = h.shape[-1]
    if not 1 <= k <= n:
        raise ValueError(f"k must be in [1, {n}], got {k}")
    if np.isnan(h).any():
        return _top_k_mask_sorted(h, k)
    rows = h.reshape(-1, n)
    kth = np.partition(rows, n - k, axis=-1)[:, n - k, None]
    above = rows > kth
    tied = rows == kth
    mask = above | tied
    crowded = np.count_nonzero(tied, axis=-1) > 1
    if crowded.any():
        t, a = tied[crowded], above[crowded]
        need = k - np.count_nonzero(a, axis=-1)[:, None]
        mask[crowded] = a | (t & (np.cumsum(t, axis=-1) <= need))
    return mask.reshape(h.shape)


def _top_k_mask_sorted(h: np.ndarray, k: int) -> np.ndarray:
    """``top_k_mask`` by a stable sort of each row (its definition)."""
    order = np.argsort(-h, axis=-1, kind="stable")[..., :k]
    mask = np.zeros(h.shape, dtype=bool)
    np.put_along_axis(mask, order, True, axis=-1)
    return mask


def sparse_code(
    weights: np.ndarray, bias: np.ndarray, states: np.ndarray, rho: float
) -> np.ndarray:
    return top_k(separate(weights, bias, states), sparsity_k(weights.shape[0], rho))


def ortho_loss(weights: np.ndarray, lam: float) -> float:
    gram = dm.matmul(weights.T, weights)
    return float(lam * np.sum((gram - np.eye(gram.shape[0])) ** 2))


def train_orthogonality(weights: np.ndarray, lam: float, lr: float, steps: int) -> np.ndarray:
    """``steps`` of gradient descent on L_ortho; returns new weights."""
    w = weights.copy()
    eye = np.eye(w.shape[1])
    for _ in range(steps):
        w -= lr * 4.0 * lam * dm.matmul(w, dm.matmul(w.T, w) - eye)
    return w
