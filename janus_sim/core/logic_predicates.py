"""The predicate vocabulary of the constraints: each predicate's value and jacobian.

A predicate is evaluated on a batch of transitions, one row of the ``(n, 4)`` context
(``CONTEXT_FIELDS``) each, and, for the action predicates, on the policy's action
probabilities ``pi`` ``(n, 3)``. Every predicate is elementwise in the rows: a row's value
depends on that row alone, so a value gathered from a larger table has the bits of one
computed on the batch (``logic.ConstraintTable`` relies on it). The split follows that:

* ``state_value``: the state predicates, from the context alone;
* ``action_jacobian``: the action predicates' indicator matrices, from the position
  alone; the predicate's value is ``sum_a pi_a * jac_a`` and ``jac`` its exact jacobian.

``logic`` documents the vocabulary and composes the predicates into formulas.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

from janus_sim.core import detmath as dm

if TYPE_CHECKING:  # the core must not import pydantic at runtime
    from janus_sim.config import Predicates

FloatArray = NDArray[np.float64]

CONTEXT_FIELDS: tuple[str, ...] = ("ret_short_pct", "rv_pct", "drawdown_pct", "position")
ACTION_DELTAS: tuple[int, int, int] = (-1, 0, 1)
"""Position change of actions 0 (sell), 1 (hold), 2 (buy)."""

PI_COLUMNS: tuple[str, str, str] = ("sells", "holds", "buys")
"""The action predicates that are ``pi``'s own columns."""

Dual: TypeAlias = tuple[FloatArray, FloatArray | None]
"""A value and its jacobian w.r.t. ``pi``; None stands for an all-zero jacobian."""


class PredicatesLike(Protocol):
    @property
    def crash_return_pct(self) -> float: ...
    @property
    def high_vol_pct(self) -> float: ...
    @property
    def deep_drawdown_pct(self) -> float: ...
    @property
    def sharpness(self) -> float: ...


@dataclass(frozen=True, slots=True)
class PredicateParams:
    """Thresholds (percent), sharpness and position limit the predicates read. No defaults
    here: the spec's are ``config.Predicates`` and ``config.Agent.position_limit``
    (``from_config``)."""

    crash_return_pct: float
    high_vol_pct: float
    deep_drawdown_pct: float
    sharpness: float
    position_limit: int

    def __post_init__(self) -> None:
        for name in ("crash_return_pct", "high_vol_pct", "deep_drawdown_pct", "sharpness"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {v!r}")
        if self.position_limit < 1:
            raise ValueError(f"position_limit must be >= 1, got {self.position_limit!r}")

    @classmethod
    def from_config(
        cls, predicates: Predicates | PredicatesLike, position_limit: int
    ) -> PredicateParams:
        return cls(
            float(predicates.crash_return_pct),
            float(predicates.high_vol_pct),
            float(predicates.deep_drawdown_pct),
            float(predicates.sharpness),
            int(position_limit),
        )


def sigmoid(z: FloatArray) -> FloatArray:
    """Logistic function that neither overflows nor underflows, whatever numpy's errstate.

    exp only sees arguments in [-700, 0]; past |z| = 700 the result moves by < 1e-300.
    """
    e = dm.exp(-np.minimum(np.abs(z), 700.0))
    out: FloatArray = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return out


def state_value(name: str, ctx: FloatArray, prm: PredicateParams) -> FloatArray | None:
    """The value ``(n,)`` of the state predicate ``name``; None for an action predicate."""
    ret, rv, dd, pos = ctx[:, 0], ctx[:, 1], ctx[:, 2], ctx[:, 3]
    k, limit = prm.sharpness, float(prm.position_limit)
    if name == "crash":
        return sigmoid(k * (-ret / prm.crash_return_pct - 1.0))
    if name == "high_vol":
        return sigmoid(k * (rv / prm.high_vol_pct - 1.0))
    if name == "deep_drawdown":
        return sigmoid(k * (dd / prm.deep_drawdown_pct - 1.0))
    if name == "long":
        out: FloatArray = np.clip(pos / limit, 0.0, 1.0)
        return out
    if name == "short":
        out = np.clip(-pos / limit, 0.0, 1.0)
        return out
    if name == "flat":
        out = 1.0 - np.clip(np.abs(pos) / limit, 0.0, 1.0)
        return out
    return None


def action_jacobian(name: str, ctx: FloatArray, prm: PredicateParams) -> FloatArray:
    """The indicator matrix ``(n, 3)`` of the action predicate ``name``; KeyError for a
    name outside the vocabulary (``state_value`` is asked first)."""
    pos = ctx[:, 3]
    if name in PI_COLUMNS:
        jac = np.zeros((ctx.shape[0], 3))
        jac[:, PI_COLUMNS.index(name)] = 1.0
        return jac
    after = np.abs(pos[:, None] + np.asarray(ACTION_DELTAS, dtype=np.float64))  # (n, 3)
    before = np.abs(pos)[:, None]
    if name == "adds_exposure":
        mask = after > before
    elif name == "reduces_exposure":
        mask = after < before
    elif name == "exceeds_limit":
        mask = after > float(prm.position_limit)
    else:
        raise KeyError(name)
    return mask.astype(np.float64)


def linear(probs: FloatArray, jac: FloatArray) -> Dual:
    """An action predicate from its indicator matrix: linear in ``pi``, so ``jac`` is the
    exact jacobian."""
    return np.sum(probs * jac, axis=1), jac


def predicate(name: str, ctx: FloatArray, probs: FloatArray, prm: PredicateParams) -> Dual:
    """The predicate ``name`` on a batch: its value ``(n,)`` and jacobian w.r.t. ``probs``."""
    value = state_value(name, ctx, prm)
    if value is not None:
        return value, None
    return linear(probs, action_jacobian(name, ctx, prm))


def context_error(ctx: FloatArray) -> str | None:
    """What is wrong with the context ``ctx`` ``(n, 4)``, or None when it is valid."""
    if ctx.ndim != 2 or ctx.shape[1] != len(CONTEXT_FIELDS):
        return f"context must have shape (n, 4) with columns {CONTEXT_FIELDS}, got {ctx.shape}"
    if not np.all(np.isfinite(ctx)):
        return "context must be finite (no NaN or infinity)"
    if np.any(ctx[:, 2] < 0):
        return "drawdown_pct must be >= 0 (percent below the running maximum)"
    return None


def as_context(ctx: ArrayLike) -> FloatArray:
    """``ctx`` as a float64 context; ValueError (``context_error``) when it is not one."""
    c = np.asarray(ctx, dtype=np.float64)
    problem = context_error(c)
    if problem is not None:
        raise ValueError(problem)
    return c
