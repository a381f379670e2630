"""Properties of the sum tree: exact sums, prefix search, sampling law, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chisquare

from janus_sim.core.sum_tree import SumTree

VALUES = st.one_of(
    st.just(0.0),
    st.floats(min_value=1e-30, max_value=1e6, allow_nan=False, allow_infinity=False),
    st.integers(min_value=0, max_value=100).map(float),
)


@st.composite
def update_sequences(draw: st.DrawFn) -> tuple[int, list[tuple[list[int], list[float]]]]:
    # Small capacities: trees of every depth from a lone leaf (capacity 1) to 9 levels,
    # power-of-two leaf counts and zero padding alike.
    capacity = draw(st.integers(min_value=1, max_value=300))
    ops = []
    for _ in range(draw(st.integers(min_value=1, max_value=8))):
        idx = draw(st.lists(st.integers(0, capacity - 1), min_size=0, max_size=40))
        vals = draw(st.lists(VALUES, min_size=len(idx), max_size=len(idx)))
        ops.append((idx, vals))
    return capacity, ops


def _reference(capacity: int, ops: list[tuple[list[int], list[float]]]) -> np.ndarray:
    leaves = np.zeros(capacity)
    for idx, vals in ops:
        for i, v in zip(idx, vals, strict=True):  # sequential: the last write wins
            leaves[i] = v
    return leaves


@settings(max_examples=150, deadline=None)
@given(update_sequences())
def test_root_is_exact_tree_order_sum_after_any_updates(
    case: tuple[int, list[tuple[list[int], list[float]]]],
) -> None:
    capacity, ops = case
    tree = SumTree(capacity)
    for idx, vals in ops:
        tree.update(np.array(idx, dtype=np.intp), np.array(vals, dtype=np.float64))
    expected = _reference(capacity, ops)
    np.testing.assert_array_equal(tree.leaves, expected)
    # Incremental sums are bit for bit those of a tree built from scratch: no drift.
    rebuilt = SumTree.from_state_dict(tree.state_dict())
    assert tree.total == rebuilt.total
    np.testing.assert_array_equal(tree._node, rebuilt._node)  # every node, not just the root
    node, size = tree._node, tree._size
    np.testing.assert_array_equal(node[1:size], node[2 : 2 * size : 2] + node[3 : 2 * size : 2])
    exact = math.fsum(expected.tolist())
    assert math.isclose(tree.total, exact, rel_tol=1e-12, abs_tol=0.0)


def test_root_does_not_drift_over_many_updates() -> None:
    rng = np.random.default_rng(7)
    tree = SumTree(1000)
    for _ in range(2000):
        idx = rng.integers(0, 1000, 16)
        tree.update(idx, rng.random(16) * 10.0 ** rng.integers(-8, 8))
    assert tree.total == SumTree.from_state_dict(tree.state_dict()).total
    assert math.isclose(tree.total, math.fsum(tree.leaves.tolist()), rel_tol=1e-12)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(0, 20), min_size=1, max_size=200).filter(lambda xs: sum(xs) > 0),
    st.data(),
)
def test_find_matches_brute_force_cumsum_search(weights: list[int], data: st.DataObject) -> None:
    # Integer leaves and quarter-integer targets: every sum is exact, so the tree's
    # answer must equal the brute-force one exactly.
    leaves = np.array(weights, dtype=np.float64)
    tree = SumTree(leaves.size)
    tree.update(np.arange(leaves.size), leaves)
    total = int(leaves.sum())
    quarters = data.draw(st.lists(st.integers(0, 4 * total - 1), min_size=1, max_size=64))
    # Plus every exact boundary between leaves, where "> t" versus ">= t" would differ.
    boundaries = np.unique(np.cumsum(leaves))[:-1]
    targets = np.concatenate([np.array(quarters, dtype=np.float64) / 4.0, boundaries])
    expected = np.searchsorted(np.cumsum(leaves), targets, side="right")
    np.testing.assert_array_equal(tree.find(targets), expected)
    assert (leaves[tree.find(targets)] > 0).all()


@settings(max_examples=100, deadline=None)
@given(
    st.lists(VALUES, min_size=1, max_size=200).filter(lambda xs: sum(xs) > 0),
    st.lists(st.floats(0.0, 1.0), min_size=1, max_size=64),
)
def test_find_brackets_the_target_and_never_returns_an_empty_leaf(
    values: list[float], fractions: list[float]
) -> None:
    leaves = np.array(values)
    tree = SumTree(leaves.size)
    tree.update(np.arange(leaves.size), leaves)
    # Fractions up to 1.0 inclusive: targets at the very end must map to a nonzero leaf.
    targets = np.array(fractions) * tree.total
    found = tree.find(targets)
    assert (leaves[found] > 0).all()
    cum = np.cumsum(leaves)
    tol = 1e-9 * tree.total
    before = np.where(found > 0, cum[found - 1], 0.0)
    assert (before <= targets + tol).all()
    assert (np.minimum(targets, tree.total * (1 - 1e-12)) < cum[found] + tol).all()


def test_target_at_total_maps_to_last_nonzero_leaf() -> None:
    tree = SumTree(10)
    tree.update(np.array([1, 4, 6]), np.array([1.0, 2.0, 3.0]))
    assert tree.find(np.array([tree.total, 0.0, 2.999, 3.0])).tolist() == [6, 1, 4, 6]


@pytest.mark.parametrize("capacity", [20, 32])
def test_sampling_frequencies_follow_p_alpha(capacity: int) -> None:
    rng = np.random.default_rng(20160101)
    priorities = rng.uniform(0.05, 5.0, 20)
    leaves = priorities**0.6
    tree = SumTree(capacity)  # 20: zero padding up to 32 leaves
    tree.update(np.arange(20), leaves)
    counts = np.zeros(20)
    for _ in range(2000):
        np.add.at(counts, tree.sample_stratified(100, rng), 1)
    expected = leaves / leaves.sum() * counts.sum()
    assert counts.sum() == 200_000
    assert chisquare(counts, expected).pvalue > 0.001


def test_chi_square_detects_a_wrong_law() -> None:
    # The goodness-of-fit check has teeth: the same draws against p (not p^alpha) fail.
    rng = np.random.default_rng(20160101)
    priorities = rng.uniform(0.05, 5.0, 20)
    tree = SumTree(20)
    tree.update(np.arange(20), priorities**0.6)
    counts = np.bincount(
        np.concatenate([tree.sample_stratified(100, rng) for _ in range(2000)]), minlength=20
    )
    wrong = priorities / priorities.sum() * counts.sum()
    assert chisquare(counts, wrong).pvalue < 1e-6


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.booleans(), min_size=1, max_size=300).filter(any),
    st.integers(1, 128),
    st.integers(0, 2**32),
)
def test_samples_are_full_size_sorted_and_never_empty_leaves(
    occupied: list[bool], batch: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    mask = np.array(occupied)
    values = np.where(mask, rng.uniform(1e-12, 1e3, mask.size), 0.0)
    tree = SumTree(mask.size)
    tree.update(np.arange(mask.size), values)
    idx, vals = tree.sample_with_values(batch, rng)
    assert idx.shape == (batch,) and idx.dtype == np.intp
    assert mask[idx].all()
    assert (np.diff(idx) >= 0).all()
    np.testing.assert_array_equal(vals, values[idx])


def test_same_seed_same_batch_other_seed_other_batch() -> None:
    tree = SumTree(5000)
    tree.update(np.arange(5000), np.random.default_rng(0).random(5000) + 0.1)
    a = tree.sample_stratified(64, np.random.default_rng(1))
    b = tree.sample_stratified(64, np.random.default_rng(1))
    c = tree.sample_stratified(64, np.random.default_rng(2))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_duplicate_indices_last_one_wins() -> None:
    tree = SumTree(8)
    tree.update(np.array([3, 5, 3, 3, 5]), np.array([1.0, 2.0, 7.0, 4.0, 9.0]))
    assert tree.get(np.array([3, 5])).tolist() == [4.0, 9.0]
    assert tree.total == 13.0


def test_state_dict_round_trip_and_read_only_leaves() -> None:
    tree = SumTree(100)
    tree.update(np.arange(0, 100, 3), np.linspace(0.5, 3.0, 34))
    copy = SumTree.from_state_dict(tree.state_dict())
    np.testing.assert_array_equal(copy.leaves, tree.leaves)
    assert copy.total == tree.total
    # A checkpoint of the earlier wide-tree layout carried shape keys: they are ignored.
    old = {**tree.state_dict(), "block": 16, "max_top": 1024}
    assert SumTree.from_state_dict(old).total == tree.total
    with pytest.raises(ValueError, match="finite and >= 0"):
        SumTree.from_state_dict({"capacity": 2, "leaves": np.array([1.0, np.nan])})
    with pytest.raises(ValueError):
        tree.leaves[0] = 1.0  # numpy: "assignment destination is read-only"


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf"), -float("inf")])
def test_invalid_values_raise_and_change_nothing(bad: float) -> None:
    tree = SumTree(10)
    tree.update(np.array([1, 2]), np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="finite and >= 0"):
        tree.update(np.array([2, 3]), np.array([5.0, bad]))
    assert tree.leaves.tolist()[:4] == [0.0, 1.0, 2.0, 0.0]
    assert tree.total == 3.0


def test_negative_zero_is_accepted_as_zero() -> None:
    tree = SumTree(4)
    tree.update(np.array([0, 1]), np.array([-0.0, 1.0]))
    assert math.copysign(1.0, tree.leaves[0]) == 1.0


@pytest.mark.parametrize(
    ("indices", "values", "message"),
    [
        ([10], [1.0], r"indices must lie in \[0, 10\)"),
        ([-1], [1.0], r"indices must lie in \[0, 10\)"),
        ([0.5], [1.0], "indices must be integers"),
        ([[1]], [[1.0]], "1-D"),
        ([1, 2], [1.0], "same shape|shape of indices"),
    ],
)
def test_invalid_indices_raise(
    indices: list[int] | list[float] | list[list[int]],
    values: list[float] | list[list[float]],
    message: str,
) -> None:
    with pytest.raises(ValueError, match=message):
        SumTree(10).update(np.array(indices), np.array(values))


def test_empty_tree_and_bad_batch_sizes_raise() -> None:
    tree = SumTree(10)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="total is 0"):
        tree.sample_stratified(4, rng)
    with pytest.raises(ValueError, match="total is 0"):
        tree.find(np.array([0.0]))
    tree.update(np.array([0]), np.array([1.0]))
    for bad in (0, -3, True, 2.0):
        with pytest.raises(ValueError, match="batch_size must be an int >= 1"):
            tree.sample_stratified(bad, rng)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="targets must be finite and >= 0"):
        tree.find(np.array([-0.5]))
    with pytest.raises(ValueError, match="capacity must be an int >= 1"):
        SumTree(0)


def test_empty_update_is_a_no_op() -> None:
    tree = SumTree(4)
    tree.update(np.array([], dtype=np.intp), np.array([]))
    assert tree.total == 0.0


def test_sampling_draws_exactly_batch_size_doubles() -> None:
    tree = SumTree(100)
    tree.update(np.arange(100), np.linspace(1.0, 2.0, 100))
    rng, twin = np.random.default_rng(3), np.random.default_rng(3)
    tree.sample_stratified(17, rng)
    twin.random(17)
    assert rng.random() == twin.random()


def test_get_checks_its_indices() -> None:
    tree = SumTree(5)
    tree.update(np.array([4]), np.array([2.5]))
    assert tree.get(np.array([4, 0])).tolist() == [2.5, 0.0]
    for bad in ([5], [-1]):
        with pytest.raises(ValueError, match=r"indices must lie in \[0, 5\)"):
            tree.get(np.array(bad))


def test_bad_index_after_good_ones_changes_nothing() -> None:
    tree = SumTree(6)
    tree.update(np.array([0, 5]), np.array([1.0, 2.0]))
    before = tree._node.copy()
    with pytest.raises(ValueError, match=r"indices must lie in \[0, 6\)"):
        tree.update(np.array([1, 2, 6]), np.array([3.0, 4.0, 5.0]))
    np.testing.assert_array_equal(tree._node, before)


def test_capacity_one_and_other_index_dtypes() -> None:
    tree = SumTree(1)
    tree.update(np.array([0], dtype=np.uint8), np.array([2.5], dtype=np.float32))
    assert tree.total == 2.5 and tree.find(np.array([0.0, 2.5])).tolist() == [0, 0]
    assert tree.sample_stratified(3, np.random.default_rng(0)).tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match=r"indices must lie in \[0, 1\)"):
        tree.update(np.array([1], dtype=np.int32), np.array([1.0]))
