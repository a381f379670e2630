"""DBSCAN (Ester et al. 1996) that gives the same labels on every CPU (eq. 26 of the spec).

Why not scikit-learn's. Its neighbour searches compute distances either through BLAS
(``||a||^2 - 2 a.b + ||b||^2``, whose rounding depends on the OpenBLAS kernel) or through
compiled tree code, so a point within an ULP of ``eps`` may be a neighbour on one machine
and not on the next, and the cluster labels enter the event log. Here every distance is
computed the same way everywhere, by a numba kernel without ``fastmath`` (no FMA, no
reassociation), on the 3-D maps of a night (n ~ 300-1000) in a few milliseconds.

The contract, point by point:

* **Distance.** The squared Euclidean distance, summed in coordinate order,
  ``sum_c (x_ic - x_jc)^2``, compared with ``eps * eps``. The same bits for (i, j) and
  (j, i), since ``(a - b)^2 == (b - a)^2`` exactly.
* **Neighbourhood.** j is a neighbour of i when that squared distance is ``<= eps * eps``
  (the boundary counts, as in scikit-learn's ``radius_neighbors``); every point is its
  own neighbour.
* **Core points** have at least ``min_samples`` neighbours, themselves included (so with
  ``min_samples=1`` every point is core and there is no noise).
* **Clusters** are grown in index order: the lowest-index core point not yet labelled
  founds the next cluster, which takes every point density-reachable from it (core points
  expand, border points do not).
* **Border points** (not core, within ``eps`` of a core point) join the first cluster
  that reaches them in that order, as in scikit-learn, which assigns them the same way.
* **Noise** is -1. Finally clusters are renumbered 0, 1, ... in order of their first
  member (lowest index), the numbering ``projection._renumber`` gives.

So the labels equal scikit-learn's ``DBSCAN(eps, min_samples).fit_predict`` after that
renumbering wherever no distance falls within rounding of ``eps``
(``tests/unit/test_dbscan.py``). Cost O(n^2 d) time, O(n) memory: no neighbour lists.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
from numpy.typing import NDArray


@numba.njit(cache=True, nogil=True)
def _sq_dist(x: Any, i: int, j: int) -> float:
    acc = 0.0
    for c in range(x.shape[1]):
        diff = x[i, c] - x[j, c]
        acc += diff * diff
    return acc


@numba.njit(cache=True, nogil=True)
def _counts(x: Any, eps2: float) -> Any:
    """Neighbours of each point within ``eps2`` (squared), itself included."""
    n = x.shape[0]
    counts = np.ones(n, dtype=np.int64)
    for i in range(n):
        for j in range(i + 1, n):  # symmetric: each pair once
            if _sq_dist(x, i, j) <= eps2:
                counts[i] += 1
                counts[j] += 1
    return counts


@numba.njit(cache=True, nogil=True)
def _grow(x: Any, eps2: float, core: Any) -> Any:
    """Cluster ids in founding order (see the module doc), -1 for noise."""
    n = x.shape[0]
    labels = np.full(n, -1, dtype=np.int64)
    stack = np.empty(n, dtype=np.int64)  # each core point is pushed at most once
    cluster = 0
    for seed in range(n):
        if labels[seed] != -1 or not core[seed]:
            continue
        labels[seed] = cluster
        stack[0] = seed
        top = 1
        while top > 0:
            top -= 1
            p = stack[top]
            for j in range(n):
                if labels[j] == -1 and _sq_dist(x, p, j) <= eps2:
                    # First reach decides: a border point keeps this cluster.
                    labels[j] = cluster
                    if core[j]:
                        stack[top] = j
                        top += 1
        cluster += 1
    return labels


@numba.njit(cache=True, nogil=True)
def _renumber(labels: Any) -> Any:
    """Clusters numbered 0, 1, ... in order of their first member; noise stays -1."""
    n = labels.shape[0]
    new = np.full(n + 1, -1, dtype=np.int64)  # old id -> new id (ids are < n)
    out = np.full(n, -1, dtype=np.int64)
    k = 0
    for i in range(n):
        lab = labels[i]
        if lab >= 0:
            if new[lab] == -1:
                new[lab] = k
                k += 1
            out[i] = new[lab]
    return out


def _check(points: object, eps: float, min_samples: int) -> NDArray[np.float64]:
    x = np.ascontiguousarray(np.asarray(points, dtype=np.float64))
    if x.ndim != 2:
        raise ValueError(f"dbscan: points must be 2-D (n, d), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("dbscan: points must be finite")
    if not (math.isfinite(eps) and eps > 0.0):
        raise ValueError(f"dbscan: eps must be a positive finite number, got {eps!r}")
    if isinstance(min_samples, bool) or not isinstance(min_samples, int | np.integer):
        raise ValueError(f"dbscan: min_samples must be an int, got {min_samples!r}")
    if min_samples < 1:
        raise ValueError(f"dbscan: min_samples must be >= 1, got {min_samples}")
    return x


def core_points(points: object, eps: float, min_samples: int) -> NDArray[np.bool_]:
    """Which of ``points`` (n, d) are core points (see the module doc)."""
    x = _check(points, eps, min_samples)
    return np.asarray(_counts(x, float(eps) * float(eps)) >= min_samples)


def dbscan(points: object, eps: float, min_samples: int) -> NDArray[np.int64]:
    """DBSCAN labels of ``points`` (n, d): -1 noise, clusters 0, 1, ... by first member.

    Raises ValueError for non-finite points, eps <= 0 or min_samples < 1. Empty input
    gives an empty label array.
    """
    x = _check(points, eps, min_samples)
    if len(x) == 0:
        return np.zeros(0, dtype=np.int64)
    eps2 = float(eps) * float(eps)
    core = _counts(x, eps2) >= min_samples
    labels: NDArray[np.int64] = _renumber(_grow(x, eps2, core))
    return labels
