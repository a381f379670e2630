"""Proportional prioritized experience replay (Schaul et al. 2016, "Prioritized Experience
Replay", ICLR), as pure functions over a ``SumTree``.

Equation numbers are the JANUS spec's (as in ``replay_phase.py``):

* eq. 7   priority  ``p_i = |delta_i| + lambda_logic * v_i + lambda_reward * |r_i| + eps``
* eq. 8   sampling  ``P(i) = p_i^alpha / sum_j p_j^alpha``; the tree's leaves hold ``p^alpha``
  (the caller writes them for occupied slots only, since ``0 ** 0 == 1``)
* eq. 9   IS weight ``w_i = (1 / (N * P(i)))^beta``, normalized by the batch maximum
* eq. 10  ``beta`` annealed linearly from ``beta_start`` to ``beta_end`` over the iterations
  (the policy step that uses the weights, eq. 11, lives in ``agent.py``)

Everything is deterministic: randomness only comes from the ``Generator`` passed in. The
weights are computed by a small numba kernel (one call instead of several numpy calls on
a batch of ~64; no ``fastmath``, so bit for bit reproducible). The parameters have no
defaults here: the spec's values are ``config.Replay``'s, which callers pass in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray

from janus_sim.core.detmath import pow_s
from janus_sim.core.sum_tree import SumTree

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.intp]

_INTS = (int, np.integer)


def compute_priorities(
    td_errors: ArrayLike,
    violations: ArrayLike,
    rewards: ArrayLike,
    lambda_logic: float,
    lambda_reward: float,
    eps: float,
) -> FloatArray:
    """Priorities ``|delta| + lambda_logic * v + lambda_reward * |r| + eps`` (eq. 7), with
    ``config.Replay``'s ``lambda_logic``, ``lambda_reward`` and ``priority_eps``.

    Inputs are 1-D arrays of one length with finite values; ``violations`` >= 0,
    ``lambda_logic`` and ``lambda_reward`` finite and >= 0, ``eps`` finite and > 0, so
    every priority is finite and > 0. Raises ValueError otherwise.
    """
    # Phase 1 calls this a thousand times a night on batches of 64, where checking each
    # input on its own costs more than the formula. A non-finite input makes ``p``
    # non-finite, so valid inputs are recognised from ``p`` itself; only a fault takes
    # ``_check_inputs``, which names the first one.
    delta = np.asarray(td_errors, dtype=np.float64)
    v = np.asarray(violations, dtype=np.float64)
    r = np.asarray(rewards, dtype=np.float64)
    if not (
        delta.ndim == 1
        and delta.shape == v.shape == r.shape
        and math.isfinite(lambda_logic)
        and lambda_logic >= 0.0
        and math.isfinite(lambda_reward)
        and lambda_reward >= 0.0
        and math.isfinite(eps)
        and eps > 0.0
    ):
        _check_inputs(delta, v, r, lambda_logic, lambda_reward, eps)
    p = np.abs(delta) + lambda_logic * v + lambda_reward * np.abs(r) + eps
    if (not v.size or np.min(v) >= 0.0) and np.isfinite(p).all():
        return p
    _check_inputs(delta, v, r, lambda_logic, lambda_reward, eps)
    raise ValueError("priorities overflowed to inf; td_errors or rewards are too large")


def _check_inputs(
    delta: ArrayLike, v: ArrayLike, r: ArrayLike, lambda_logic: float, lambda_reward: float,
    eps: float,
) -> None:  # fmt: skip
    """Raise ValueError for the first of ``compute_priorities``' inputs that breaks its
    contract, in the order td_errors, violations, rewards, shapes, signs, lambdas, eps."""
    d = _finite_1d(delta, "td_errors")
    v = _finite_1d(v, "violations")
    r = _finite_1d(r, "rewards")
    if not d.shape == v.shape == r.shape:
        raise ValueError(
            "td_errors, violations and rewards must have one shape, got "
            f"{d.shape}, {v.shape} and {r.shape}"
        )
    if v.size and not np.min(v) >= 0.0:
        raise ValueError("violations must be >= 0")
    for name, lam in (("lambda_logic", lambda_logic), ("lambda_reward", lambda_reward)):
        if not (np.isfinite(lam) and lam >= 0.0):
            raise ValueError(f"{name} must be finite and >= 0, got {lam!r}")
    if not (np.isfinite(eps) and eps > 0.0):
        raise ValueError(f"eps must be finite and > 0, got {eps!r}")


def beta_at(iteration: int, n_iterations: int, beta_start: float, beta_end: float) -> float:
    """IS exponent at ``iteration`` of ``n_iterations``, linear in the iteration (eq. 10).

    Iteration 0 gives exactly ``beta_start``, the last (``n_iterations - 1``) exactly
    ``beta_end``; a single iteration gives ``beta_end``. Monotone (non-decreasing when
    ``beta_start <= beta_end``) and always within the two. Raises ValueError unless
    ``0 <= iteration < n_iterations`` and both betas lie in [0, 1].
    """
    for name, b in (("beta_start", beta_start), ("beta_end", beta_end)):
        if not 0.0 <= b <= 1.0:
            raise ValueError(f"{name} must lie in [0, 1], got {b!r}")
    if not isinstance(n_iterations, int | np.integer) or n_iterations < 1:
        raise ValueError(f"n_iterations must be an int >= 1, got {n_iterations!r}")
    if not isinstance(iteration, int | np.integer) or not 0 <= iteration < n_iterations:
        raise ValueError(f"iteration must be an int in [0, {n_iterations}), got {iteration!r}")
    if iteration == n_iterations - 1:
        return float(beta_end)
    frac = iteration / (n_iterations - 1)
    beta = beta_start + (beta_end - beta_start) * frac
    # Each step above is monotone in frac; the clamp keeps it so next to the exact end.
    return float(min(max(beta, min(beta_start, beta_end)), max(beta_start, beta_end)))


def sample_probabilities(tree: SumTree, indices: ArrayLike) -> FloatArray:
    """``P(i) = leaf_i / total`` for each index (eq. 8). ValueError if the total is 0."""
    total = tree.total
    if not total > 0.0:
        raise ValueError("sampling probabilities need a tree with total > 0 (all leaves empty)")
    return tree.get(indices) / total


def importance_weights(probs: ArrayLike, n_occupied: int, beta: float) -> FloatArray:
    """Normalized importance weights ``(N * P(i))^-beta / max_j (N * P(j))^-beta`` (eq. 9).

    ``N`` cancels in the normalization, so this computes ``(min_j P(j) / P(i))^beta``:
    the smallest probability gets exactly 1.0 and every weight lies in (0, 1] (the ratio
    is at least ``min_j P(j) > 0`` because every ``P(i) <= 1``, and raising a number in
    (0, 1] to a power in [0, 1] cannot make it smaller). ``probs`` must be a non-empty
    1-D array of values in (0, 1], ``n_occupied`` an int >= 1 and ``beta`` in [0, 1];
    ValueError otherwise.
    """
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 1 or p.size == 0:
        raise ValueError(f"probs must be a non-empty 1-D array, got shape {p.shape}")
    _check_n_beta(n_occupied, beta)
    if not (np.minimum.reduce(p) > 0.0 and np.maximum.reduce(p) <= 1.0):
        raise ValueError("probs must lie in (0, 1] (got a zero, negative, NaN or > 1 value)")
    weights: FloatArray = _weights_kernel(p, float(beta))
    return weights


@numba.njit(cache=True, nogil=True)
def _weights_kernel(p: Any, beta: float) -> Any:
    """``(min(p) / p_i) ** beta``: exactly 1.0 where ``p`` is the minimum."""
    m = p[0]
    for i in range(1, p.size):
        m = min(m, p[i])
    w = np.empty(p.size, dtype=np.float64)
    for i in range(p.size):
        w[i] = pow_s(m / p[i], beta)
    return w


@numba.njit(cache=True, nogil=True)
def _probs_weights_kernel(values: Any, total: float, beta: float) -> Any:
    """Turn leaf ``values`` into probabilities in place; return their weights."""
    for i in range(values.size):
        values[i] = values[i] / total
    return _weights_kernel(values, beta)


def _check_n_beta(n_occupied: int, beta: float) -> None:
    if not isinstance(n_occupied, _INTS) or isinstance(n_occupied, bool) or n_occupied < 1:
        raise ValueError(f"n_occupied must be an int >= 1, got {n_occupied!r}")
    if not 0.0 <= beta <= 1.0:
        raise ValueError(f"beta must lie in [0, 1], got {beta!r}")


@dataclass(frozen=True, slots=True)
class ReplaySample:
    """One prioritized batch: slot indices (sorted), their sampling probabilities
    ``P(i)``, normalized importance weights and the ``beta`` they were computed with.
    The arrays are fresh (not views of the tree)."""

    indices: IndexArray
    probs: FloatArray
    weights: FloatArray
    beta: float


def draw_batch(
    tree: SumTree,
    n_occupied: int,
    batch_size: int,
    beta: float,
    rng: np.random.Generator,
) -> ReplaySample:
    """Draw a stratified batch (eq. 8) with its importance weights at ``beta`` (eq. 9-10).

    ``tree`` leaves hold ``p_i^alpha`` for occupied slots and 0 elsewhere; ``n_occupied``
    is the number of occupied slots (N). Every returned index is an occupied slot, and
    there are exactly ``batch_size`` of them. Raises ValueError when the tree is empty,
    ``batch_size < 1`` or ``beta`` is outside [0, 1].
    """
    _check_n_beta(n_occupied, beta)
    indices, values = tree.sample_with_values(batch_size, rng)
    # Sampled leaves are > 0 and <= total, so probs lie in (0, 1]: no re-check needed.
    # ``values`` is ours to reuse: the kernel divides it in place into the probabilities.
    weights: FloatArray = _probs_weights_kernel(values, tree.total, float(beta))
    return ReplaySample(indices, values, weights, float(beta))


def _finite_1d(x: ArrayLike, name: str) -> FloatArray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (got NaN or inf)")
    return a
