"""Constraints on batches of rows of a fixed table of contexts: phase 1's logic, compiled.

Phase 1 evaluates the same constraints on thousands of batches drawn from one night's
buffer. A ``ConstraintTable`` computes the state predicates and the action predicates'
indicator matrices once for every row of the table (they depend on the context alone),
and evaluates the formulas of a batch in one numba kernel that walks a *tape*: each
formula flattened into its nodes in post-order, children before parents.

The kernel performs, for each row, the operations ``logic._eval`` performs on the
batch's arrays, in the same order and with the same operands, so the truths and
jacobians are bit for bit those of ``ConstraintSet.truth_and_grad`` on the gathered
context (``tests/property/test_replay_fast_paths.py``):

* an action predicate is ``((0 + p0 m0) + p1 m1) + p2 m2``, numpy's order for a sum over
  three columns, and its jacobian the indicator row ``m``;
* not, and, or, implies are ``1 - a``, ``a b``, ``1 - (1 - a)(1 - b)``, ``1 - a (1 - b)``
  (``logic_ops``), their jacobians ``logic._combine``'s: a subtree without an action
  predicate has no jacobian at all, and a sum with one such side is the other side's
  product alone (adding a zero could turn a -0.0 into +0.0);
* truths are clipped to [0, 1] as ``np.clip`` does (a -0.0 stays, NaN stays).

No fastmath: LLVM may not contract a product and a sum into an FMA, so the bits are the
same on every CPU (``tests/unit/test_replay_kernels.py`` reads its machine code).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray

from janus_sim.core.logic_formula import And, Formula, Implies, Not, Or, Pred, formula_predicates
from janus_sim.core.logic_predicates import (
    CONTEXT_FIELDS,
    action_jacobian,
    as_context,
    state_value,
)

if TYPE_CHECKING:
    from janus_sim.core.logic import ConstraintSet

FloatArray = NDArray[np.float64]

# Tape opcodes.
STATE, ACTION, NOT, AND, OR, IMPLIES = range(6)
_BINARY = {And: AND, Or: OR, Implies: IMPLIES}


class Tape:
    """The formulas of a constraint set as one post-order tape of nodes."""

    def __init__(self, formulas: tuple[Formula, ...], state: list[str], action: list[str]):
        self.op: list[int] = []
        self.arg: list[int] = []  # the predicate's row in its table; -1 for a connective
        self.left: list[int] = []
        self.right: list[int] = []
        self.has_jac: list[bool] = []
        self._state, self._action = state, action
        self.roots = [self._emit(f) for f in formulas]

    def _node(self, op: int, arg: int, left: int, right: int, has_jac: bool) -> int:
        self.op.append(op)
        self.arg.append(arg)
        self.left.append(left)
        self.right.append(right)
        self.has_jac.append(has_jac)
        return len(self.op) - 1

    def _emit(self, f: Formula) -> int:
        match f:
            case Pred(name) if name in self._state:
                return self._node(STATE, self._state.index(name), -1, -1, False)
            case Pred(name):
                return self._node(ACTION, self._action.index(name), -1, -1, True)
            case Not(arg):
                child = self._emit(arg)
                return self._node(NOT, -1, child, -1, self.has_jac[child])
            case And(a, b) | Or(a, b) | Implies(a, b):
                left, right = self._emit(a), self._emit(b)
                has = self.has_jac[left] or self.has_jac[right]
                return self._node(_BINARY[type(f)], -1, left, right, has)
        raise TypeError(f"not a formula: {f!r}")

    def arrays(self) -> tuple[Any, ...]:
        i64 = np.int64
        return (
            np.array(self.op, dtype=i64),
            np.array(self.arg, dtype=i64),
            np.array(self.left, dtype=i64),
            np.array(self.right, dtype=i64),
            np.array(self.has_jac, dtype=np.bool_),
            np.array(self.roots, dtype=i64),
        )


@numba.njit(cache=True, nogil=True)
def _run_tape(
    op: Any, arg: Any, left: Any, right: Any, has_jac: Any, roots: Any,
    state: Any, masks: Any, rows: Any, probs: Any, truths: Any, jacs: Any,
) -> None:  # fmt: skip
    # truths (n, C) and jacs (n, C, 3, zeroed) of every row; see the module doc.
    n_nodes = op.shape[0]
    val = np.empty(n_nodes)
    jac = np.empty((n_nodes, 3))
    for i in range(rows.shape[0]):
        r = rows[i]
        for t in range(n_nodes):
            o = op[t]
            if o == STATE:
                val[t] = state[arg[t], r]
                continue
            if o == ACTION:
                acc = 0.0
                for k in range(3):
                    acc += probs[i, k] * masks[arg[t], r, k]
                    jac[t, k] = masks[arg[t], r, k]
                val[t] = acc
                continue
            a = val[left[t]]
            if o == NOT:
                val[t] = 1.0 - a
                if has_jac[t]:
                    for k in range(3):
                        jac[t, k] = -jac[left[t], k]
                continue
            b = val[right[t]]
            if o == AND:
                val[t], ca, cb = a * b, b, a
            elif o == OR:
                val[t], ca, cb = 1.0 - (1.0 - a) * (1.0 - b), 1.0 - b, 1.0 - a
            else:  # IMPLIES
                val[t], ca, cb = 1.0 - a * (1.0 - b), b - 1.0, a
            jl, jr = has_jac[left[t]], has_jac[right[t]]
            for k in range(3):
                if jl and jr:
                    jac[t, k] = ca * jac[left[t], k] + cb * jac[right[t], k]
                elif jl:
                    jac[t, k] = ca * jac[left[t], k]
                elif jr:
                    jac[t, k] = cb * jac[right[t], k]
        for c in range(roots.shape[0]):
            v = val[roots[c]]
            if v < 0.0:
                v = 0.0
            elif v > 1.0:
                v = 1.0
            truths[i, c] = v
            if has_jac[roots[c]]:
                for k in range(3):
                    jacs[i, c, k] = jac[roots[c], k]


class ConstraintTable:
    """A ``ConstraintSet`` bound to a fixed table of contexts ``(N, 4)``, evaluated on many
    batches of its rows (module doc).

    ``truth_and_grad(rows, probs)`` returns ``constraints.truth_and_grad(ctx[rows], probs)``
    bit for bit, and raises the same ValueError for the same arguments. Rows no batch
    draws may hold anything (a buffer's unfilled slots); a row is checked when a batch
    draws it.
    """

    def __init__(self, constraints: ConstraintSet, ctx: ArrayLike) -> None:
        c = np.asarray(ctx, dtype=np.float64)
        if c.ndim != 2 or c.shape[1] != len(CONTEXT_FIELDS):
            as_context(c)  # raises the shape error
        self.constraints = constraints
        self._ctx = c
        prm = constraints.params
        names = sorted(frozenset().union(*map(formula_predicates, constraints.formulas)))
        state: dict[str, FloatArray] = {}
        action: dict[str, FloatArray] = {}
        with np.errstate(all="ignore"):  # a faulty row's values are never read
            self._faulty = ~np.all(np.isfinite(c), axis=1) | (c[:, 2] < 0)
            for name in names:
                value = state_value(name, c, prm)
                if value is not None:
                    state[name] = value
                else:
                    action[name] = action_jacobian(name, c, prm)
        n = len(c)
        self._state = np.array([state[k] for k in state]).reshape(len(state), n)
        self._masks = np.array([action[k] for k in action]).reshape(len(action), n, 3)
        self._tape = Tape(constraints.formulas, list(state), list(action)).arrays()

    def truth_and_grad(self, rows: ArrayLike, probs: ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Truths ``(n, C)`` and jacobians ``(n, C, 3)`` of the table's ``rows`` ``(n,)``
        under the action probabilities ``probs`` ``(n, 3)``."""
        r = np.asarray(rows, dtype=np.int64)
        if np.any(self._faulty[r]):
            as_context(self._ctx[r])  # raises what the batch's own check raises
        p = np.ascontiguousarray(self.constraints._policy(probs, len(r)))
        n, n_c = len(r), len(self.constraints)
        truths = np.empty((n, n_c))
        jacs = np.zeros((n, n_c, 3))
        op, arg, left, right, has_jac, roots = self._tape
        _run_tape(
            op, arg, left, right, has_jac, roots, self._state, self._masks, r, p, truths, jacs
        )
        return truths, jacs
