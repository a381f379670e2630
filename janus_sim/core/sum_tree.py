"""A wide (B-ary) sum tree over float64 leaves, for proportional prioritized replay.

Layout: the leaves form a ``(rows, block)`` matrix (zero-padded); row r holds the children
of node r. Row sums are the children of the level above, again ``block`` per row, until
a level has at most ``max_top`` nodes; that top level is a flat vector with a cached
cumulative sum (its last element is the root, ``total``).

Search without per-row loops: each level stores, per child, the complex key
``row + 1j * (inclusive prefix sum of its row up to it)``; a row's last child gets real
part ``row + 0.5`` (and the row total). numpy orders complex numbers lexicographically,
so a level's keys are sorted and ONE ``searchsorted`` of the queries
``node + 1j * residual`` finds, for all targets at once, the first child whose prefix
exceeds the residual; the ``+ 0.5`` keeps each answer in its own row (a residual pushed
past the row's end by rounding lands on the last child). The column of row totals is
the level above's children (on the top level: the vector whose cumsum is searched
first). A batched search is ~10 numpy calls; an update redoes the prefix sums of the
touched rows, then the top's cumsum. At batch sizes like 64 per-call overhead, not
arithmetic, is what costs, so the hot paths count their calls.

Exactness: every sum is recomputed from its children (``np.add.accumulate`` along a row,
then along the top), never adjusted by deltas, so after any sequence of updates the root
is bit for bit the root of a tree built from scratch on the same leaves ("tree order"):
it cannot drift.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

BLOCK = 16  # children per node: row prefix work per update (~B) vs the top's size (~N/B)
MAX_TOP = 1024  # the top's cumulative sum is redone on every update, so keep it short
_BAD_BITS = np.uint64(0x7FF0000000000000)  # float64 bits >= this: NaN, inf or sign set
_INTS = (int, np.integer)
_INTP = np.dtype(np.intp)

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.intp]
KeyArray = NDArray[np.complex128]


class SumTree:
    """Sum tree over ``capacity`` non-negative float64 leaves, all zero initially.

    Contract: leaves are finite and >= 0 (and their sum stays finite); ``total`` is their
    sum in tree order; ``find`` and ``sample_stratified`` only return indices of leaves
    with value > 0. ``block`` (children per node, a power of two) and ``max_top`` set the
    shape, never the results' meaning; tests use them to force deep trees.
    """

    __slots__ = (
        "_base", "_block", "_capacity", "_cum0", "_cum_incl", "_cum_inner", "_keys", "_leaves",
        "_levels", "_max_top", "_public", "_query", "_search", "_shift", "_top", "_vals",
    )  # fmt: skip

    def __init__(self, capacity: int, *, block: int = BLOCK, max_top: int = MAX_TOP) -> None:
        checks = (("capacity", capacity, 1), ("block", block, 2), ("max_top", max_top, 1))
        for name, v, lo in checks:
            if isinstance(v, bool) or not isinstance(v, _INTS) or v < lo:
                raise ValueError(f"{name} must be an int >= {lo}, got {v!r}")
        if block & (block - 1):
            raise ValueError(f"block must be a power of two, got {block}")
        self._capacity, self._block, self._max_top = int(capacity), int(block), int(max_top)
        k = self._block
        self._shift = k.bit_length() - 1  # shifts: cheaper than // and * on index arrays
        n = -(-self._capacity // k)  # nodes in the lowest level, then upwards
        depth = 1
        while n > max_top:
            n, depth = -(-n // k), depth + 1
        # Rows top down: every child slot of a level owns a row below (zero padding), so
        # even a search clamped into padding indexes a real row.
        rows = [n * k**d for d in range(depth - 1, -1, -1)]  # level 0 (leaves) first
        self._keys: list[KeyArray] = []
        for r in rows:
            key = np.zeros((r, k), dtype=np.complex128)
            key.real = np.arange(r, dtype=np.float64)[:, None]
            key.real[:, k - 1] += 0.5
            self._keys.append(key)
        totals = [key.imag[:, k - 1] for key in self._keys]  # strided views
        # Children of each level: the leaves, then the row totals of the level below.
        self._vals: list[FloatArray] = [np.zeros((rows[0], k), dtype=np.float64)]
        self._vals += [t.reshape(r, k) for t, r in zip(totals, rows[1:], strict=False)]
        self._top: FloatArray = totals[-1]
        # Exclusive in-row prefixes of upper levels: they turn a child into a residual.
        excl: list[FloatArray | None] = [None] + [np.zeros((r, k)) for r in rows[1:]]
        self._cum0: FloatArray = np.zeros(n + 1, dtype=np.float64)  # [0, cumsum(top)]
        self._cum_incl = self._cum0[1:]
        # Inclusive prefixes but the last: searchsorted on them never returns n (clamped).
        self._cum_inner = self._cum0[1:-1]
        # Bottom up, for updates: (children, key prefixes, exclusive prefixes, whether a
        # level above exists).
        levels = zip(self._vals, self._keys, excl, strict=True)
        self._levels = tuple(
            (v, key.imag, e, lv + 1 < depth) for lv, (v, key, e) in enumerate(levels)
        )
        # Top down, for searches: (flat keys, flat exclusive prefixes or None).
        self._search = tuple(
            (key.reshape(-1), None if e is None else e.reshape(-1))
            for key, e in zip(self._keys[::-1], excl[::-1], strict=True)
        )
        self._leaves = self._vals[0].reshape(-1)
        self._public = self._leaves[: self._capacity]
        self._public.flags.writeable = False  # a read-only view; the base stays writable
        self._base: FloatArray = np.zeros(0)  # arange(batch_size), cached for the strata
        q = np.zeros(0, dtype=np.complex128)
        self._query: tuple[KeyArray, FloatArray, FloatArray] = (q, q.real, q.imag)

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
        if not idx.size:
            return
        val = _check_finite_nonneg(val, "values")
        if idx.size > 1 and np.count_nonzero(idx[1:] <= idx[:-1]):
            idx, val = _last_wins(idx, val)  # not strictly increasing: may repeat
        # Sorted and unique now, so the extremes are at the ends.
        if not (idx[0] >= 0 and idx[-1] < self._capacity):
            raise ValueError(f"indices must lie in [0, {self._capacity})")
        self._leaves[idx] = val
        self._propagate(idx >> self._shift)

    def _propagate(self, rows: IndexArray) -> None:
        """Recompute the prefixes of the given leaf rows and of every node above them."""
        k1, shift = self._block - 1, self._shift
        for vals, key_imag, excl, up in self._levels:
            # Each row's prefix by one sequential accumulate: identical in a rebuild. Its
            # last column, the row total, is a child of the level above (or the top).
            p = np.add.accumulate(vals.take(rows, 0), 1)
            key_imag[rows] = p
            if excl is not None:
                excl[rows, 1:] = p[:, :k1]
            if up:
                rows = rows >> shift
        np.add.accumulate(self._top, out=self._cum_incl)

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
        return self._find(t)[0]

    def _find(self, t: FloatArray) -> tuple[IndexArray, FloatArray]:
        """``find`` without the checks; also returns the found leaves' values."""
        node = self._cum_inner.searchsorted(t, "right")
        q, q_real, res = self._query
        if q.size != t.size:
            q = np.zeros(t.size, dtype=np.complex128)
            self._query = q, q_real, res = q, q.real, q.imag  # residuals live in q.imag
        # The exclusive prefix comes from the very cumsum searched, so it is <= t and the
        # residual is >= 0 exactly; likewise at every level below.
        np.subtract(t, self._cum0[node], out=res)
        for keys, excl in self._search:
            q_real[:] = node
            # First child (flat index) whose key exceeds (node, residual): in row `node`,
            # the first inclusive prefix > residual. It is > 0 unless the row's last child
            # was taken as a clamp: a zero child repeats its predecessor's prefix.
            node = keys.searchsorted(q, "right")
            if excl is not None:
                np.subtract(res, excl[node], out=res)
        values = self._leaves[node]  # 1-D fancy indexing: quicker than take here
        if np.count_nonzero(values) != node.size:
            node = self._fix_overshoot(node)
            values = self._leaves[node]
        return node, values

    def sample_stratified(self, batch_size: int, rng: np.random.Generator) -> IndexArray:
        """``batch_size`` leaf indices, one per equal segment of ``[0, total)``.

        Segment s yields ``find(total * (s + u_s) / batch_size)`` with ``u_s ~ U[0, 1)``
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
                "leaves": self._public.copy()}  # fmt: skip

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> SumTree:
        """Rebuild a tree from ``state_dict()`` output; every sum is recomputed."""
        tree = cls(state["capacity"], block=state.get("block", BLOCK),
                   max_top=state.get("max_top", MAX_TOP))  # fmt: skip
        leaves = np.asarray(state["leaves"], dtype=np.float64)
        if leaves.shape != (tree._capacity,):
            raise ValueError(f"leaves must have shape ({tree._capacity},), got {leaves.shape}")
        tree._leaves[: tree._capacity] = _check_finite_nonneg(leaves, "leaves")
        tree._propagate(np.arange(tree._vals[0].shape[0], dtype=np.intp))
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
    if idx.dtype is not _INTP:
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
    # One unsigned max over the bits rejects NaN, +-inf and anything with the sign bit.
    if np.maximum.reduce(x.view(np.uint64)) >= _BAD_BITS:
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
