"""A portable UMAP layout with eq. 23's pull towards the night before: the same bits on
every x86-64 CPU.

``embed`` follows umap-learn (``AlignedUMAP``, window 1) step by step: exact kNN and
the fuzzy graph (``fuzzy_graph.py``); the curve 1 / (1 + a d^2b) for
``min_dist`` (``find_ab_params``); a start (a first slice on its principal axes,
``principal_coords``, scaled to a largest coordinate of 10; a later one with each related
point at its previous position, each other point at its related neighbours'
membership-weighted mean) plus a 1e-4 jitter; then SGD (``_optimize``), learning rate
1 - epoch / n_epochs: an edge of weight w is due every max_w / w epochs, pulls its head
towards its tail and pushes it from 5 random points (gamma 1), each term clipped at 4; a
point related to y_prev also takes, at each of its steps, eq. 23's -lambda (y_i - y_prev),
the previous slice held fixed. (umap-learn scales lambda by the Jaccard similarity of the
pair's neighbourhoods; here lambda is the caller's.)

Why it is portable: umap-learn compiles its kernels with fastmath for the host CPU, calls
libm's pow and exp and starts from ARPACK and BLAS, so its coordinates move from one CPU
to the next. Here every kernel is compiled by numba without fastmath (no reassociation,
no FMA contraction: ``tests/unit/test_aligned_layout.py`` reads the assembly), in float64,
from ``+ - * /``, sqrt, comparisons, integer arithmetic and ``detmath``'s exp and log;
every sum runs in a fixed order; the randomness is splitmix64 (integer arithmetic) seeded
by one draw from the caller's Generator. Cost: detmath's exp and log (one each per
sample) are most of it, about 0.4 s a night of 400 points, 1 s of 1000 (200 epochs).
"""

from __future__ import annotations

import functools

import numba
import numpy as np

from janus_sim.core.detmath import exp_s, log_s, matmul
from janus_sim.core.fuzzy_graph import fuzzy_graph

NEGATIVE_SAMPLE_RATE = 5
GAMMA = 1.0
CLIP = 4.0
INIT_RANGE = 10.0
JITTER = 1e-4


@numba.njit(cache=True, nogil=True)
def _next_u64(state: np.ndarray) -> np.uint64:
    # splitmix64 on state[0]: integer arithmetic only, the same stream everywhere.
    z = state[0] + np.uint64(0x9E3779B97F4A7C15)
    state[0] = z
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@numba.njit(cache=True, nogil=True)
def _below(state: np.ndarray, n: int) -> int:
    # Uniform in [0, n < 2^32): the top 32 bits scaled by n, a multiply (a 64-bit modulo
    # is a slow division, on the layout's hottest path).
    return int(np.int64(((_next_u64(state) >> np.uint64(32)) * np.uint64(n)) >> np.uint64(32)))


@numba.njit(cache=True, nogil=True)
def _ab_normal(
    xs: np.ndarray, ys: np.ndarray, a: float, b: float
) -> tuple[float, float, float, float, float, float]:
    # (cost, J^T r, J^T J) of the residuals r = 1 / (1 + a x^2b) - y, summed in order.
    cost, g0, g1, h00, h01, h11 = 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
    for i in range(len(xs)):
        lx = log_s(xs[i]) if xs[i] > 0.0 else 0.0
        u = exp_s(2.0 * b * lx) if xs[i] > 0.0 else 0.0  # x^2b, 0 at x = 0
        den = 1.0 + a * u
        res = 1.0 / den - ys[i]
        ja = -u / (den * den)
        jb = 2.0 * a * lx * ja
        cost, g0, g1 = cost + res * res, g0 + ja * res, g1 + jb * res
        h00, h01, h11 = h00 + ja * ja, h01 + ja * jb, h11 + jb * jb
    return cost, g0, g1, h00, h01, h11


@numba.njit(cache=True, nogil=True)
def _ab_fit(spread: float, min_dist: float, steps: int) -> tuple[float, float]:
    # Levenberg-Marquardt from scipy's start (1, 1), the damped 2x2 normal equations
    # solved by Cramer's rule; a fixed number of steps, each a function of the last.
    xs, ys = np.empty(300), np.empty(300)
    for i in range(300):
        xs[i] = 3.0 * spread * i / 299.0
        ys[i] = 1.0 if xs[i] < min_dist else exp_s(-(xs[i] - min_dist) / spread)
    a, b, mu = 1.0, 1.0, 1e-3
    cur = _ab_normal(xs, ys, a, b)
    for _ in range(steps):
        cost, g0, g1, h00, h01, h11 = cur
        m00, m11 = h00 * (1.0 + mu), h11 * (1.0 + mu)
        det = m00 * m11 - h01 * h01
        if det > 0.0:
            na = a - (g0 * m11 - g1 * h01) / det
            nb = b - (m00 * g1 - h01 * g0) / det
            if na > 0.0 and nb > 0.0:
                trial = _ab_normal(xs, ys, na, nb)
                if trial[0] < cost:
                    a, b, cur, mu = na, nb, trial, mu * 0.3
                    continue
        mu *= 10.0
    return a, b


@functools.lru_cache(maxsize=16)
def find_ab_params(min_dist: float, spread: float = 1.0) -> tuple[float, float]:
    """(a, b) of 1 / (1 + a x^2b) least-squares fitted, as umap-learn's find_ab_params
    does with scipy, to 1 below ``min_dist`` and exp(-(x - min_dist) / spread) above, on
    300 points of [0, 3 spread], by 100 Levenberg-Marquardt steps: umap-learn's values to
    within 1e-5 (min_dist 0.1: a = 1.57694, b = 0.89506), the same bits everywhere."""
    a, b = _ab_fit(float(spread), float(min_dist), 100)
    return float(a), float(b)


@numba.njit(cache=True, nogil=True)
def _centred_eigh(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # (centred x, eigenvalues, eigenvectors as columns) of the scatter matrix by cyclic
    # Jacobi sweeps (a fixed rotation order) until the off-diagonal is negligible.
    # Scalar loops, not array expressions: the same operations on each entry in the same
    # order, without compiling numba's broadcasting machinery (seconds of a cold start).
    n, d = x.shape
    mean = np.zeros(d)
    for i in range(n):  # each entry summed over i in order
        for j in range(d):
            mean[j] += x[i, j]
    xc = np.empty((n, d))
    for j in range(d):
        mean[j] = mean[j] / n
    for i in range(n):
        for j in range(d):
            xc[i, j] = x[i, j] - mean[j]
    a = np.zeros((d, d))
    for i in range(n):
        for p in range(d):
            for j in range(d):
                a[p, j] += xc[i, p] * xc[i, j]
    v = np.zeros((d, d))
    for p in range(d):
        v[p, p] = 1.0
    for _ in range(100):
        off, diag = 0.0, 0.0
        for p in range(d):
            diag += a[p, p] * a[p, p]
            for q in range(p + 1, d):
                off += a[p, q] * a[p, q]
        if not off > 1e-30 * diag:
            break
        for p in range(d - 1):
            for q in range(p + 1, d):
                if a[p, q] == 0.0:
                    continue
                theta = (a[q, q] - a[p, p]) / (2.0 * a[p, q])
                if abs(theta) > 1e150:  # theta^2 would overflow; t ~ 1 / (2 theta)
                    t = 0.5 / theta
                else:
                    t = 1.0 / (abs(theta) + np.sqrt(theta * theta + 1.0))
                    t = -t if theta < 0.0 else t
                c = 1.0 / np.sqrt(t * t + 1.0)
                s = t * c
                for r in range(d):  # A <- A J (columns p, q)
                    arp, arq = a[r, p], a[r, q]
                    a[r, p], a[r, q] = c * arp - s * arq, s * arp + c * arq
                for r in range(d):  # A <- J^T A (rows p, q) and V <- V J
                    apr, aqr = a[p, r], a[q, r]
                    a[p, r], a[q, r] = c * apr - s * aqr, s * apr + c * aqr
                    vrp, vrq = v[r, p], v[r, q]
                    v[r, p], v[r, q] = c * vrp - s * vrq, s * vrp + c * vrq
                a[p, q] = a[q, p] = 0.0  # zero by construction, up to rounding
    vals = np.empty(d)
    for p in range(d):
        vals[p] = a[p, p]
    return xc, vals, v


def principal_coords(x: np.ndarray, k: int = 3) -> np.ndarray:
    """The centred rows of ``x`` (n, d) on their k principal axes, (n, k), by a Jacobi
    eigen-decomposition of the scatter matrix: largest variance first (ties: the lower
    index), each axis signed so that its largest-magnitude coordinate (the first of equal
    ones) is positive, the axes beyond d or beyond the rank (eigenvalue at most 1e-12 of
    the largest) exactly zero."""
    xs = np.ascontiguousarray(x, dtype=np.float64)
    out = np.zeros((xs.shape[0], k))
    if xs.shape[0] == 0 or xs.shape[1] == 0:
        return out
    xc, vals, vecs = _centred_eigh(xs)
    order = np.argsort(-vals, kind="stable")[:k]
    top = max(float(vals[order[0]]), 0.0)
    for col, p in enumerate(order.tolist()):
        if vals[p] > 1e-12 * top:
            axis = matmul(xc, vecs[:, p])  # each coordinate summed in column order
            out[:, col] = -axis if axis[np.argmax(np.abs(axis))] < 0.0 else axis
    return out


# error_model="numpy": a division by zero gives inf or NaN, as the row expressions did.
@numba.njit(cache=True, nogil=True, error_model="numpy")
def _start_from(
    y: np.ndarray, heads: np.ndarray, tails: np.ndarray, w: np.ndarray,
    prev: np.ndarray, related: np.ndarray,
) -> None:  # fmt: skip
    # A later slice's start (as umap-learn's init_from_existing): a related point at its
    # previous position; another at its related neighbours' weighted mean, or all's.
    # Scalar loops, not row expressions (the same operation on each entry, the sums in a
    # fixed order), so numba compiles no broadcasting or shape-error code for them.
    n, dim = y.shape
    acc, norm, mean, n_rel = np.zeros((n, dim)), np.zeros(n), np.zeros(dim), 0
    for i in range(n):
        r = related[i]
        if r >= 0:
            n_rel += 1
            for c in range(dim):
                y[i, c] = prev[r, c]
                mean[c] += prev[r, c]
    for e in range(len(heads)):
        r, h = related[tails[e]], heads[e]
        if r >= 0 and related[h] < 0:
            norm[h] += w[e]
            for c in range(dim):
                acc[h, c] += w[e] * prev[r, c]
    for i in range(n):
        if related[i] < 0:
            for c in range(dim):
                y[i, c] = acc[i, c] / norm[i] if norm[i] > 0.0 else mean[c] / n_rel


@numba.njit(cache=True, nogil=True)
def _jitter(y: np.ndarray, state: np.ndarray) -> None:
    # Coincident starts would never separate (their gradients vanish): a tiny shake,
    # uniform in [-JITTER, JITTER) from the top 53 bits of each draw (exactly scaled).
    for i in range(y.shape[0]):
        for c in range(y.shape[1]):
            u = float(_next_u64(state) >> np.uint64(11)) * (1.0 / 9007199254740992.0)
            y[i, c] += JITTER * (2.0 * u - 1.0)


@numba.njit(cache=True, nogil=True)
def _clip(v: float) -> float:
    return CLIP if v > CLIP else (-CLIP if v < -CLIP else v)


@numba.njit(cache=True, nogil=True)
def _sq_dist(y: np.ndarray, j: int, k: int) -> float:
    acc = 0.0
    for c in range(y.shape[1]):
        acc += (y[j, c] - y[k, c]) * (y[j, c] - y[k, c])
    return acc


@numba.njit(cache=True, nogil=True)
def _move(
    y: np.ndarray, j: int, k: int, coeff: float, prev: np.ndarray, r: int, lam: float,
    alpha: float,
) -> None:  # fmt: skip
    # One step of point j: coeff (y_j - y_k) and, for a related point (r >= 0), eq. 23's
    # pull -lambda (y_j - y_prev), each clipped, as umap-learn's aligned layout steps.
    for c in range(y.shape[1]):
        g = _clip(coeff * (y[j, c] - y[k, c]))
        if r >= 0:
            g -= _clip(lam * (y[j, c] - prev[r, c]))
        y[j, c] += _clip(g) * alpha


@numba.njit(cache=True, nogil=True)
def _optimize(
    y: np.ndarray, heads: np.ndarray, tails: np.ndarray, eps: np.ndarray,
    prev: np.ndarray, related: np.ndarray, a: float, b: float, lam: float,
    n_epochs: int, state: np.ndarray,
) -> None:  # fmt: skip
    # umap-learn's schedule: edge e is due every eps[e] epochs and then owes a negative
    # sample per eps[e] / 5 epochs since its last; only the head moves (each direction of
    # an edge is an edge).
    n = y.shape[0]
    eps_neg = eps / NEGATIVE_SAMPLE_RATE
    next_sample, next_neg = eps.copy(), eps_neg.copy()
    for epoch in range(n_epochs):
        alpha = 1.0 - epoch / n_epochs
        for e in range(len(heads)):
            if next_sample[e] > epoch:
                continue
            j, r = heads[e], related[heads[e]]
            d2 = _sq_dist(y, j, tails[e])
            coeff = 0.0
            if d2 > 0.0:  # -2ab d^2(b-1) / (1 + a d^2b), d^2b by detmath's exp and log
                pb = exp_s(b * log_s(d2))
                coeff = (-2.0 * a * b * (pb / d2)) / (a * pb + 1.0)
            _move(y, j, tails[e], coeff, prev, r, lam, alpha)
            next_sample[e] += eps[e]
            n_neg = max(int((epoch - next_neg[e]) / eps_neg[e]), 0)
            for _ in range(n_neg):
                o = _below(state, n)
                d2 = _sq_dist(y, j, o)
                if d2 > 0.0:  # 2 gamma b / ((0.001 + d^2) (1 + a d^2b))
                    coeff = (2.0 * GAMMA * b) / ((0.001 + d2) * (a * exp_s(b * log_s(d2)) + 1.0))
                elif j == o:
                    continue
                else:
                    coeff = 0.0
                _move(y, j, o, coeff, prev, r, lam, alpha)
            next_neg[e] += n_neg * eps_neg[e]


def embed(
    x: np.ndarray,
    rng: np.random.Generator,
    *,
    n_neighbors: int,
    min_dist: float,
    n_epochs: int,
    n_components: int = 3,
    prev: np.ndarray | None = None,
    related: np.ndarray | None = None,
    lambda_align: float = 0.0,
) -> np.ndarray:
    """The layout of ``x`` (n, d): (n, n_components) float64, always finite.

    ``related[i]`` is the row of ``prev`` (the previous slice, held fixed) holding the
    same entity as point i, or -1; ``lambda_align`` weighs eq. 23's pull towards it. With
    no ``prev`` or no relation the slice starts from its principal axes. Draws exactly one
    integer from ``rng`` whatever the input; the result is a function of the arguments
    and that draw, bit for bit on every CPU.
    """
    state = np.array([rng.integers(0, 2**63, dtype=np.int64)], dtype=np.uint64)
    xs = np.ascontiguousarray(x, dtype=np.float64)
    n = len(xs)
    rel = np.full(n, -1, dtype=np.int64) if related is None else np.asarray(related, np.int64)
    if prev is None or not bool((rel >= 0).any()):
        prev, rel = np.zeros((0, n_components)), np.full(n, -1, dtype=np.int64)
    prev = np.ascontiguousarray(prev, dtype=np.float64)
    if rel.shape != (n,) or prev.shape[1] != n_components or int(rel.max(initial=-1)) >= len(prev):
        raise ValueError("related needs one entry per point, each -1 or a row of prev")
    if n == 0:
        return np.zeros((0, n_components))
    heads, tails, w = fuzzy_graph(xs, n_neighbors, n_epochs)
    if len(prev):
        y = np.zeros((n, n_components))
        _start_from(y, heads, tails, w, prev, rel)
    else:  # umap-learn's scaling of its start: the largest coordinate 10
        y = principal_coords(xs, n_components)
        big = float(np.abs(y).max())
        y = y * (INIT_RANGE / big) if big > 0.0 else y
    _jitter(y, state)
    if len(w):
        a, b = find_ab_params(min_dist)
        _optimize(y, heads, tails, w.max() / w, prev, rel, a, b, lambda_align, n_epochs, state)
    y[~np.isfinite(y).all(axis=1)] = 0.0  # unreachable with clipped steps; guaranteed anyway
    return y
