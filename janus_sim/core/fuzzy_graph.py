"""The layout's graph: exact k nearest neighbours and umap-learn's fuzzy simplicial set.

``fuzzy_graph`` gives the weighted, symmetric edges the portable layout
(``aligned_layout``) pulls along and eq. 31's UMAP term (``projector_umap``) is built
from. Portable as the layout is (see its module doc): numba without fastmath, sums in a
fixed order, ``detmath``'s exp and log, ties broken by index.
"""

from __future__ import annotations

import numba
import numpy as np

from janus_sim.core.detmath import LN2, exp_s, log_s

BISECTION_STEPS = 64
MIN_K_DIST_SCALE = 1e-3


@numba.njit(cache=True, nogil=True)
def knn(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(indices, distances), each (n, k), 1 <= k <= n: column 0 is the point itself
    (distance 0), then its k - 1 nearest others by distance, ties to the lower index."""
    n, d = x.shape
    idx = np.empty((n, k), dtype=np.int64)
    sq = np.empty((n, k))
    for i in range(n):
        idx[i, 0], sq[i, 0], filled = i, 0.0, 1
        for j in range(n):
            if j == i:
                continue
            acc = 0.0
            for c in range(d):
                acc += (x[i, c] - x[j, c]) * (x[i, c] - x[j, c])
            if filled < k:
                filled += 1
            elif not acc < sq[i, k - 1]:
                continue
            pos = filled - 1  # insert after every equal distance: j ascends
            while pos > 1 and sq[i, pos - 1] > acc:
                sq[i, pos], idx[i, pos] = sq[i, pos - 1], idx[i, pos - 1]
                pos -= 1
            sq[i, pos], idx[i, pos] = acc, j
    return idx, np.sqrt(sq)


@numba.njit(cache=True, nogil=True)
def _smooth_knn_dist(dist: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # (rho, sigma) per kNN row, as umap-learn's smooth_knn_dist (local_connectivity 1),
    # always BISECTION_STEPS steps: its early stop is a tolerance, this is a count.
    n, k = dist.shape
    target = log_s(float(k)) / LN2
    total = dist.sum()  # numba sums in index order (no fastmath: no reassociation)
    rho, sigma = np.zeros(n), np.zeros(n)
    for i in range(n):
        row = 0.0
        for j in range(k):
            row += dist[i, j]
            if rho[i] == 0.0 and dist[i, j] > 0.0:
                rho[i] = dist[i, j]  # rows ascend: the first non-zero is the nearest
        lo, hi, mid = 0.0, np.inf, 1.0
        for _ in range(BISECTION_STEPS):
            psum = 0.0
            for j in range(1, k):
                gap = dist[i, j] - rho[i]
                psum += exp_s(-(gap / mid)) if gap > 0.0 else 1.0
            lo, hi = (lo, mid) if psum > target else (mid, hi)
            mid = mid * 2.0 if hi == np.inf else (lo + hi) / 2.0
        floor = MIN_K_DIST_SCALE * (row / k if rho[i] > 0.0 else total / (n * k))
        sigma[i] = max(mid, floor)
    return rho, sigma


@numba.njit(cache=True, nogil=True)
def _fuzzy_edges(
    idx: np.ndarray, dist: np.ndarray, rho: np.ndarray, sigma: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # Each edge of the union once per direction with w = (p + q) - p q: the same number
    # for (i, j) and (j, i), since + and * commute exactly.
    n, k = idx.shape
    p = np.zeros((n, k))
    for i in range(n):
        for t in range(1, k):
            gap = dist[i, t] - rho[i]
            p[i, t] = 1.0 if gap <= 0.0 or sigma[i] == 0.0 else exp_s(-(gap / sigma[i]))
    heads = np.empty(2 * n * k, dtype=np.int64)
    tails = np.empty(2 * n * k, dtype=np.int64)
    w = np.empty(2 * n * k)
    e = 0
    for i in range(n):
        for t in range(1, k):
            j, q, mutual = idx[i, t], 0.0, False
            for s in range(1, k):
                if idx[j, s] == i:
                    q, mutual = p[j, s], True
            heads[e], tails[e], w[e] = i, j, (p[i, t] + q) - p[i, t] * q
            e += 1
            if not mutual:  # else row j emits (j, i) itself
                heads[e], tails[e], w[e] = j, i, w[e - 1]
                e += 1
    return heads[:e], tails[:e], w[:e]


def fuzzy_graph(
    x: np.ndarray, n_neighbors: int, n_epochs: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(heads, tails, weights) of the fuzzy union of ``x``'s kNN graph, k = min(n_neighbors,
    n), as umap-learn's fuzzy_simplicial_set: per point rho (the nearest non-zero distance)
    and sigma (bisection to sum exp(-(d - rho) / sigma) = log2 k, floored at 1e-3 of the
    mean distance), memberships p = exp(-(d - rho) / sigma), weights p + q - p q.
    Symmetric, stably ordered by head (a fixed order), without the edges of weight under
    max / n_epochs (sampled less than once), as umap-learn drops them."""
    xs = np.ascontiguousarray(x, dtype=np.float64)
    idx, dist = knn(xs, min(n_neighbors, len(xs)))
    heads, tails, w = _fuzzy_edges(idx, dist, *_smooth_knn_dist(dist))
    order = np.argsort(heads, kind="stable")
    heads, tails, w = heads[order], tails[order], w[order]
    keep = (w > 0.0) & (w >= (w.max() if len(w) else 0.0) / n_epochs)
    return heads[keep], tails[keep], w[keep]
