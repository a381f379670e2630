"""Full-batch L-BFGS with memory 10, portable: the parametric projector's optimiser.

The projector (``core/projector.py``) fits its network with it, as scikit-learn's
``MLPRegressor`` does with scipy's L-BFGS-B. Every step gives the same bits on every
x86-64 CPU: numba kernels without ``fastmath`` and elementwise numpy.

* Two-loop recursion, every dot product summed in index order.
* Backtracking Armijo line search: c1 = 1e-4; the first trial step is 1, or 1 / ||g||
  without curvature pairs; then the minimiser of the quadratic through f(0), f'(0) and
  f(t), kept within [0.1 t, 0.5 t]; at most 20 trials.
* Without a Wolfe search a pair is kept only when s.y > eps y.y, so the inverse-Hessian
  estimate stays positive definite.
* It stops after ``max_iter`` iterations, or when max |g| <= 1e-7, when an iteration
  gains at most 2.2e-9 max(|f|, 1) (scipy's defaults), or when the line search fails.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numba
import numpy as np

MEMORY = 10  # curvature pairs
GTOL, FTOL = 1e-7, 2.220446049250313e-09  # stopping tolerances (module doc)
_C1, _MAX_TRIALS = 1e-4, 20  # Armijo constant, line-search trials


@numba.njit(cache=True, nogil=True)
def _direction(grad: Any, s_hist: Any, y_hist: Any, rho: Any, order: Any, gamma: float) -> Any:
    """(q, g.q): q = -H grad by the two-loop recursion over the pairs ``order`` (newest
    first), and its slope. Each dot product is summed in index order; each pass applies
    the previous step's ``q += c v`` to an element just before adding the element to the
    next dot product: the operations of separate loops, in their order, in half the
    passes.
    """
    size, used = grad.size, order.size
    q = -grad
    alphas = np.zeros(s_hist.shape[0])
    prev, coef = -1, 0.0  # the update still to apply: q += coef * y_hist[prev]
    for t in range(used):  # first loop, newest pair first
        slot, acc = order[t], 0.0
        for e in range(size):
            if prev >= 0:
                q[e] += coef * y_hist[prev, e]
            acc += s_hist[slot, e] * q[e]
        alphas[slot] = rho[slot] * acc
        prev, coef = slot, -alphas[slot]
    for t in range(used):  # second loop, oldest pair first
        slot, acc = order[used - 1 - t], 0.0
        for e in range(size):
            if t == 0:
                q[e] = (q[e] + coef * y_hist[prev, e]) * gamma
            else:
                q[e] += coef * s_hist[prev, e]
            acc += y_hist[slot, e] * q[e]
        prev, coef = slot, alphas[slot] - rho[slot] * acc
    slope = 0.0
    for e in range(size):
        if used > 0:
            q[e] += coef * s_hist[prev, e]
        slope += grad[e] * q[e]
    return q, slope


@numba.njit(cache=True, nogil=True)
def _pair(new: Any, old: Any, g_new: Any, g_old: Any, s: Any, y: Any) -> tuple[float, float]:
    """s = new - old, y = g_new - g_old; (s.y, y.y), each summed in index order."""
    sy, yy = 0.0, 0.0
    for e in range(new.size):
        s[e] = new[e] - old[e]
        y[e] = g_new[e] - g_old[e]
        sy += s[e] * y[e]
        yy += y[e] * y[e]
    return sy, yy


# error_model="numpy": a division by zero gives inf or NaN, as the row expressions did.


def lbfgs(
    f: Callable[[np.ndarray, np.ndarray], float], theta: np.ndarray, max_iter: int
) -> np.ndarray:
    """Minimise ``f(theta, grad) -> loss`` (``f`` writes the gradient into ``grad``) from
    ``theta`` (module doc); the minimiser. The same bits for the same ``f`` on every CPU."""
    size = theta.size
    grad = np.empty(size)
    loss = f(theta, grad)
    s_hist, y_hist = np.zeros((MEMORY, size)), np.zeros((MEMORY, size))
    rho = np.zeros(MEMORY)
    used, head, gamma = 0, 0, 1.0
    trial, trial_grad = np.empty(size), np.empty(size)
    s_new, y_new = np.empty(size), np.empty(size)
    for _ in range(max_iter):
        if float(np.max(np.abs(grad))) <= GTOL:
            break
        order = np.array([(head - 1 - j) % MEMORY for j in range(used)], dtype=np.int64)
        q, slope = _direction(grad, s_hist, y_hist, rho, order, gamma)
        if not slope < 0.0:  # rounding lost descent: restart from steepest descent
            used, gamma = 0, 1.0
            q, slope = _direction(grad, s_hist, y_hist, rho, order[:0], gamma)
        step = 1.0 if used else min(1.0, 1.0 / math.sqrt(-slope))
        for _ in range(_MAX_TRIALS):
            np.add(theta, step * q, out=trial)  # two roundings each: numpy has no FMA ufunc
            new_loss = f(trial, trial_grad)
            if new_loss <= loss + _C1 * step * slope:
                break
            # Minimiser of the quadratic through f(0), f'(0) and f(step), kept in bounds.
            curv = 2.0 * (new_loss - loss - slope * step)
            guess = -slope * step * step / curv if curv > 0.0 else 0.5 * step
            step = min(max(guess, 0.1 * step), 0.5 * step)
        else:
            break  # no decrease along this direction: done
        sy, yy = _pair(trial, theta, trial_grad, grad, s_new, y_new)
        if sy > 2.220446049250313e-16 * yy:
            s_hist[head], y_hist[head], rho[head] = s_new, y_new, 1.0 / sy
            head, used, gamma = (head + 1) % MEMORY, min(used + 1, MEMORY), sy / yy
        converged = loss - new_loss <= FTOL * max(abs(loss), abs(new_loss), 1.0)
        theta, trial, loss = trial, theta, new_loss
        grad, trial_grad = trial_grad, grad
        if converged:
            break
    return theta
