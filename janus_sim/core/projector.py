"""The parametric projector (spec eq. 27-31): a 256-128-3 ReLU network state -> map.

Trained each night with scikit-learn's ``MLPRegressor`` (L-BFGS, seeded ``random_state``,
single-threaded BLAS under the engine's thread limit, so bit-identical across processes)
on the night's embedded points: their states and their aligned map coordinates. The
regression term of eq. 31 is what it minimises; the UMAP term of eq. 31 is the map
itself, which the network is fitted to rather than trained through.

For a well-conditioned fit the network sees standardized states and normalized targets;
both affine maps are then folded into the first and last layers, so the stored network
is exactly eq. 28-30 on the raw state and returns raw map coordinates:

    h1 = relu(e @ W1 + b1),  h2 = relu(h1 @ W2 + b2),  y = h2 @ W3 + b3

(``W_k`` of shape (inputs, outputs): the transposes of the spec's W_k). ``encode`` writes
it as the ``ProjectionFitted.projector`` string: canonical JSON
``{"format": "relu-mlp/1", "layers": [{"shape": [n_in, n_out], "weights": B64, "bias": B64},
...]}`` where each B64 is the base64 of the array's little-endian float64 bytes (weights
row-major). The fold and the awake monitor rebuild it with ``decode`` alone: projecting
needs numpy, not scikit-learn.
"""

from __future__ import annotations

import base64
import itertools
import json
import warnings
from dataclasses import dataclass

import numpy as np

HIDDEN = (256, 128)
FORMAT = "relu-mlp/1"


@dataclass(frozen=True, eq=False)
class Projector:
    """A ReLU MLP as (weights, bias) per layer; ReLU after every layer but the last."""

    layers: tuple[tuple[np.ndarray, np.ndarray], ...]

    @property
    def n_inputs(self) -> int:
        return int(self.layers[0][0].shape[0])

    def project(self, states: np.ndarray) -> np.ndarray:
        """Map coordinates of ``states`` (n, d) -> (n, 3); a single state (d,) -> (3,).

        Deterministic for a given input shape; a row projected alone and within a batch
        may differ in the last bits (BLAS takes other paths).
        """
        x = np.asarray(states, dtype=np.float64)
        single = x.ndim == 1
        h = x[None, :] if single else x
        last = len(self.layers) - 1
        for k, (w, b) in enumerate(self.layers):
            h = h @ w + b
            if k < last:
                h = np.maximum(h, 0.0)
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
    """Per-column standard deviation, with 1 where a column is constant (nothing to scale)."""
    sd = x.std(axis=0)
    return np.where(sd > 1e-12, sd, 1.0)


def train(
    states: np.ndarray,
    coords: np.ndarray,
    center: np.ndarray,
    scale: float,
    *,
    seed: int,
    max_iter: int,
) -> Projector:
    """Fit the network to map ``states`` (n, d) onto ``coords`` (n, 3); n >= 1.

    Inputs are standardized by the training states' mean and spread, targets normalized
    by ``center`` / ``scale`` (the map's normalization); both are folded into the returned
    weights. Deterministic for a given ``seed``.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPRegressor

    x = np.asarray(states, dtype=np.float64)
    mu, sd = x.mean(axis=0), spread(x)
    target = (np.asarray(coords, dtype=np.float64) - center) / scale
    net = MLPRegressor(
        hidden_layer_sizes=HIDDEN,
        activation="relu",
        solver="lbfgs",
        alpha=1e-4,
        max_iter=max_iter,
        tol=1e-7,
        random_state=seed,
    )
    with warnings.catch_warnings():
        # Stopping at max_iter is the budget working as set, not a failure.
        warnings.simplefilter("ignore", ConvergenceWarning)
        net.fit((x - mu) / sd, target)
    ws = [np.asarray(w, dtype=np.float64) for w in net.coefs_]
    bs = [np.asarray(b, dtype=np.float64) for b in net.intercepts_]
    # relu((x - mu) / sd @ W + b) == relu(x @ (W / sd) + (b - (mu / sd) @ W))
    w_first = ws[0] / sd[:, None]
    b_first = bs[0] - (mu / sd) @ ws[0]
    ws[0], bs[0] = w_first, b_first
    # (h @ W + b) * scale + center == h @ (W * scale) + (b * scale + center)
    ws[-1], bs[-1] = ws[-1] * scale, bs[-1] * scale + center
    return Projector(tuple(zip(ws, bs, strict=True)))


def rmse(p: Projector, states: np.ndarray, coords: np.ndarray) -> float:
    """Root mean squared Euclidean distance between projections and ``coords``."""
    if len(states) == 0:
        return 0.0
    err = p.project(states) - coords
    return float(np.sqrt(np.mean(np.sum(err * err, axis=1))))
