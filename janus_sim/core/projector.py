"""The parametric projector (spec eq. 27-31): a 256-128-3 ReLU network state -> map.

Fitted each night to the night's embedded points (their states and aligned map
coordinates): the regression term of eq. 31 is what it minimises, plus, when ``train`` is
given one, eq. 31's UMAP term on its outputs (``projector_umap``). The stored network is
exactly eq. 28-30 on the raw state and returns raw map coordinates:

    h1 = relu(e @ W1 + b1),  h2 = relu(h1 @ W2 + b2),  y = h2 @ W3 + b3

(``W_k`` of shape (inputs, outputs): the transposes of the spec's W_k). ``encode`` writes
it as the ``ProjectionFitted.projector`` string: canonical JSON
``{"format": "relu-mlp/1", "layers": [{"shape": [n_in, n_out], "weights": B64, "bias": B64},
...]}`` where each B64 is the base64 of the array's little-endian float64 bytes (weights
row-major). The fold and the awake monitor rebuild it with ``decode`` alone.

Portability. Weights and projections enter the event log and decide anomaly flags, so
training and projecting give the same bits on every x86-64 CPU (any SIMD width, with or
without FMA, any BLAS or numba target): no BLAS, no libm, no global RNG. The arithmetic is
numba kernels without ``fastmath`` (LLVM may neither contract ``a * b + c`` into an FMA nor
reorder a sum) and elementwise numpy ``+ - * /`` (correctly rounded). Every matrix product
is ``_mm_into``, the i-k-j loop: each output summed in k order, SIMD lanes across j.
``tests/unit/test_projector.py`` checks the kernels hold no FMA instruction. A row's
projection depends on that row alone: a state projected alone and inside a batch gives the
same bits.

Training (``train``), and why:

* **Initialisation**: Glorot uniform as scikit-learn's ``MLPRegressor`` does it (bound
  sqrt(6 / (fan_in + fan_out)) for weights and biases, in layer order, weights then bias),
  from ``np.random.default_rng(seed)``: ``random() * 2 bound - bound``.
* **Objective**: on standardized states and normalized targets,
  ``(sum_i ||f(x_i) - t_i||^2 + alpha ||W||^2) / (2 n)``, alpha = 1e-4 on the weights
  only: scikit-learn's gradient, with a loss consistent with it.
* **Optimiser**: full-batch L-BFGS with memory 10, as scikit-learn's (``core/lbfgs.py``).
  On a few hundred points a quasi-Newton method reaches in 100 full-batch steps an error
  Adam needs thousands of steps for; this one fits as well as scikit-learn's
  (``tests/unit/test_projector.py``).
* **Folding**: the inputs' standardization (training mean and ``spread``) and the targets'
  normalization (``center``, ``scale``) are folded into the first and last layers.
"""

from __future__ import annotations

import base64
import itertools
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numba
import numpy as np

from janus_sim.core.lbfgs import lbfgs

if TYPE_CHECKING:
    from janus_sim.core.projector_umap import UmapTerm

HIDDEN = (256, 128)
FORMAT = "relu-mlp/1"
ALPHA = 1e-4  # L2 penalty on the weights
_CHUNK = 32  # samples per pass through the network: activations stay in cache


@numba.njit(cache=True, nogil=True)
def _mm_into(a: Any, b: Any, out: Any) -> Any:
    """out += a @ b for (n, m) x (m, p): out[i, j] += a[i, k] * b[k, j], k in order.

    Three shortcuts, none of which changes a bit: zero ``a[i, k]`` are skipped (for finite
    b the +-0 product leaves an accumulator that starts at +0 unchanged: x + -x is +0),
    four k steps share one pass over j as (((o + p0) + p1) + p2) + p3 (the same additions
    in the same order, a quarter of the stores), and ``b`` is walked in blocks of rows
    that stay in L1 (k still ascends for each output).
    """
    n, m = a.shape
    p = b.shape[1]
    idx = np.empty(m, dtype=np.int64)
    kb = max(4, m if m * p <= 4096 else 2048 // p)  # rows of b per block: 16 KiB
    for k0 in range(0, m, kb):
        for i in range(n):
            cnt = 0
            for k in range(k0, min(k0 + kb, m)):  # the row's nonzero k, branch-free
                idx[cnt] = k
                cnt += a[i, k] != 0.0
            c4 = cnt - cnt % 4
            for q in range(0, c4, 4):
                k_0, k_1, k_2, k_3 = idx[q], idx[q + 1], idx[q + 2], idx[q + 3]
                v0, v1, v2, v3 = a[i, k_0], a[i, k_1], a[i, k_2], a[i, k_3]
                for j in range(p):
                    o = out[i, j] + v0 * b[k_0, j]
                    o = o + v1 * b[k_1, j]
                    o = o + v2 * b[k_2, j]
                    out[i, j] = o + v3 * b[k_3, j]
            for q in range(c4, cnt):
                k = idx[q]
                v = a[i, k]
                for j in range(p):
                    out[i, j] += v * b[k, j]
    return out


# Two kernels rather than one with a ``relu`` flag: numba compiles a flag kernel once for
# each literal its callers pass and once more for a run-time bool (three cold compiles).
@numba.njit(cache=True, nogil=True)
def _dense(h: Any, w: Any, b: Any) -> Any:
    """``h @ w + b``: the sum first, then the bias."""
    out = _mm_into(h, w, np.zeros((h.shape[0], w.shape[1])))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = out[i, j] + b[j]
    return out


@numba.njit(cache=True, nogil=True)
def _dense_relu(h: Any, w: Any, b: Any) -> Any:
    """``relu(_dense(h, w, b))``; NaN becomes 0, as ``v > 0`` fails for it."""
    out = _dense(h, w, b)
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            if not out[i, j] > 0.0:
                out[i, j] = 0.0
    return out


@numba.njit(cache=True, nogil=True)
def _t(a: Any) -> Any:
    """``a.T`` as a C-ordered copy (this loop is twice as fast as ``a.T.copy()``)."""
    out = np.empty((a.shape[1], a.shape[0]))
    for i in range(a.shape[0]):
        for k in range(a.shape[1]):
            out[k, i] = a[i, k]
    return out


@numba.njit(cache=True, nogil=True)
def _grad_into(h: Any, delta: Any, g: Any, gb: Any) -> None:
    """g += h^T delta and gb += column sums of delta, samples in order."""
    _mm_into(_t(h), delta, g)
    for i in range(delta.shape[0]):
        for j in range(delta.shape[1]):
            gb[j] += delta[i, j]


@numba.njit(cache=True, nogil=True)
def _back(delta: Any, wt: Any, a: Any) -> Any:
    """(delta @ W^T) * relu'(z) for ``wt`` = W^T: zero where the activation ``a`` is."""
    d = _mm_into(delta, wt, np.zeros((delta.shape[0], wt.shape[1])))
    for i in range(d.shape[0]):
        for j in range(d.shape[1]):
            if a[i, j] == 0.0:
                d[i, j] = 0.0
    return d


@numba.njit(cache=True, nogil=True)
def _loss_grad(theta: Any, x: Any, y: Any, h1: int, h2: int, grad: Any) -> float:
    """The objective (module doc) at ``theta``; its gradient written into ``grad``.

    ``theta`` is [W1, b1, W2, b2, W3, b3], each flattened row-major. Samples go through
    in chunks, in order, and every sum over samples is accumulated sample by sample, so
    the chunk size changes no bit.
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
    sse = 0.0
    for c0 in range(0, n, _CHUNK):
        xc, yc = x[c0 : c0 + _CHUNK], y[c0 : c0 + _CHUNK]
        a1 = _dense_relu(xc, w1, b1)
        a2 = _dense_relu(a1, w2, b2)
        r = _dense(a2, w3, b3)
        for i in range(r.shape[0]):
            for j in range(o):
                r[i, j] -= yc[i, j]
                sse += r[i, j] * r[i, j]
        # Backward: dL/dW_k = h_{k-1}^T delta_k, delta_{k-1} = (delta_k W_k^T) relu'.
        _grad_into(a2, r, grad[e4:e5].reshape((h2, o)), grad[e5:])
        d2 = _back(r, w3t, a2)
        _grad_into(a1, d2, grad[e2:e3].reshape((h1, h2)), grad[e3:e4])
        d1 = _back(d2, w2t, a1)
        _grad_into(xc, d1, grad[:e1].reshape((d, h1)), grad[e1:e2])
    reg = 0.0
    for s in range(theta.size):
        if s < e1 or e2 <= s < e3 or e4 <= s < e5:  # a weight, not a bias
            reg += theta[s] * theta[s]
            grad[s] = (grad[s] + ALPHA * theta[s]) / n
        else:
            grad[s] = grad[s] / n
    return (sse + ALPHA * reg) / (2.0 * n)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _moments(x: Any) -> tuple[Any, Any]:
    """Per-column mean and ``spread``: numpy's mean and std formulas, rows summed in order.

    Scalar loops, not row expressions: the same operation on each entry, without the
    broadcasting code numba would compile for them (about a second of a cold start).
    """
    n, d = x.shape
    mu, var, sd = np.zeros(d), np.zeros(d), np.empty(d)
    for i in range(n):
        for j in range(d):
            mu[j] += x[i, j]
    for j in range(d):
        mu[j] = mu[j] / n
    for i in range(n):
        for j in range(d):
            var[j] += (x[i, j] - mu[j]) * (x[i, j] - mu[j])
    for j in range(d):
        v = math.sqrt(var[j] / n)
        sd[j] = v if v > 1e-12 else 1.0
    return mu, sd


@numba.njit(cache=True, nogil=True)
def _rmse(pred: Any, coords: Any) -> float:
    """sqrt(mean_i ||pred_i - coords_i||^2), each row's sum then the total, in order."""
    acc = 0.0
    for i in range(pred.shape[0]):
        row = 0.0
        for j in range(pred.shape[1]):
            row += (pred[i, j] - coords[i, j]) * (pred[i, j] - coords[i, j])
        acc += row
    return math.sqrt(acc / pred.shape[0])


def _f64(a: object) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(a, dtype=np.float64))


@dataclass(frozen=True, eq=False)
class Projector:
    """A ReLU MLP as (weights, bias) per layer; ReLU after every layer but the last."""

    layers: tuple[tuple[np.ndarray, np.ndarray], ...]

    @property
    def n_inputs(self) -> int:
        return int(self.layers[0][0].shape[0])

    def project(self, states: np.ndarray) -> np.ndarray:
        """Map coordinates of ``states`` (n, d) -> (n, 3); a single state (d,) -> (3,).

        Portable (module doc), and a row's result depends on that row alone: a state
        projected alone and the same state inside a batch give identical bits.
        """
        x = _f64(states)
        single = x.ndim == 1
        h = x[None, :] if single else x
        last = len(self.layers) - 1
        for k, (w, b) in enumerate(self.layers):
            h = (_dense_relu if k < last else _dense)(h, _f64(w), _f64(b))
        return h[0] if single else h


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f8").tobytes()).decode("ascii")


def _unb64(text: str, shape: tuple[int, ...]) -> np.ndarray:
    raw = np.frombuffer(base64.b64decode(text.encode("ascii"), validate=True), dtype="<f8")
    if raw.size != int(np.prod(shape)):
        raise ValueError(f"projector layer holds {raw.size} values, its shape {shape} needs more")
    return raw.reshape(shape).astype(np.float64)


def encode(p: Projector) -> str:
    """The projector as its ``ProjectionFitted.projector`` string (see the module doc)."""
    layers = [
        {"shape": [int(w.shape[0]), int(w.shape[1])], "weights": _b64(w), "bias": _b64(b)}
        for w, b in p.layers
    ]
    return json.dumps({"format": FORMAT, "layers": layers}, sort_keys=True, separators=(",", ":"))


def decode(text: str) -> Projector | None:
    """The projector ``encode`` wrote; ``None`` for ``""`` (a night with nothing to fit).

    Raises ValueError on anything else that is not a well-formed projector.
    """
    if not text:
        return None
    try:
        doc = json.loads(text)
        if doc.get("format") != FORMAT:
            raise ValueError(f"unknown projector format {doc.get('format')!r}")
        layers = []
        for layer in doc["layers"]:
            n_in, n_out = (int(v) for v in layer["shape"])
            layers.append(
                (_unb64(layer["weights"], (n_in, n_out)), _unb64(layer["bias"], (n_out,)))
            )
    except (KeyError, TypeError, json.JSONDecodeError) as e:
        raise ValueError(f"malformed projector ({e})") from e
    for (w, _), (w_next, _) in itertools.pairwise(layers):
        if w.shape[1] != w_next.shape[0]:
            raise ValueError("projector layers do not chain")
    return Projector(tuple(layers))


def spread(x: np.ndarray) -> np.ndarray:
    """Per-column standard deviation, with 1 where a column is constant (nothing to scale).

    Rows are summed in order (portable); (n, d) with n >= 1.
    """
    return np.asarray(_moments(_f64(x))[1])


def _init(sizes: list[int], seed: int) -> np.ndarray:
    """Glorot-uniform [W1, b1, W2, b2, ...] flattened (module doc)."""
    rng = np.random.default_rng(seed)
    parts = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        for shape in ((fan_in, fan_out), (fan_out,)):
            parts.append((rng.random(shape) * (2.0 * bound) - bound).ravel())
    return np.concatenate(parts)


def train(
    states: np.ndarray,
    coords: np.ndarray,
    center: np.ndarray,
    scale: float,
    *,
    seed: int,
    max_iter: int,
    umap: UmapTerm | None = None,
) -> Projector:
    """Fit the network to map ``states`` (n, d) onto ``coords`` (n, 3); n >= 1.

    Inputs are standardized by the training states' mean and spread, targets normalized
    by ``center`` / ``scale`` (the map's normalization); both are folded into the returned
    weights. ``umap`` (over the states in this order) adds eq. 31's UMAP term; without it,
    or at weight 0, the term is not evaluated and the bits are those of no term. The same
    bits for the same arguments on every CPU (module doc).
    """
    x = _f64(states)
    if x.ndim != 2 or len(x) == 0:
        raise ValueError(f"train: states must be (n, d) with n >= 1, got shape {x.shape}")
    mu, sd = _moments(x)
    xs = _f64((x - mu) / sd)
    target = _f64((_f64(coords) - center) / scale)
    sizes = [x.shape[1], *HIDDEN, target.shape[1]]

    def regression(theta: np.ndarray, grad: np.ndarray) -> float:
        return float(_loss_grad(theta, xs, target, HIDDEN[0], HIDDEN[1], grad))

    objective: Callable[[np.ndarray, np.ndarray], float] = regression
    if umap is not None and umap.weight != 0.0:
        from janus_sim.core import projector_umap  # imports this module: not at the top

        objective = projector_umap.objective(umap, xs, target, regression)
    theta = lbfgs(objective, _init(sizes, seed), max_iter)
    layers, at = [], 0
    for fan_in, fan_out in itertools.pairwise(sizes):
        end = at + fan_in * fan_out
        layers.append((theta[at:end].reshape(fan_in, fan_out), theta[end : end + fan_out]))
        at = end + fan_out
    (w1, b1), (w_last, b_last) = layers[0], layers[-1]
    # relu((x - mu) / sd @ W + b) == relu(x @ (W / sd) + (b - (mu / sd) @ W))
    shift = _mm_into(_f64(mu / sd)[None, :], w1, np.zeros((1, w1.shape[1])))[0]
    layers[0] = (w1 / sd[:, None], b1 - shift)
    # (h @ W + b) * scale + center == h @ (W * scale) + (b * scale + center)
    layers[-1] = (w_last * scale, b_last * scale + center)
    return Projector(tuple(layers))


def rmse(p: Projector, states: np.ndarray, coords: np.ndarray) -> float:
    """Root mean squared Euclidean distance between projections and ``coords``."""
    if len(states) == 0:
        return 0.0
    return float(_rmse(p.project(states), _f64(coords)))
