"""A wide (B-ary) sum tree over float64 leaves, for proportional prioritized replay.

Layout: the leaves are a ``(rows, block)`` matrix (zero-padded); each row is one node's
children. The row sums are the children of the level above, again ``block`` per row,
until a level has at most ``max_top`` entries. That top level is a flat vector whose
cumulative sum is cached (and searched with ``searchsorted``); its last element is the
root, ``total``.

Why wide: with numpy every level costs a handful of array calls whatever its width. A
10,000-slot tree with 16-leaf rows is one row level under a 625-entry top, so an update
or a batched search is ~10 vectorized calls, not ~14 binary levels of several calls each.
A search takes the prefix sums of just the rows it visits; an update re-sums just the
rows it touched, then redoes the top's cumulative sum.

Exactness: every sum is recomputed from its children (row sums by ``np.add.reduce``, the
top by ``np.add.accumulate``), never adjusted by deltas, so after any sequence of updates
the root is bit for bit the root of a tree built from scratch on the same leaves ("tree
order"): it cannot drift.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

BLOCK = 16  # children per node: per-visit prefix work (~B) vs the top's size (~N/B)
MAX_TOP = 1024  # the top's cumulative sum is redone on every update, so keep it short
_FINITE_NONNEG_BITS = 0x7FF0000000000000  # float64 bit patterns below this: +0.0 .. max

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.intp]


class SumTree:
    """Sum tree over ``capacity`` non-negative float64 leaves, all zero initially.

    Contract: leaves are finite and >= 0; ``total`` is their sum in tree order; ``find``
    and ``sample_stratified`` only ever return indices of leaves with value > 0.
    ``block`` (children per node) and ``max_top`` set the shape, never the results'
    meaning; they exist so that tests can force deep trees on small capacities.
    """

    __slots__ = ("_base", "_block", "_capacity", "_cum0", "_cum_inner", "_leaves",
                 "_max_top", "_parents", "_public", "_top", "_vals")

    def __init__(self, capacity: int, *, block: int = BLOCK, max_top: int = MAX_TOP) -> None:
        for name, v, lo in (("capacity", capacity, 1), ("block", block, 2),
                            ("max_top", max_top, 1)):
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < lo:
                raise ValueError(f"{name} must be an int >= {lo}, got {v!r}")
        self._capacity = int(capacity)
        self._block = k = int(block)
        self._max_top = int(max_top)
        self._vals: list[FloatArray] = []  # level 0 = leaves; row r = children of node r
        n = self._capacity
        while True:
            n = -(-n // k)
            self._vals.append(np.zeros((n, k), dtype=np.float64))
            if n <= max_top:
                break
        self._top: FloatArray = np.zeros(n, dtype=np.float64)
        # cum0 = [0, cumsum(top)]: cum0[r] is the exclusive prefix of top node r.
        self._cum0: FloatArray = np.zeros(n + 1, dtype=np.float64)
        # Inclusive prefixes but the last: searchsorted on them never returns n (clamped).
        self._cum_inner = self._cum0[1:-1]
        self._parents = [v.reshape(-1) for v in self._vals[1:]] + [self._top]
        self._leaves = self._vals[0].reshape(-1)
        self._public = self._leaves[: self._capacity]
        self._public.flags.writeable = False  # a read-only view; the base stays writable
        self._base: FloatArray = np.zeros(0)  # cached arange(batch_size) for strata

    # -- reading -------------------------------------------------------------------

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def total(self) -> float:
        """Sum of all leaves (the root), in tree order."""
        return float(self._cum0[-1])

    @property
    def leaves(self) -> FloatArray:
        """Read-only view of the ``capacity`` leaf values (it follows later updates)."""
        return self._public

    def get(self, indices: ArrayLike) -> FloatArray:
        """Leaf values at ``indices`` (a copy); ValueError for non-integer or out-of-range."""
        idx = _as_indices(indices)
        if idx.size and not np.maximum.reduce(idx.view(np.uintp)) < self._capacity:
            raise ValueError(f"indices must lie in [0, {self._capacity})")  # <0 wraps high
        return self._leaves.take(idx)

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
        if idx.size == 0:
            return
        val = _check_finite_nonneg(val, "values")
        if idx.size > 1 and np.count_nonzero(idx[1:] <= idx[:-1]):
            idx, val = _last_wins(idx, val)  # not strictly increasing: may repeat
        # Sorted and unique now, so the extremes are at the ends.
        if not (idx[0] >= 0 and idx[-1] < self._capacity):
            raise ValueError(f"indices must lie in [0, {self._capacity})")
        self._leaves[idx] = val
        self._propagate(idx // self._block)

    def _propagate(self, rows: IndexArray | None) -> None:
        """Re-sum the given leaf rows (None: all) and every node above them."""
        k = self._block
        for vals, parent in zip(self._vals, self._parents, strict=True):
            if rows is None:
                parent[: vals.shape[0]] = np.add.reduce(vals, axis=1)
            else:
                parent[rows] = np.add.reduce(vals.take(rows, axis=0), axis=1)
                rows = rows // k
        np.add.accumulate(self._top, out=self._cum0[1:])

    # -- searching -----------------------------------------------------------------

    def find(self, targets: ArrayLike) -> IndexArray:
        """For each target t, the smallest leaf index i with ``cumsum(leaves)[i] > t``.

        The cumulative sums are the tree's own (across the top, then along each visited
        row). Targets must be finite and >= 0; one at or past the end (``total``, up to
        rounding) maps to the last leaf with value > 0. A zero-valued leaf is never
        returned. Raises ValueError when ``total`` is 0 or a target is invalid.
        """
        t = np.asarray(targets, dtype=np.float64)
        if t.ndim != 1:
            raise ValueError(f"targets must be a 1-D array, got shape {t.shape}")
        if not self._cum0[-1] > 0.0:
            raise ValueError("cannot search a sum tree whose total is 0 (all leaves empty)")
        if t.size:
            t = _check_finite_nonneg(t, "targets")
        return self._find(t)

    def _find(self, t: FloatArray) -> IndexArray:
        node = self._cum_inner.searchsorted(t, "right")
        # The exclusive prefix comes from the very cumsum searched, so it is <= t and the
        # residual is >= 0 exactly; likewise at every level below.
        res = t - self._cum0.take(node)
        k = self._block
        for lv in range(len(self._vals) - 1, -1, -1):
            p = np.add.accumulate(self._vals[lv].take(node, axis=0), axis=1)
            # First child whose inclusive prefix exceeds res. Only the first k - 1 are
            # compared: past them the last child is the answer (this clamps rounding
            # overshoot). A chosen child is > 0 unless clamped: adding 0.0 changes nothing.
            j = np.add.reduce(p[:, : k - 1] <= res[:, None], axis=1)
            if lv:
                res -= np.where(j > 0, p[np.arange(j.size), j - 1], 0.0)
            node *= k
            node += j
        if np.count_nonzero(self._leaves.take(node)) != node.size:
            node = self._fix_overshoot(node)
        return node

    def sample_stratified(self, batch_size: int, rng: np.random.Generator) -> IndexArray:
        """``batch_size`` leaf indices, one per equal segment of ``[0, total)``.

        Segment s yields ``find(total * (s + u_s) / batch_size)`` with ``u_s ~ U[0, 1)``
        from ``rng`` (exactly ``batch_size`` doubles drawn), so each draw picks leaf i
        with probability ``leaf_i / total`` on average, with less variance than
        independent draws (Schaul et al. 2016, appendix B.2.1). Indices come out sorted.
        Raises ValueError when ``batch_size < 1`` or ``total`` is 0.
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer):
            raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be an int >= 1, got {batch_size}")
        total = self._cum0[-1]
        if not total > 0.0:
            raise ValueError("cannot sample from a sum tree whose total is 0 (all leaves empty)")
        if self._base.size != batch_size:
            self._base = np.arange(batch_size, dtype=np.float64)
        t = rng.random(batch_size)
        t += self._base
        t *= total / batch_size
        return self._find(t)

    # -- checkpoints ---------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Plain data to rebuild this tree: its shape parameters and a copy of the leaves."""
        return {"capacity": self._capacity, "block": self._block, "max_top": self._max_top,
                "leaves": self._public.copy()}

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> SumTree:
        """Rebuild a tree from ``state_dict()`` output; every sum is recomputed."""
        tree = cls(state["capacity"], block=state.get("block", BLOCK),
                   max_top=state.get("max_top", MAX_TOP))
        leaves = np.asarray(state["leaves"], dtype=np.float64)
        if leaves.shape != (tree._capacity,):
            raise ValueError(f"leaves must have shape ({tree._capacity},), got {leaves.shape}")
        tree._leaves[: tree._capacity] = _check_finite_nonneg(leaves, "leaves")
        tree._propagate(None)
        return tree

    def _fix_overshoot(self, node: IndexArray) -> IndexArray:
        """Move each index that landed on a zero leaf to the last positive leaf before it.

        Only reached when rounding pushed a residual past its subtree's last nonzero leaf;
        that subtree has positive mass (a strict comparison chose it), so the leaf lies
        in it.
        """
        positive = np.flatnonzero(self._leaves)
        before = positive.searchsorted(node, "right") - 1
        fixed: IndexArray = positive[np.maximum(before, 0)]
        return fixed


def _as_indices(indices: ArrayLike) -> IndexArray:
    idx = np.asarray(indices)
    if idx.dtype != np.intp:
        if idx.size and idx.dtype.kind not in "iu":
            raise ValueError(f"indices must be integers, got dtype {idx.dtype}")
        if idx.dtype.kind == "u" and idx.size and idx.max() > np.iinfo(np.intp).max:
            raise ValueError("indices must lie in [0, capacity)")
        idx = idx.astype(np.intp)
    if idx.ndim != 1:
        raise ValueError(f"indices must be a 1-D array, got shape {idx.shape}")
    return idx


def _check_finite_nonneg(x: FloatArray, what: str) -> FloatArray:
    """``x`` if every element is finite and >= 0, -0.0 turned into +0.0; else ValueError."""
    # One unsigned compare on the bits rejects NaN, +-inf and anything with the sign bit.
    if np.count_nonzero(x.view(np.uint64) >= _FINITE_NONNEG_BITS):
        if not (np.minimum.reduce(x) >= 0.0 and np.maximum.reduce(x) < np.inf):
            raise ValueError(f"{what} must be finite and >= 0 (got NaN, inf or a negative)")
        x = x + 0.0  # only -0.0 tripped the bit test
    return x


def _last_wins(idx: IndexArray, val: FloatArray) -> tuple[IndexArray, FloatArray]:
    """Sorted unique indices, each with the value of its last occurrence (numpy leaves the
    winner of a repeated fancy assignment unspecified, so we decide it)."""
    order = idx.argsort(kind="stable")  # stable: equal keys keep call order
    s = idx[order]
    last = np.empty(s.size, dtype=bool)
    last[-1] = True
    np.not_equal(s[1:], s[:-1], out=last[:-1])
    keep = order[last]
    return idx[keep], val[keep]
