"""Eq. 31's UMAP term for the parametric projector, as parametric UMAP trains it.

``projector.train(..., umap=term)`` minimises

    regression objective (projector.py)  +  weight * CE / E

where CE is UMAP's fuzzy cross-entropy of the network's outputs f(x_i) *in the normalized
target space* (the space the regression residuals are in), over a fixed set of pairs:

* each positive edge (h, t) of the fuzzy graph of the (standardized) training inputs,
  of membership w: ``w * -log(clip(q(d), EPS, 1))``;
* each negative pair (h, t) (``negatives`` per positive edge, drawn once):
  ``-log(clip(1 - q(d), EPS, 1))``;

with q(d) = 1 / (1 + a d^2b), d = ||f(x_h) - f(x_t)||, (a, b) fitted to ``min_dist``
(``aligned_layout.find_ab_params``) and EPS = 1e-4, as umap-learn's parametric UMAP
(``compute_cross_entropy``) clips. E, the number of positive edges (each direction of an
undirected edge counts, as both are in the graph), is a fixed normaliser: the CE is a mean
per edge, so ``weight`` reads on the scale of the regression's mean squared error. Where a
clip is active the term is constant and its gradient zero, which is its derivative.
``umap_term(..., scale=s)`` evaluates the curve at s d instead, the map's own units for
the map's scale s: there the regression's targets (nearly) minimise the same CE, and the
measured cost in RMSE is several times smaller (``benchmarks/bench_projector_umap.py``).

Differences from umap-learn's ParametricUMAP, and why: it samples edges with frequency
proportional to w and draws fresh negatives per mini-batch for SGD; here every edge
enters once, weighted by w, with one seeded set of negatives, so the objective is a fixed
smooth-almost-everywhere function and the projector's full-batch L-BFGS stays
deterministic. Its negatives are not weighted by their edge's w (one unit each).

The graph is ``fuzzy_graph.fuzzy_graph`` (exact kNN, umap-learn's memberships), edges
under max / ``n_epochs`` dropped as umap-learn drops them (parametric UMAP's default for
small data: 500; pass the map's ``n_epochs`` to use the very graph the map was laid out
from).

Portability, as in projector.py: numba kernels without fastmath; every sum in a fixed
order (outputs' squared distances by coordinate, pairs positive then negative, each in
index order, gradient rows accumulated in that order); d^2b = exp(b log d^2) and the logs
of the loss by ``detmath``'s ``exp_s``/``log_s`` (+ - * / only), never libm or LLVM's
intrinsics; no BLAS. The forward pass of every sample runs first (the edges couple
samples of different chunks), then the CE gradient, added to the output layer's delta,
then backpropagation chunk by chunk with projector.py's kernels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from janus_sim.core.aligned_layout import find_ab_params
from janus_sim.core.detmath import exp_s, log_s, power
from janus_sim.core.fuzzy_graph import fuzzy_graph
from janus_sim.core.projector import (
    _CHUNK,
    ALPHA,
    HIDDEN,
    _back,
    _dense,
    _dense_relu,
    _grad_into,
    _t,
)

EPS, INV_EPS = 1e-4, 1e4  # umap-learn's clip inside the logs, and 1 / it
LOG_INV_EPS = 9.210340371976184  # log(1e4), correctly rounded (a literal: no libm)
NEGATIVES = 5
GRAPH_EPOCHS = 500  # edges under max / GRAPH_EPOCHS dropped, as umap-learn does

Objective = Callable[[np.ndarray, np.ndarray], float]


@dataclass(frozen=True, eq=False)
class UmapTerm:
    """The pairs and curve of eq. 31's UMAP term over one night's training points (in
    training order), and its weight lambda (module doc)."""

    heads: np.ndarray  # int64 (E,): positive edges of the fuzzy graph
    tails: np.ndarray  # int64 (E,)
    weights: np.ndarray  # float64 (E,): their memberships, in (0, 1]
    neg_heads: np.ndarray  # int64 (M,): the fixed negative pairs
    neg_tails: np.ndarray  # int64 (M,)
    a: float
    b: float
    weight: float

    def __post_init__(self) -> None:
        if not (len(self.heads) == len(self.tails) == len(self.weights)):
            raise ValueError("heads, tails and weights must have one entry per edge")
        if len(self.neg_heads) != len(self.neg_tails):
            raise ValueError("neg_heads and neg_tails must have one entry per pair")
        if not (np.isfinite(self.weight) and self.weight >= 0.0):
            raise ValueError(f"the UMAP term's weight must be finite and >= 0, not {self.weight}")


def _i64(a: object) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(a, dtype=np.int64))


def umap_term(
    x_std: np.ndarray,
    *,
    n_neighbors: int,
    min_dist: float,
    weight: float,
    rng: np.random.Generator,
    negatives: int = NEGATIVES,
    n_epochs: int = GRAPH_EPOCHS,
    scale: float = 1.0,
) -> UmapTerm:
    """The term over the rows of ``x_std`` (n, d), the standardized training inputs in the
    order ``train`` gets them: their fuzzy graph (``fuzzy_graph(x_std, n_neighbors,
    n_epochs)``), (a, b) for ``min_dist``, and ``negatives`` pairs per positive edge, each
    the edge's head and a uniform other point.

    ``scale``: the curve is 1 / (1 + a (scale d)^2b) of the normalized distance d, i.e.
    ``a`` becomes a scale^2b. With the map's ``scale`` the term measures distances in the
    map's own units, where its layout (nearly) minimises the same CE, so that the two
    terms of eq. 31 agree; at 1 (the default) UMAP's curve is applied to normalized
    distances, about ``scale`` times shorter, and the term pulls the outputs apart
    (``benchmarks/bench_projector_umap.py`` measures both).

    Draws exactly one integer from ``rng`` whatever the input (the negatives come from a
    generator seeded by it): the caller's stream advances the same every night.
    """
    seed = int(rng.integers(0, 2**63, dtype=np.int64))
    if not (np.isfinite(scale) and scale > 0.0):
        raise ValueError(f"umap_term: scale must be finite and > 0, not {scale}")
    x = np.ascontiguousarray(x_std, dtype=np.float64)
    n = len(x)
    a, b = find_ab_params(float(min_dist))
    a = a if scale == 1.0 else a * power(float(scale), 2.0 * b)
    if x.ndim != 2:
        raise ValueError(f"umap_term: x_std must be (n, d), got shape {x.shape}")
    empty_i, empty_f = np.zeros(0, dtype=np.int64), np.zeros(0)
    if n < 2:
        return UmapTerm(empty_i, empty_i, empty_f, empty_i, empty_i, a, b, float(weight))
    heads, tails, w = fuzzy_graph(x, n_neighbors, n_epochs)
    neg_heads = np.repeat(_i64(heads), negatives)
    draw = np.random.default_rng(seed).integers(0, n - 1, size=len(neg_heads), dtype=np.int64)
    neg_tails = draw + (draw >= neg_heads)  # uniform over the n - 1 points but the head
    return UmapTerm(
        _i64(heads), _i64(tails), np.ascontiguousarray(w, dtype=np.float64),
        neg_heads, _i64(neg_tails), a, b, float(weight),
    )  # fmt: skip


@numba.njit(cache=True, nogil=True)
def _ce_grad(
    y: Any, heads: Any, tails: Any, w: Any, neg_heads: Any, neg_tails: Any,
    a: float, b: float, g: Any,
) -> float:  # fmt: skip
    """The summed CE of the outputs ``y`` (n, k) (not normalised); its gradient added to
    ``g`` (n, k). Pairs m = 0 .. E + M - 1: the positive edges, then the negative pairs,
    each in index order; the total and each row of ``g`` accumulated in that order.

    With D = d^2 and p = D^b: -log q = log(1 + a p), of D-derivative a b p / D / (1 + a p);
    -log(1 - q) = -log(a p / (1 + a p)), of D-derivative -(b / D) / (1 + a p); and
    dD/dy_h = 2 (y_h - y_t) = -dD/dy_t. At D = 0 a positive pair has gradient 0 (its
    limit for b > 1/2) and a negative one is clipped. The logs and exps run in passes of
    their own over all pairs (independent calls overlap: twice as fast as one pass, and
    the same operations on each pair, so the same bits).
    """
    n_pos = heads.size
    size, k = n_pos + neg_heads.size, y.shape[1]
    sq, lg = np.empty(size), np.zeros(size)
    for m in range(size):
        h, t = (heads[m], tails[m]) if m < n_pos else (neg_heads[m - n_pos], neg_tails[m - n_pos])
        acc = 0.0
        for c in range(k):
            acc += (y[h, c] - y[t, c]) * (y[h, c] - y[t, c])
        sq[m] = acc
    for m in range(size):
        if sq[m] > 0.0:
            lg[m] = log_s(sq[m])
    p = np.zeros(size)
    for m in range(size):
        if sq[m] > 0.0:
            p[m] = exp_s(b * lg[m])  # D^b
    for m in range(size):  # the log the loss needs: of 1 / q or of 1 - q
        den = 1.0 + a * p[m]
        if m < n_pos:
            lg[m] = log_s(den) if den <= INV_EPS else LOG_INV_EPS  # q < EPS: clipped
        else:
            away = (a * p[m]) / den  # 1 - q, without the cancellation
            lg[m] = -log_s(away) if away >= EPS else LOG_INV_EPS  # D = 0 included
    total = 0.0
    for m in range(size):
        den = 1.0 + a * p[m]
        if m < n_pos:
            h, t, wm = heads[m], tails[m], w[m]
            total += wm * lg[m]
            clipped = den > INV_EPS or sq[m] == 0.0
            coef = 0.0 if clipped else wm * ((a * b * (p[m] / sq[m])) / den)  # dLoss / dD
        else:
            h, t = neg_heads[m - n_pos], neg_tails[m - n_pos]
            total += lg[m]
            coef = 0.0 if (a * p[m]) / den < EPS else -((b / sq[m]) / den)
        if coef != 0.0:
            for c in range(k):
                step = 2.0 * coef * (y[h, c] - y[t, c])
                g[h, c] += step
                g[t, c] -= step
    return total


@numba.njit(cache=True, nogil=True)
def _loss_grad_umap(
    theta: Any, x: Any, y: Any, h1: int, h2: int, grad: Any,
    heads: Any, tails: Any, w: Any, neg_heads: Any, neg_tails: Any,
    a: float, b: float, lam: float,
) -> float:  # fmt: skip
    """projector._loss_grad's objective plus lam * CE / E, and its gradient in ``grad``.

    The forward pass of every sample first (kept: the backward pass reuses it), then the
    CE and its gradient G on the outputs, then backpropagation chunk by chunk of the
    output deltas r_i + (n lam / E) G_i (the gradient is divided by n at the end).
    """
    n, d = x.shape
    o = y.shape[1]
    e1, e2 = d * h1, d * h1 + h1
    e3, e4 = e2 + h1 * h2, e2 + h1 * h2 + h2
    e5 = e4 + h2 * o
    w1, b1 = theta[:e1].reshape((d, h1)), theta[e1:e2]
    w2, b2 = theta[e2:e3].reshape((h1, h2)), theta[e3:e4]
    w3, b3 = theta[e4:e5].reshape((h2, o)), theta[e5:]
    grad[:] = 0.0
    w2t, w3t = _t(w2), _t(w3)
    act1, act2, out = np.empty((n, h1)), np.empty((n, h2)), np.empty((n, o))
    for c0 in range(0, n, _CHUNK):
        c1 = min(c0 + _CHUNK, n)
        a1 = _dense_relu(x[c0:c1], w1, b1)
        a2 = _dense_relu(a1, w2, b2)
        act1[c0:c1], act2[c0:c1] = a1, a2
        out[c0:c1] = _dense(a2, w3, b3)
    g = np.zeros((n, o))
    ce = _ce_grad(out, heads, tails, w, neg_heads, neg_tails, a, b, g)
    per = lam / heads.size
    coef = n * per
    sse = 0.0
    for i in range(n):
        for j in range(o):
            res = out[i, j] - y[i, j]
            sse += res * res
            out[i, j] = res + coef * g[i, j]  # the output layer's delta, in place
    for c0 in range(0, n, _CHUNK):
        c1 = min(c0 + _CHUNK, n)
        r, a2, a1 = out[c0:c1], act2[c0:c1], act1[c0:c1]
        _grad_into(a2, r, grad[e4:e5].reshape((h2, o)), grad[e5:])
        d2 = _back(r, w3t, a2)
        _grad_into(a1, d2, grad[e2:e3].reshape((h1, h2)), grad[e3:e4])
        d1 = _back(d2, w2t, a1)
        _grad_into(x[c0:c1], d1, grad[:e1].reshape((d, h1)), grad[e1:e2])
    reg = 0.0
    for s in range(theta.size):
        if s < e1 or e2 <= s < e3 or e4 <= s < e5:  # a weight, not a bias
            reg += theta[s] * theta[s]
            grad[s] = (grad[s] + ALPHA * theta[s]) / n
        else:
            grad[s] = grad[s] / n
    return (sse + ALPHA * reg) / (2.0 * n) + per * ce


def _checked(term: UmapTerm, n: int) -> tuple[np.ndarray, ...]:
    arrays = (term.heads, term.tails, term.neg_heads, term.neg_tails)
    ints = tuple(_i64(v) for v in arrays)
    for v in ints:
        if v.size and (int(v.min()) < 0 or int(v.max()) >= n):
            raise ValueError(f"the UMAP term names a point outside the {n} training points")
    return ints[0], ints[1], np.ascontiguousarray(term.weights, dtype=np.float64), *ints[2:]


def objective(
    term: UmapTerm, xs: np.ndarray, target: np.ndarray, regression: Objective
) -> Objective:
    """``train``'s objective with the term on standardized inputs ``xs`` and normalized
    targets ``target``; ``regression`` itself when the term is zero (weight 0 or no edge),
    so that the same bits come out as without it."""
    if term.weight == 0.0 or term.heads.size == 0:
        return regression
    heads, tails, w, neg_heads, neg_tails = _checked(term, len(xs))
    a, b, lam = float(term.a), float(term.b), float(term.weight)

    def f(theta: np.ndarray, grad: np.ndarray) -> float:
        return float(
            _loss_grad_umap(
                theta, xs, target, HIDDEN[0], HIDDEN[1], grad,
                heads, tails, w, neg_heads, neg_tails, a, b, lam,
            )
        )  # fmt: skip

    return f


def cross_entropy(term: UmapTerm, y_norm: np.ndarray) -> float:
    """CE / E of outputs ``y_norm`` (n, k) in the normalized target space (module doc);
    0 without edges."""
    if term.heads.size == 0:
        return 0.0
    y = np.ascontiguousarray(y_norm, dtype=np.float64)
    heads, tails, w, neg_heads, neg_tails = _checked(term, len(y))
    g = np.zeros_like(y)
    total = _ce_grad(y, heads, tails, w, neg_heads, neg_tails, float(term.a), float(term.b), g)
    return float(total) / heads.size
