"""Trustworthiness of a low-dimensional picture of points (Venna and Kaski, 2001).

    T(k) = 1 - 2 / (n k (2n - 3k - 1)) * sum_i sum_{j in U_k(i)} (r(i, j) - k)

where U_k(i) are the k nearest neighbours of point i in the picture that are not among
its k nearest in the original space, and r(i, j) is j's rank among i's neighbours in the
original space (1 = nearest). 1 means every neighbourhood of the picture is one of the
original space; it is the figure ``sklearn.manifold.trustworthiness`` computes.

Phase 3 records it for the map and for the projector's output every night, so it enters
the event log and must be the same on every CPU: squared distances are summed feature by
feature in index order with elementwise numpy (no BLAS), neighbours are ranked by a stable
sort (ties go to the lower index), and the sum is over integers.
"""

from __future__ import annotations

import numpy as np

K = 5
"""Neighbours per point (scikit-learn's default)."""


def _sq_distances(x: np.ndarray) -> np.ndarray:
    """(n, n) squared Euclidean distances, each summed over the columns in order."""
    n = len(x)
    out = np.zeros((n, n))
    for f in range(x.shape[1]):
        col = x[:, f]
        diff = col[:, None] - col[None, :]
        out += diff * diff
    return out


def _ranked(x: np.ndarray) -> np.ndarray:
    """Per row, the other points from nearest to farthest (a stable sort)."""
    d = _sq_distances(x)
    np.fill_diagonal(d, np.inf)
    return np.argsort(d, axis=1, kind="stable")[:, :-1]


def trustworthiness(high: np.ndarray, low: np.ndarray, k: int = K) -> float | None:
    """T(k) of ``low`` (n, d) as a picture of ``high`` (n, D), rows paired; None when
    there are too few points (the formula needs k < n / 2)."""
    n = len(high)
    if len(low) != n:
        raise ValueError("high and low must hold the same points")
    if not 0 < k < n / 2:
        return None
    rank = np.empty((n, n), dtype=np.int64)
    rows = np.arange(n)[:, None]
    rank[rows, _ranked(np.asarray(high, dtype=np.float64))] = np.arange(1, n)[None, :]
    near_low = _ranked(np.asarray(low, dtype=np.float64))[:, :k]
    excess = rank[rows, near_low] - k
    total = int(excess[excess > 0].sum())
    return 1.0 - total * (2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0)))
