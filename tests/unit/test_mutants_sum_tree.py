"""SumTree behaviour the older tests left open (found by mutation testing, QUALITY.md):
the exact error messages, checkpoint validation and -0.0 handling."""

from __future__ import annotations

import numpy as np
import pytest

from janus_sim.core.sum_tree import SumTree


def _tree() -> SumTree:
    tree = SumTree(4)
    tree.update([0, 1, 2], [1.0, 2.0, 3.0])
    return tree


def test_find_rejects_a_2d_target_array_by_name() -> None:
    with pytest.raises(ValueError) as err:
        _tree().find(np.zeros((2, 2)))
    assert str(err.value) == "targets must be a 1-D array, got shape (2, 2)"


def test_find_on_an_empty_tree_says_why() -> None:
    with pytest.raises(ValueError) as err:
        SumTree(3).find([0.0])
    assert str(err.value) == "cannot search a sum tree whose total is 0 (all leaves empty)"


@pytest.mark.parametrize("bad", [-1.0, np.nan, np.inf])
def test_find_rejects_targets_that_are_not_finite_and_non_negative(bad: float) -> None:
    with pytest.raises(ValueError) as err:
        _tree().find([0.5, bad])
    assert str(err.value) == "targets must be finite and >= 0 (got NaN, inf or a negative)"


def test_from_state_dict_rejects_a_wrong_leaf_shape() -> None:
    with pytest.raises(ValueError) as err:
        SumTree.from_state_dict({"capacity": 3, "leaves": np.ones(2)})
    assert str(err.value) == "leaves must have shape (3,), got (2,)"


@pytest.mark.parametrize("bad", [-0.5, np.inf, np.nan])
def test_from_state_dict_rejects_negative_or_non_finite_leaves(bad: float) -> None:
    # One bad leaf among good ones: each half of the check must hold on its own.
    with pytest.raises(ValueError) as err:
        SumTree.from_state_dict({"capacity": 3, "leaves": np.array([1.0, bad, 2.0])})
    assert str(err.value) == "leaves must be finite and >= 0 (got NaN, inf or a negative)"


def test_from_state_dict_turns_negative_zero_into_positive_zero() -> None:
    # A checkpoint's bytes must not depend on whether a zero leaf was written as -0.0.
    tree = SumTree.from_state_dict({"capacity": 3, "leaves": np.array([-0.0, 1.0, -0.0])})
    assert not np.signbit(tree.leaves).any()
    assert tree.state_dict()["leaves"].tobytes() == np.array([0.0, 1.0, 0.0]).tobytes()


def test_sampling_an_empty_tree_says_why() -> None:
    with pytest.raises(ValueError) as err:
        SumTree(3).sample_with_values(2, np.random.default_rng(0))
    assert str(err.value) == "cannot sample from a sum tree whose total is 0 (all leaves empty)"


@pytest.mark.parametrize("capacity", [True, 2.0, 0])
def test_capacity_must_be_a_real_int_of_at_least_one(capacity: object) -> None:
    with pytest.raises(ValueError) as err:
        SumTree(capacity)  # type: ignore[arg-type]
    assert str(err.value) == f"capacity must be an int >= 1, got {capacity!r}"


def test_unsigned_indices_beyond_intp_are_refused_before_any_cast() -> None:
    tree = _tree()
    huge = np.array([np.iinfo(np.intp).max + 1], dtype=np.uint64)  # would wrap negative
    for call in (lambda: tree.get(huge), lambda: tree.update(huge, [1.0])):
        with pytest.raises(ValueError) as err:
            call()
        assert str(err.value) == "indices must lie in [0, capacity)"
    # The largest intp fits: it is cast, then found out of range like any other index.
    top = np.array([np.iinfo(np.intp).max], dtype=np.uint64)
    with pytest.raises(ValueError) as err:
        tree.get(top)
    assert str(err.value) == "indices must lie in [0, 4)"


@pytest.mark.parametrize("bad", [-1.0, np.nan, np.inf])
def test_update_refuses_values_that_are_not_finite_and_non_negative(bad: float) -> None:
    tree = _tree()
    with pytest.raises(ValueError) as err:
        tree.update([3], [bad])
    assert str(err.value) == "values must be finite and >= 0 (got NaN, inf or a negative)"
    assert tree.total == 6.0  # nothing was written


def test_update_refuses_float_indices_and_bad_shapes_by_name() -> None:
    tree = _tree()
    with pytest.raises(ValueError) as err:
        tree.update(np.array([0.0]), [1.0])
    assert str(err.value) == "indices must be integers, got dtype float64"
    with pytest.raises(ValueError) as err:
        tree.update([0, 1], [1.0])
    assert str(err.value) == "values must have the shape of indices (2,), got (1,)"
    with pytest.raises(ValueError) as err:
        tree.update([4], [1.0])
    assert str(err.value) == "indices must lie in [0, 4)"


def test_update_stores_values_as_float64_whatever_their_dtype() -> None:
    tree = SumTree(3)
    tree.update(np.array([0, 2], dtype=np.int32), np.array([0.1, 0.7], dtype=np.float32))
    assert tree.leaves.dtype == np.float64
    assert tree.leaves.tolist() == [float(np.float32(0.1)), 0.0, float(np.float32(0.7))]
