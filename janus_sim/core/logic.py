"""Trading constraints as fuzzy-logic formulas, with exact gradients w.r.t. the policy.

A constraint is a per-transition formula over a fixed predicate vocabulary (below); the
Forall over a day's transitions is applied outside, by ``ConstraintSet.day_truth``.
Connectives use the LTN product logic of ``logic_ops`` (not, product and, probabilistic
or, Reichenbach implies).

Context: per transition one row of a ``(n, 4)`` float array with the columns
``CONTEXT_FIELDS``: short-window log return (%), realized volatility (%), drawdown below
the running maximum (%, >= 0) and the position in units *before* the action.

Predicates, with ``k`` the sharpness and ``limit`` the agent's position limit:

* state (depend on the context only): ``crash``, ``high_vol``, ``deep_drawdown`` are
  ``sigmoid(k * (x / threshold - 1))`` of the fall, the volatility and the drawdown;
  ``long``, ``short``, ``flat`` are the clipped fractions ``pos/limit``, ``-pos/limit``
  and ``1 - |pos|/limit``.
* action (linear in the action probabilities ``pi = (sell, hold, buy)``): ``sells``,
  ``holds``, ``buys`` are ``pi``'s columns; ``adds_exposure``, ``reduces_exposure`` and
  ``exceeds_limit`` are ``sum_a pi_a * [condition on pos + delta_a]`` with
  ``delta = (-1, 0, +1)``.

Because every predicate is linear in ``pi`` (or constant), forward-mode evaluation with
the operators' product and sum rules gives the exact jacobian of a formula w.r.t. ``pi``.
The predicates are computed in ``logic_predicates``. A ``ConstraintTable``
(``logic_table``) holds the constraints on a fixed table of contexts (a night's buffer)
and evaluates batches of its rows in one kernel, with the bits ``ConstraintSet`` gives.

Grammar (implication is right-associative and binds loosest)::

    expr  := disj ('->' expr)?
    disj  := conj ('or' conj)*
    conj  := unary ('and' unary)*
    unary := 'not' unary | '(' expr ')' | PREDICATE
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from janus_sim.core import detmath as dm
from janus_sim.core.logic_formula import (
    ACTION_PREDICATES,
    MAX_DEPTH,
    PREDICATES,
    STATE_PREDICATES,
    And,
    Formula,
    FormulaError,
    Implies,
    Not,
    Or,
    Pred,
    format_formula,
    formula_predicates,
    parse_formula,
)
from janus_sim.core.logic_ops import (
    EPS,
    and_,
    exists,
    forall,
    implies,
    not_,
    or_,
    pi_0,
    pi_1,
    sat_agg,
)
from janus_sim.core.logic_predicates import (
    ACTION_DELTAS,
    CONTEXT_FIELDS,
    Dual,
    PredicateParams,
    PredicatesLike,
    as_context,
    predicate,
)
from janus_sim.core.logic_table import ConstraintTable

if TYPE_CHECKING:  # the core must not import pydantic at runtime
    from janus_sim.config import Constraint, Predicates

FloatArray = NDArray[np.float64]

__all__ = [
    "ACTION_DELTAS",
    "ACTION_PREDICATES",
    "CONTEXT_FIELDS",
    "EPS",
    "MAX_DEPTH",
    "PREDICATES",
    "STATE_PREDICATES",
    "And",
    "ConstraintSet",
    "Formula",
    "FormulaError",
    "Implies",
    "Not",
    "Or",
    "Pred",
    "PredicateParams",
    "and_",
    "evaluate",
    "exists",
    "forall",
    "format_formula",
    "formula_predicates",
    "implies",
    "not_",
    "or_",
    "parse_formula",
    "pi_0",
    "pi_1",
    "sat_agg",
]

# Rows of pi may miss summing to 1 by this much (float32 softmax, say).
_PROB_ATOL = 1e-6


def _combine(
    ca: FloatArray, ja: FloatArray | None, cb: FloatArray, jb: FloatArray | None
) -> FloatArray | None:
    """``ca * ja + cb * jb`` row-wise, where None is a zero jacobian."""
    out = None if ja is None else ca[:, None] * ja
    if jb is not None:
        out = cb[:, None] * jb if out is None else out + cb[:, None] * jb
    return out


def _eval(f: Formula, leaf: Callable[[str], Dual]) -> Dual:
    # Product/sum rules of the operators; see logic_ops for the values.
    match f:
        case Pred(name):
            return leaf(name)
        case Not(arg):
            v, j = _eval(arg, leaf)
            return not_(v), None if j is None else -j
        case And(left, right):
            (a, ja), (b, jb) = _eval(left, leaf), _eval(right, leaf)
            return and_(a, b), _combine(b, ja, a, jb)
        case Or(left, right):
            (a, ja), (b, jb) = _eval(left, leaf), _eval(right, leaf)
            return or_(a, b), _combine(1.0 - b, ja, 1.0 - a, jb)
        case Implies(left, right):
            (a, ja), (b, jb) = _eval(left, leaf), _eval(right, leaf)
            return implies(a, b), _combine(b - 1.0, ja, a, jb)
    raise TypeError(f"not a formula: {f!r}")


def _leaves(ctx: FloatArray, probs: FloatArray, prm: PredicateParams) -> Callable[[str], Dual]:
    cache: dict[str, Dual] = {}

    def leaf(name: str) -> Dual:
        if name not in cache:
            cache[name] = predicate(name, ctx, probs, prm)
        return cache[name]

    return leaf


def _as_probs(probs: ArrayLike, n: int) -> FloatArray:
    p = np.asarray(probs, dtype=np.float64)
    if p.shape != (n, 3):
        raise ValueError(f"action probabilities must have shape ({n}, 3), got {p.shape}")
    if not np.all(np.isfinite(p)):
        raise ValueError("action probabilities must be finite")
    return p


def evaluate(
    f: Formula, ctx: ArrayLike, probs: ArrayLike, params: PredicateParams
) -> tuple[FloatArray, FloatArray]:
    """Truth ``(n,)`` of ``f`` per transition and its exact jacobian ``(n, 3)`` w.r.t. ``pi``.

    ``ctx`` is ``(n, 4)`` (``CONTEXT_FIELDS``; finite, drawdown >= 0), ``probs`` ``(n, 3)``
    and finite. ``pi``'s entries are treated as free coordinates (the caller chains the
    softmax); values are in [0, 1] when each row of ``probs`` is a distribution. Raises
    ValueError on bad shapes or values.
    """
    c = as_context(ctx)
    p = _as_probs(probs, c.shape[0])
    v, j = _eval(f, _leaves(c, p, params))
    return v, np.zeros(p.shape) if j is None else j


# ---------------------------------------------------------------------- constraint sets


class _ConstraintLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def formula(self) -> str: ...
    @property
    def weight(self) -> float: ...


@dataclass(frozen=True, slots=True)
class ConstraintSet:
    """Compiled, weighted constraints; every method is a pure function of its arguments.

    Shapes: ``ctx`` ``(n, 4)``; ``probs`` ``(n, 3)`` with rows summing to 1; ``actions``
    ``(n,)`` ints in {0, 1, 2}; truths ``(n, C)`` in [0, 1], columns in ``names`` order.
    """

    names: tuple[str, ...]
    formulas: tuple[Formula, ...]
    weights: tuple[float, ...]
    params: PredicateParams

    @classmethod
    def compile(
        cls,
        constraints: Sequence[Constraint | _ConstraintLike],
        predicates: Predicates | PredicatesLike,
        position_limit: int,
    ) -> ConstraintSet:
        """Parse every formula; raises FormulaError naming the constraint, or ValueError for
        a repeated name or a weight that is not a finite number > 0."""
        names, formulas, weights = [], [], []
        for c in constraints:
            name = str(c.name)
            try:
                formulas.append(parse_formula(c.formula))
            except FormulaError as e:
                raise FormulaError(
                    e.problem, text=e.text, position=e.position, constraint=name
                ) from None
            names.append(name)
            weights.append(float(c.weight))
        params = PredicateParams.from_config(predicates, position_limit)
        return cls(tuple(names), tuple(formulas), tuple(weights), params)

    def __post_init__(self) -> None:
        if not len(self.names) == len(self.formulas) == len(self.weights):
            raise ValueError("names, formulas and weights must have the same length")
        seen: set[str] = set()
        for name, weight in zip(self.names, self.weights, strict=True):
            if name in seen:
                raise ValueError(f"constraint names must be unique: {name!r} repeats")
            seen.add(name)
            if not (math.isfinite(weight) and weight > 0):
                raise ValueError(
                    f"constraint {name!r}: weight must be finite and > 0, got {weight}"
                )

    def __len__(self) -> int:
        return len(self.names)

    def _evaluate(
        self, ctx: ArrayLike, probs: ArrayLike, grad: bool
    ) -> tuple[FloatArray, FloatArray | None]:
        c = as_context(ctx)
        n = c.shape[0]
        p = self._policy(probs, n)
        full = _leaves(c, p, self.params)
        leaf = full if grad else (lambda name: (full(name)[0], None))
        return self._truths(leaf, n, grad)

    @staticmethod
    def _policy(probs: ArrayLike, n: int) -> FloatArray:
        """``probs`` as ``n`` rows of action probabilities; ValueError when it is not."""
        p = _as_probs(probs, n)
        if np.any(p < -_PROB_ATOL) or np.any(p > 1 + _PROB_ATOL):
            raise ValueError("action probabilities must be within [0, 1]")
        if np.any(np.abs(p.sum(axis=1) - 1.0) > _PROB_ATOL):
            raise ValueError("each row of action probabilities must sum to 1")
        return p

    def _truths(
        self, leaf: Callable[[str], Dual], n: int, grad: bool
    ) -> tuple[FloatArray, FloatArray | None]:
        """Every formula on the predicates ``leaf`` gives, in declared order."""
        truths = np.empty((n, len(self)))
        jacs = np.zeros((n, len(self), 3)) if grad else None
        for i, f in enumerate(self.formulas):
            v, j = _eval(f, leaf)
            truths[:, i] = v
            if jacs is not None and j is not None:
                jacs[:, i, :] = j
        # Rounding (pi summing to 1 + 1e-16) can leave a truth a hair outside [0, 1].
        return np.clip(truths, 0.0, 1.0, out=truths), jacs

    def truth(self, ctx: ArrayLike, probs: ArrayLike) -> FloatArray:
        """Truth ``(n, C)`` of each constraint per transition under the policy ``probs``."""
        return self._evaluate(ctx, probs, grad=False)[0]

    def truth_and_grad(self, ctx: ArrayLike, probs: ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Truths ``(n, C)`` and their exact jacobians ``(n, C, 3)`` w.r.t. ``probs``."""
        truths, jacs = self._evaluate(ctx, probs, grad=True)
        assert jacs is not None
        return truths, jacs

    def table(self, ctx: ArrayLike) -> ConstraintTable:
        """These constraints on batches of rows of the context table ``ctx``."""
        return ConstraintTable(self, ctx)

    def truth_of_actions(self, ctx: ArrayLike, actions: ArrayLike) -> FloatArray:
        """Truths ``(n, C)`` of the actions taken (crisp, one-hot ``pi``)."""
        c = as_context(ctx)
        a = np.asarray(actions)
        n = c.shape[0]
        if a.shape != (n,) or not (np.issubdtype(a.dtype, np.integer) or a.size == 0):
            raise ValueError(f"actions must be integers of shape ({n},), got {a.dtype} {a.shape}")
        if a.size and (a.min() < 0 or a.max() > 2):
            raise ValueError("actions must be 0 (sell), 1 (hold) or 2 (buy)")
        return self.truth(c, np.eye(3)[a.astype(np.intp)])

    def violation(self, ctx: ArrayLike, actions: ArrayLike) -> FloatArray:
        """``v_i = sum_c w_c * (1 - truth_c)`` per transition, ``(n,)``; >= 0, and exactly 0
        when every constraint is fully satisfied (and only then); 0 with no constraints."""
        truths = self.truth_of_actions(ctx, actions)
        out: FloatArray = dm.matmul(1.0 - truths, np.asarray(self.weights, dtype=np.float64))
        return out

    def _check_truths(self, truths: ArrayLike) -> FloatArray:
        t = np.asarray(truths, dtype=np.float64)
        if t.ndim != 2 or t.shape[1] != len(self):
            raise ValueError(f"truths must have shape (n, {len(self)}), got {t.shape}")
        return t

    def day_truth(self, truths: ArrayLike, p: float, stable: bool = False) -> FloatArray:
        """Forall (pMeanError with ``p``) over a day's transitions: ``(C,)``; 1 when n = 0."""
        result: FloatArray = np.asarray(
            forall(self._check_truths(truths), p=p, axis=0, stable=stable)
        )
        return result

    def day_sat_agg(
        self, truths: ArrayLike, p_forall: float, p_sat_agg: float, stable: bool = False
    ) -> float:
        """SatAgg (unweighted pMeanError, as LTN's) of the day truths; 1.0 when C = 0."""
        return sat_agg(self.day_truth(truths, p_forall, stable), p=p_sat_agg, stable=stable)
