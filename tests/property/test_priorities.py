"""Properties of prioritized replay: priorities, beta schedule, IS weights, batches."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chisquare

from janus_sim.config import Replay
from janus_sim.core.priorities import (
    ReplaySample,
    _check_inputs,
    beta_at,
    compute_priorities,
    draw_batch,
    importance_weights,
    sample_probabilities,
)
from janus_sim.core.sum_tree import SumTree

FINITE = st.floats(-1e6, 1e6, allow_nan=False)
BETAS = st.floats(0.0, 1.0)
SPEC = Replay()
"""The spec's replay parameters: the config's defaults."""
SPEC_PRIORITY = {
    "lambda_logic": SPEC.lambda_logic,
    "lambda_reward": SPEC.lambda_reward,
    "eps": SPEC.priority_eps,
}


def _filled_tree(priorities: np.ndarray, occupied: np.ndarray, alpha: float) -> SumTree:
    """Leaves p^alpha on occupied slots only (0 ** 0 == 1, so empties are written as 0)."""
    tree = SumTree(priorities.size)
    tree.update(np.arange(priorities.size), np.where(occupied, priorities**alpha, 0.0))
    return tree


# -- priorities (eq. 7) ---------------------------------------------------------------


@given(
    st.lists(st.tuples(FINITE, st.floats(0, 100), FINITE), min_size=1, max_size=50),
    st.floats(0, 10),
    st.floats(0, 10),
    st.floats(1e-12, 1.0),
)
def test_priorities_follow_eq7_and_are_positive(
    rows: list[tuple[float, float, float]], lam_l: float, lam_r: float, eps: float
) -> None:
    delta, v, r = (np.array(c) for c in zip(*rows, strict=True))
    p = compute_priorities(delta, v, r, lam_l, lam_r, eps)
    expected = [abs(d) + lam_l * vi + lam_r * abs(ri) + eps for d, vi, ri in rows]
    np.testing.assert_allclose(p, expected, rtol=1e-12)
    assert (p > 0).all()


def test_priorities_at_the_spec_values() -> None:
    p = compute_priorities(np.array([-1.0]), np.array([1.0]), np.array([-2.0]), **SPEC_PRIORITY)
    assert p.tolist() == [1.0 + 2.0 * 1.0 + 0.5 * 2.0 + 1e-6]


@pytest.mark.parametrize(
    ("td", "v", "r", "kwargs", "message"),
    [
        ([np.nan], [0.0], [0.0], {}, "td_errors must be finite"),
        ([0.0], [np.inf], [0.0], {}, "violations must be finite"),
        ([0.0], [-1.0], [0.0], {}, "violations must be >= 0"),
        ([0.0, 1.0], [0.0], [0.0], {}, "one shape"),
        ([0.0], [0.0], [0.0], {"eps": 0.0}, "eps must be finite and > 0"),
        ([0.0], [0.0], [0.0], {"lambda_logic": -1.0}, "lambda_logic must be finite and >= 0"),
        ([[0.0]], [[0.0]], [[0.0]], {}, "1-D"),
    ],
)
def test_invalid_priority_inputs_raise(
    td: list[float] | list[list[float]],
    v: list[float] | list[list[float]],
    r: list[float] | list[list[float]],
    kwargs: dict[str, float],
    message: str,
) -> None:
    with pytest.raises(ValueError, match=message):
        compute_priorities(np.array(td), np.array(v), np.array(r), **(SPEC_PRIORITY | kwargs))


# -- beta schedule ----------------------------------------------------------------------


@given(st.integers(1, 5000), BETAS, BETAS)
def test_beta_is_monotone_from_start_to_end(n: int, b0: float, b1: float) -> None:
    lo, hi = sorted((b0, b1))
    betas = [beta_at(i, n, lo, hi) for i in range(0, n, max(1, n // 200))] + [
        beta_at(n - 1, n, lo, hi)
    ]
    assert all(a <= b for a, b in itertools.pairwise(betas))
    assert all(lo <= b <= hi for b in betas)
    assert betas[-1] == hi
    if n > 1:
        assert betas[0] == lo


def test_beta_schedule_endpoints_and_midpoint_at_the_spec_values() -> None:
    betas = (SPEC.beta_start, SPEC.beta_end)
    assert beta_at(0, 1000, *betas) == 0.4
    assert beta_at(999, 1000, *betas) == 1.0
    assert beta_at(0, 1, *betas) == 1.0  # a single iteration is the last one
    assert math.isclose(beta_at(50, 101, *betas), 0.7, rel_tol=1e-15)


@pytest.mark.parametrize(
    ("it", "n", "b0", "b1", "message"),
    [
        (5, 5, 0.4, 1.0, r"iteration must be an int in \[0, 5\)"),
        (-1, 5, 0.4, 1.0, "iteration must be"),
        (0, 0, 0.4, 1.0, "n_iterations must be an int >= 1"),
        (0, 5, -0.1, 1.0, r"beta_start must lie in \[0, 1\]"),
        (0, 5, 0.4, 1.5, r"beta_end must lie in \[0, 1\]"),
    ],
)
def test_invalid_beta_schedule_raises(it: int, n: int, b0: float, b1: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        beta_at(it, n, b0, b1)


# -- importance weights (eq. 9) ---------------------------------------------------------


# No deadline: the first example may include the weights kernel's one-off JIT compile.
@settings(deadline=None)
@given(st.lists(st.floats(1e-300, 1.0), min_size=1, max_size=128), st.integers(1, 10**7), BETAS)
def test_weights_lie_in_unit_interval_with_max_exactly_one(
    probs: list[float], n: int, beta: float
) -> None:
    p = np.array(probs)
    w = importance_weights(p, n, beta)
    assert w.shape == p.shape
    assert (w > 0).all() and (w <= 1.0).all()
    assert w.max() == 1.0
    assert w[np.argmin(p)] == 1.0
    # Same as the textbook form (N * P)^-beta / max, up to rounding.
    raw = np.exp(-beta * (np.log(n) + np.log(p)))
    np.testing.assert_allclose(w, raw / raw.max(), rtol=1e-9)


@pytest.mark.parametrize(
    ("probs", "n", "beta", "message"),
    [
        ([0.0, 0.5], 10, 0.4, r"probs must lie in \(0, 1\]"),
        ([np.nan], 10, 0.4, r"probs must lie in \(0, 1\]"),
        ([1.5], 10, 0.4, r"probs must lie in \(0, 1\]"),
        ([], 10, 0.4, "non-empty 1-D"),
        ([0.5], 0, 0.4, "n_occupied must be an int >= 1"),
        ([0.5], 10, 1.2, r"beta must lie in \[0, 1\]"),
    ],
)
def test_invalid_weight_inputs_raise(probs: list[float], n: int, beta: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        importance_weights(np.array(probs, dtype=np.float64), n, beta)


# -- batches ----------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.booleans(), min_size=1, max_size=400).filter(any),
    st.integers(1, 256),
    BETAS,
    st.floats(0.0, 1.0),
    st.integers(0, 2**32),
)
def test_batches_are_full_size_valid_and_consistent(
    occupied: list[bool], batch: int, beta: float, alpha: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    mask = np.array(occupied)
    tree = _filled_tree(rng.uniform(1e-6, 50.0, mask.size), mask, alpha)
    s = draw_batch(tree, int(mask.sum()), batch, beta, rng)
    assert isinstance(s, ReplaySample) and s.beta == beta
    assert s.indices.shape == s.probs.shape == s.weights.shape == (batch,)
    assert mask[s.indices].all()
    np.testing.assert_array_equal(s.probs, sample_probabilities(tree, s.indices))
    assert (s.probs > 0).all() and (s.probs <= 1).all()
    assert (s.weights > 0).all() and s.weights.max() == 1.0
    np.testing.assert_array_equal(s.weights, importance_weights(s.probs, int(mask.sum()), beta))


def test_sampled_frequencies_match_p_alpha() -> None:
    rng = np.random.default_rng(12345)
    priorities = compute_priorities(
        rng.normal(0, 2, 20),
        rng.integers(0, 3, 20).astype(float),
        rng.normal(0, 1, 20),
        **SPEC_PRIORITY,
    )
    tree = _filled_tree(priorities, np.ones(20, dtype=bool), 0.6)
    counts = np.zeros(20)
    for _ in range(3125):
        np.add.at(counts, draw_batch(tree, 20, 64, 0.4, rng).indices, 1)
    law = priorities**0.6 / np.sum(priorities**0.6)
    assert counts.sum() == 200_000
    assert chisquare(counts, law * counts.sum()).pvalue > 0.001
    # ...and the test has teeth: the same counts reject the unsharpened law (alpha = 1).
    assert chisquare(counts, priorities / priorities.sum() * counts.sum()).pvalue < 1e-6


def test_alpha_zero_is_uniform_over_occupied_slots_only() -> None:
    rng = np.random.default_rng(99)
    occupied = np.zeros(40, dtype=bool)
    occupied[rng.choice(40, 25, replace=False)] = True
    tree = _filled_tree(rng.uniform(0.01, 100.0, 40), occupied, 0.0)
    counts = np.zeros(40)
    for _ in range(3125):
        s = draw_batch(tree, 25, 64, 1.0, rng)
        np.add.at(counts, s.indices, 1)
        assert (s.weights == 1.0).all()  # uniform P: every weight is the max
    assert counts[~occupied].sum() == 0
    assert chisquare(counts[occupied]).pvalue > 0.001


def test_same_seed_same_batch_other_seed_other_batch() -> None:
    tree = _filled_tree(
        np.random.default_rng(0).uniform(0.1, 3.0, 10_000), np.ones(10_000, dtype=bool), 0.6
    )
    a = draw_batch(tree, 10_000, 64, 0.4, np.random.default_rng(5))
    b = draw_batch(tree, 10_000, 64, 0.4, np.random.default_rng(5))
    c = draw_batch(tree, 10_000, 64, 0.4, np.random.default_rng(6))
    for x, y in ((a.indices, b.indices), (a.probs, b.probs), (a.weights, b.weights)):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a.indices, c.indices)


def test_invalid_batch_requests_raise() -> None:
    rng = np.random.default_rng(0)
    empty = SumTree(16)
    with pytest.raises(ValueError, match="total is 0"):
        draw_batch(empty, 1, 4, 0.4, rng)
    with pytest.raises(ValueError, match="total > 0"):
        sample_probabilities(empty, np.array([0]))
    tree = _filled_tree(np.ones(16), np.ones(16, dtype=bool), 0.6)
    with pytest.raises(ValueError, match="batch_size must be an int >= 1"):
        draw_batch(tree, 16, 0, 0.4, rng)
    with pytest.raises(ValueError, match=r"beta must lie in \[0, 1\]"):
        draw_batch(tree, 16, 4, -0.1, rng)
    with pytest.raises(ValueError, match="n_occupied must be an int >= 1"):
        draw_batch(tree, 0, 4, 0.4, rng)


_GOOD = st.floats(0.0, 1e3)
_BAD = st.sampled_from([-1.0, -1e-300, 1e308, np.inf, -np.inf, np.nan])
_FAULTS = ("td", "v", "r", "length", "2-d", "ll", "lr", "eps")
"""Where a fault goes: a value of one input (the arrays and the three parameters), an
array's length, or td_errors' dimensions."""


def _checked_priorities(
    td: np.ndarray, v: np.ndarray, r: np.ndarray, ll: float, lr: float, eps: float
) -> np.ndarray:
    """Eq. 7 as specified: every input checked in turn, then the formula and its overflow."""
    delta, vv, rr = (np.asarray(a, dtype=np.float64) for a in (td, v, r))
    _check_inputs(delta, vv, rr, ll, lr, eps)
    p = np.abs(delta) + ll * vv + lr * np.abs(rr) + eps
    if not np.all(np.isfinite(p)):
        raise ValueError("priorities overflowed to inf; td_errors or rewards are too large")
    return p


def _outcome(f: object, *args: object) -> tuple[str, object]:
    try:
        return "ok", f(*args)  # type: ignore[operator]
    except ValueError as e:
        return "raised", str(e)


@settings(max_examples=400, deadline=None)
@given(
    n=st.integers(0, 6),
    data=st.data(),
    faults=st.lists(st.sampled_from(_FAULTS), max_size=2),
)
def test_fast_priorities_equal_the_checked_ones(
    n: int, data: st.DataObject, faults: list[str]
) -> None:
    """The unchecked formula is taken only where every check would pass: the same bits
    for valid inputs, the same first error for any fault (non-finite or negative values,
    overflow, mismatched or 2-d shapes, bad lambdas or eps), alone or two at once."""
    arrs = [np.array(data.draw(st.lists(_GOOD, min_size=n, max_size=n))) for _ in range(3)]
    lams = [data.draw(_GOOD), data.draw(_GOOD), data.draw(st.floats(1e-9, 1.0))]
    for fault in faults:
        if fault == "length":
            k = data.draw(st.integers(0, 2))
            arrs[k] = np.append(arrs[k], 1.0)
        elif fault == "2-d" and arrs[0].size:
            arrs[0] = arrs[0].reshape(1, -1)
        elif fault in ("ll", "lr", "eps"):
            lams[("ll", "lr", "eps").index(fault)] = data.draw(st.one_of(_BAD, st.just(0.0)))
        elif fault in ("td", "v", "r") and n:
            a = arrs[("td", "v", "r").index(fault)].reshape(-1)
            a[data.draw(st.integers(0, n - 1))] = data.draw(_BAD)
    with np.errstate(all="ignore"):  # overflow and inf * 0 are among the faults drawn
        fast = _outcome(compute_priorities, *arrs, *lams)
        slow = _outcome(_checked_priorities, *arrs, *lams)
    assert fast[0] == slow[0]
    if fast[0] == "ok":
        p = np.asarray(fast[1])
        assert np.array_equal(p, np.asarray(slow[1]))
        assert np.isfinite(p).all() and (p > 0).all()
    else:
        assert fast[1] == slow[1]
