"""Fuzzy-logic operators with Logic Tensor Network (LTN) product-logic semantics.

Connectives act elementwise on arrays of truth values in [0, 1] and broadcast like numpy:

* ``not_(x) = 1 - x``
* ``and_(x, y) = x * y`` (product t-norm)
* ``or_(x, y) = x + y - x * y`` (probabilistic sum)
* ``implies(x, y) = 1 - x + x * y`` (Reichenbach), which equals ``or_(not_(x), y)``

Quantifiers aggregate truth values along an axis:

* ``forall`` is the pMeanError ``1 - (mean((1 - x)^p))^(1/p)``
* ``exists`` is the pMean ``(mean(x^p))^(1/p)``
* ``sat_agg`` is pMeanError over a set of closed formulas (LTN's ``SatAgg`` default)

``stable=True`` selects LTN's numerically stable forms, which move inputs off the points
where the gradients of these operators vanish or explode. As LTNtorch defines them
(``ltn/fuzzy_ops.py``), with ``eps = 1e-4``::

    pi_0(x) = (1 - eps) * x + eps      # [0, 1] -> [eps, 1], never 0
    pi_1(x) = (1 - eps) * x            # [0, 1] -> [0, 1 - eps], never 1

    and_     : pi_0 on both operands
    or_      : pi_1 on both operands
    implies  : pi_0 on the antecedent, pi_1 on the consequent
    exists   : pi_0 on every input     (AggregPMean)
    forall   : pi_1 on every input     (AggregPMeanError, so also sat_agg)

Connectives do not check their inputs (they sit on the hot path); given inputs in [0, 1]
their outputs are in [0, 1]. Aggregators check that inputs are finite and within [0, 1]
(up to rounding, which they clip away) because a stray value there would silently bend
a day's satisfaction. An empty aggregation is vacuous: ``forall`` gives 1, ``exists`` 0.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from janus_sim.core import detmath as dm

FloatArray = NDArray[np.float64]

EPS = 1e-4
"""LTNtorch's ``eps`` for the stable projections."""

# Tolerance for aggregator inputs that stray outside [0, 1] through float rounding.
_RANGE_TOL = 1e-9

__all__ = [
    "EPS",
    "and_",
    "exists",
    "forall",
    "implies",
    "not_",
    "or_",
    "pi_0",
    "pi_1",
    "sat_agg",
]


def pi_0(x: ArrayLike) -> FloatArray:
    """LTN's projection of [0, 1] onto [eps, 1]: ``(1 - eps) * x + eps``."""
    return (1.0 - EPS) * np.asarray(x, dtype=np.float64) + EPS


def pi_1(x: ArrayLike) -> FloatArray:
    """LTN's projection of [0, 1] onto [0, 1 - eps]: ``(1 - eps) * x``."""
    return (1.0 - EPS) * np.asarray(x, dtype=np.float64)


def not_(x: ArrayLike) -> FloatArray:
    """Standard negation ``1 - x``."""
    return 1.0 - np.asarray(x, dtype=np.float64)


def and_(x: ArrayLike, y: ArrayLike, *, stable: bool = False) -> FloatArray:
    """Product t-norm ``x * y``; ``stable`` applies ``pi_0`` to both operands first."""
    a, b = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if stable:
        a, b = pi_0(a), pi_0(b)
    return a * b


def or_(x: ArrayLike, y: ArrayLike, *, stable: bool = False) -> FloatArray:
    """Probabilistic sum ``x + y - x * y``; ``stable`` applies ``pi_1`` to both operands."""
    a, b = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if stable:
        a, b = pi_1(a), pi_1(b)
    # 1 - (1-a)(1-b) equals a + b - ab but is built from monotone roundings only, so it
    # stays monotone in floating point (a + b - ab can drop below 1 when b == 1).
    return 1.0 - (1.0 - a) * (1.0 - b)


def implies(x: ArrayLike, y: ArrayLike, *, stable: bool = False) -> FloatArray:
    """Reichenbach implication ``1 - x + x * y``.

    ``stable`` applies ``pi_0`` to the antecedent and ``pi_1`` to the consequent.
    """
    a, b = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if stable:
        a, b = pi_0(a), pi_1(b)
    # 1 - a(1-b): the same value as 1 - a + ab, monotone under rounding (see or_).
    return 1.0 - a * (1.0 - b)


def _check_p(p: float) -> float:
    """``p`` as a float; raises ValueError unless it is finite and >= 1."""
    p = float(p)
    if not (math.isfinite(p) and p >= 1.0):  # also rejects NaN
        raise ValueError(f"p must be a finite number >= 1, got {p!r}")
    return p


def _truths(x: ArrayLike, what: str) -> FloatArray:
    """``x`` as float64 truth values: raises ValueError on NaN, infinity or values outside
    [0, 1] beyond rounding; clips the rounding away so powers of ``1 - x`` stay real."""
    a = np.asarray(x, dtype=np.float64)
    if a.size and not (
        np.all(np.isfinite(a)) and a.min() >= -_RANGE_TOL and a.max() <= 1.0 + _RANGE_TOL
    ):
        bad = a[~(np.isfinite(a) & (a >= -_RANGE_TOL) & (a <= 1.0 + _RANGE_TOL))]
        raise ValueError(f"{what} expects truth values in [0, 1], got {bad.flat[0]!r}")
    return np.clip(a, 0.0, 1.0)


def _power_mean(v: FloatArray, p: float, axis: int | tuple[int, ...] | None) -> FloatArray:
    """``(mean(v^p))^(1/p)`` along ``axis``, with the mean of an empty set taken as 0."""
    s = np.sum(dm.power(v, p), axis=axis)
    count = v.size // s.size if s.size else 0
    mean = s / count if count else np.zeros_like(s)
    result: FloatArray = np.asarray(dm.power(np.asarray(mean), 1.0 / p), dtype=np.float64)
    return result


def forall(
    x: ArrayLike,
    p: float = 2.0,
    axis: int | tuple[int, ...] | None = None,
    stable: bool = False,
) -> FloatArray:
    """pMeanError ``1 - (mean((1 - x)^p))^(1/p)`` along ``axis`` (all axes when None).

    Contract: ``p`` finite and >= 1, else ValueError; ``x`` within [0, 1], else ValueError.
    The result is in [0, 1] and never exceeds the arithmetic mean of ``x``. All-true
    input gives exactly 1 (``stable=False``) or ``1 - eps`` (``stable=True``, which
    applies ``pi_1`` to ``x``). Aggregating nothing gives 1.
    """
    p = _check_p(p)
    a = _truths(x, "forall")
    if stable:
        a = pi_1(a)
    result: FloatArray = 1.0 - _power_mean(1.0 - a, p, axis)
    return result


def exists(
    x: ArrayLike,
    p: float = 2.0,
    axis: int | tuple[int, ...] | None = None,
    stable: bool = False,
) -> FloatArray:
    """pMean ``(mean(x^p))^(1/p)`` along ``axis`` (all axes when None).

    Contract: as ``forall``. The result is in [0, 1] and never below the arithmetic mean
    of ``x``. All-false input gives exactly 0 (``stable=False``) or ``eps``
    (``stable=True``, which applies ``pi_0`` to ``x``). Aggregating nothing gives 0.
    """
    p = _check_p(p)
    a = _truths(x, "exists")
    if stable:
        a = pi_0(a)
    return _power_mean(a, p, axis)


def sat_agg(truths: ArrayLike, p: float = 2.0, stable: bool = False) -> float:
    """Satisfaction of a knowledge base: pMeanError over the truths of its closed formulas.

    ``truths`` is a sequence (any shape; flattened) of truth values in [0, 1]. An empty
    set of formulas is vacuously satisfied: 1.0. Raises ValueError as ``forall`` does.
    """
    flat = np.ravel(np.asarray(truths, dtype=np.float64))
    return float(forall(flat, p=p, stable=stable))
