"""A flat binary sum tree over float64 leaves, for proportional prioritized replay.

Layout: one float64 array ``node`` of length ``2 * size``, ``size`` the smallest power of
two >= ``capacity``. ``node[1]`` is the root; node ``j`` has children ``2j`` and
``2j + 1``; leaf ``i`` lives at ``node[size + i]`` (leaves past ``capacity`` stay 0).

The hot paths are numba kernels (``nopython``, no ``fastmath``, no threads, so every
result is deterministic and bit for bit reproducible); at batch sizes like 64 a numpy
version pays more in per-call overhead than in arithmetic. Each public call does its
cheap shape and dtype checks in Python, then one kernel call, which validates its input
in a first pass and only then writes (so bad input changes nothing).

Exactness: a parent is always recomputed as ``left + right`` from its two children,
never adjusted by a delta, so after any sequence of updates every node, the root
(``total``) included, is bit for bit that of a tree built from scratch on the same
leaves ("tree order"): it cannot drift.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray

_INTS = (int, np.integer)
_INTP = np.dtype(np.intp)
_BAD_INDEX, _BAD_VALUE = 1, 2  # kernel error codes

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.intp]


@numba.njit(cache=True, nogil=True)
def _update_kernel(node: Any, size: int, capacity: int, idx: Any, val: Any) -> int:
    """Validate everything first (0 or an error code), then write leaves in call order
    (the last of repeated indices wins) and recompute each written leaf's ancestors."""
    for k in range(idx.size):
        if not (0 <= idx[k] < capacity):
            return _BAD_INDEX
        if not (val[k] >= 0.0 and val[k] < np.inf):  # False for NaN
            return _BAD_VALUE
    for k in range(idx.size):
        node[size + idx[k]] = val[k] + 0.0  # -0.0 becomes +0.0
    # Ancestors are recomputed only after every leaf is written, so a shared ancestor's
    # last recomputation sees final children on both sides.
    for k in range(idx.size):
        j = (size + idx[k]) >> 1
        while j >= 1:
            node[j] = node[2 * j] + node[2 * j + 1]
            j >>= 1
    return 0


@numba.njit(cache=True, nogil=True)
def _rebuild_kernel(node: Any, size: int) -> None:
    for j in range(size - 1, 0, -1):
        node[j] = node[2 * j] + node[2 * j + 1]


@numba.njit(cache=True, nogil=True)
def _descend(node: Any, size: int, t: float) -> int:
    """Leaf (tree index) of the first inclusive prefix > t, never a zero-valued leaf.

    The current node always has mass > 0 (the root is checked by the callers): going
    left needs ``t < left`` (so left > 0), going right needs right > 0; when rounding
    or a target at the end leaves ``t >= left`` with an empty right subtree, the search
    goes left and ends on the subtree's last positive leaf.
    """
    j = 1
    while j < size:
        left = node[2 * j]
        if t < left:
            j = 2 * j
        elif node[2 * j + 1] > 0.0:
            t -= left  # >= 0 exactly: t >= left
            j = 2 * j + 1
        else:
            j = 2 * j
    return j


@numba.njit(cache=True, nogil=True)
def _find_kernel(node: Any, size: int, targets: Any) -> Any:
    """Leaf indices for ``targets`` (an empty array flags a target that is not finite
    and >= 0; the callers only pass an empty array when the input is empty)."""
    for k in range(targets.size):
        if not (targets[k] >= 0.0 and targets[k] < np.inf):
            return np.empty(0, dtype=np.intp)
    out = np.empty(targets.size, dtype=np.intp)
    for k in range(targets.size):
        out[k] = _descend(node, size, targets[k]) - size
    return out


@numba.njit(cache=True, nogil=True)
def _sample_kernel(node: Any, size: int, u: Any) -> tuple[Any, Any]:
    """Stratum s searches ``(s + u[s]) * (total / n)``; returns indices and leaf values."""
    n = u.size
    step = node[1] / n
    idx = np.empty(n, dtype=np.intp)
    vals = np.empty(n, dtype=np.float64)
    for s in range(n):
        leaf = _descend(node, size, (u[s] + s) * step)
        idx[s] = leaf - size
        vals[s] = node[leaf]
    return idx, vals


class SumTree:
    """Sum tree over ``capacity`` non-negative float64 leaves, all zero initially.

    Contract: leaves are finite and >= 0 (and their sum stays finite); ``total`` is their
    sum in tree order; ``find`` and ``sample_stratified`` only return indices of leaves
    with value > 0.
    """

    __slots__ = ("_capacity", "_node", "_public", "_size")

    def __init__(self, capacity: int) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, _INTS) or capacity < 1:
            raise ValueError(f"capacity must be an int >= 1, got {capacity!r}")
        self._capacity = int(capacity)
        self._size = 1 << (self._capacity - 1).bit_length()  # power of two >= capacity
        self._node: FloatArray = np.zeros(2 * self._size, dtype=np.float64)
        self._public = self._node[self._size : self._size + self._capacity]
        self._public.flags.writeable = False  # a read-only view; the base stays writable

    # -- reading -------------------------------------------------------------------

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def total(self) -> float:
        """Sum of all leaves (the root), in tree order."""
        return float(self._node[1])

    @property
    def leaves(self) -> FloatArray:
        """Read-only view of the ``capacity`` leaf values (it follows later updates)."""
        return self._public

    def get(self, indices: ArrayLike) -> FloatArray:
        """Leaf values at ``indices`` (a copy); ValueError for non-integer or out-of-range."""
        idx = _as_indices(indices)
        if idx.size and not np.maximum.reduce(idx.view(np.uintp)) < self._capacity:
            raise ValueError(f"indices must lie in [0, {self._capacity})")  # <0 wraps high
        return self._public.take(idx)

    # -- writing -------------------------------------------------------------------

    def update(self, indices: ArrayLike, values: ArrayLike) -> None:
        """Set ``leaf[indices[k]] = values[k]``; with duplicate indices the last one wins.

        Raises ValueError (and changes nothing) unless ``indices`` and ``values`` are 1-D
        of equal length, indices are integers in ``[0, capacity)`` and values are finite
        and >= 0.
        """
        idx = _as_indices(indices)
        val = np.asarray(values, dtype=np.float64)
        if val.shape != idx.shape:
            raise ValueError(f"values must have the shape of indices {idx.shape}, got {val.shape}")
        code = _update_kernel(self._node, self._size, self._capacity, idx, val)
        if code == _BAD_INDEX:
            raise ValueError(f"indices must lie in [0, {self._capacity})")
        if code == _BAD_VALUE:
            raise ValueError("values must be finite and >= 0 (got NaN, inf or a negative)")

    # -- searching -----------------------------------------------------------------

    def find(self, targets: ArrayLike) -> IndexArray:
        """For each target t, the smallest leaf index i with ``cumsum(leaves)[i] > t``.

        The cumulative sums are the tree's own (the left siblings' sums met on the way
        down). Targets must be finite and >= 0; one at or past the end (``total``, up to
        rounding) maps to the last leaf with value > 0. A zero-valued leaf is never
        returned. Raises ValueError when ``total`` is 0 or a target is invalid.
        """
        t = np.asarray(targets, dtype=np.float64)
        if t.ndim != 1:
            raise ValueError(f"targets must be a 1-D array, got shape {t.shape}")
        if not self._node[1] > 0.0:
            raise ValueError("cannot search a sum tree whose total is 0 (all leaves empty)")
        found: IndexArray = _find_kernel(self._node, self._size, t)
        if found.size != t.size:
            raise ValueError("targets must be finite and >= 0 (got NaN, inf or a negative)")
        return found

    def sample_stratified(self, batch_size: int, rng: np.random.Generator) -> IndexArray:
        """``batch_size`` leaf indices, one per equal segment of ``[0, total)``.

        Segment s yields ``find((s + u_s) * (total / batch_size))`` with ``u_s ~ U[0, 1)``
        from ``rng`` (exactly ``batch_size`` doubles drawn), so each draw picks leaf i
        with probability ``leaf_i / total`` on average, with less variance than
        independent draws (Schaul et al. 2016, appendix B.2.1). Indices come out sorted.
        Raises ValueError when ``batch_size < 1`` or ``total`` is 0.
        """
        return self.sample_with_values(batch_size, rng)[0]

    def sample_with_values(
        self, batch_size: int, rng: np.random.Generator
    ) -> tuple[IndexArray, FloatArray]:
        """``sample_stratified`` plus the sampled leaves' values (same rng use, same indices)."""
        if not isinstance(batch_size, _INTS) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
        if not self._node[1] > 0.0:
            raise ValueError("cannot sample from a sum tree whose total is 0 (all leaves empty)")
        result: tuple[IndexArray, FloatArray] = _sample_kernel(
            self._node, self._size, rng.random(batch_size)
        )
        return result

    # -- checkpoints ---------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Plain data to rebuild this tree: its capacity and a copy of the leaves."""
        return {"capacity": self._capacity, "leaves": self._public.copy()}

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> SumTree:
        """Rebuild a tree from ``state_dict()`` output; every sum is recomputed. (Keys
        other than ``capacity`` and ``leaves``, such as an older layout's, are ignored.)"""
        tree = cls(state["capacity"])
        leaves = np.asarray(state["leaves"], dtype=np.float64)
        if leaves.shape != (tree._capacity,):
            raise ValueError(f"leaves must have shape ({tree._capacity},), got {leaves.shape}")
        if leaves.size and not (np.min(leaves) >= 0.0 and np.max(leaves) < np.inf):
            raise ValueError("leaves must be finite and >= 0 (got NaN, inf or a negative)")
        tree._node[tree._size : tree._size + tree._capacity] = leaves + 0.0  # no -0.0
        _rebuild_kernel(tree._node, tree._size)
        return tree


def _as_indices(indices: ArrayLike) -> IndexArray:
    idx = np.asarray(indices)
    if idx.dtype is not _INTP:
        if idx.size and idx.dtype.kind not in "iu":
            raise ValueError(f"indices must be integers, got dtype {idx.dtype}")
        if idx.dtype.kind == "u" and idx.size and idx.max() > np.iinfo(np.intp).max:
            raise ValueError("indices must lie in [0, capacity)")
        idx = idx.astype(np.intp)
    if idx.ndim != 1:
        raise ValueError(f"indices must be a 1-D array, got shape {idx.shape}")
    return idx
