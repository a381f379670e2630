"""Prioritized-replay behaviour the older tests left open (found by mutation testing,
QUALITY.md): float64 arithmetic whatever the input dtype, and the exact error messages."""

from __future__ import annotations

import numpy as np
import pytest

from janus_sim.core.priorities import (
    compute_priorities,
    importance_weights,
    sample_probabilities,
)
from janus_sim.core.sum_tree import SumTree


def test_importance_weights_compute_in_float64_whatever_the_input_dtype() -> None:
    p32 = np.array([0.1, 0.3, 0.6], dtype=np.float32)
    w = importance_weights(p32, 3, 0.7)
    assert w.dtype == np.float64
    # The same float64 inputs (float32 values widen exactly) give the same bits.
    assert w.tobytes() == importance_weights(p32.astype(np.float64), 3, 0.7).tobytes()


@pytest.mark.parametrize("bad", [0.0, -0.1, np.nan, 1.5])
def test_importance_weights_reject_probabilities_outside_the_unit_interval(bad: float) -> None:
    with pytest.raises(ValueError) as err:
        importance_weights([0.5, bad], 2, 0.5)
    assert str(err.value) == "probs must lie in (0, 1] (got a zero, negative, NaN or > 1 value)"


def test_sample_probabilities_on_an_empty_tree_says_why() -> None:
    with pytest.raises(ValueError) as err:
        sample_probabilities(SumTree(2), [0])
    assert str(err.value) == "sampling probabilities need a tree with total > 0 (all leaves empty)"


@pytest.mark.parametrize("n", [True, 2.0, 0])
def test_n_occupied_must_be_a_real_int_of_at_least_one(n: object) -> None:
    with pytest.raises(ValueError) as err:
        importance_weights([0.5], n, 0.5)  # type: ignore[arg-type]
    assert str(err.value) == f"n_occupied must be an int >= 1, got {n!r}"


def test_priorities_compute_in_float64_whatever_the_input_dtype() -> None:
    td = np.array([0.1, -0.7, 2.3], dtype=np.float32)
    v = np.array([0.0, 0.3, 1.1], dtype=np.float32)
    r = np.array([-1.3, 0.2, 0.0], dtype=np.float32)
    p = compute_priorities(td, v, r, 2.0, 0.5, 1e-6)
    assert p.dtype == np.float64
    wide = compute_priorities(
        td.astype(np.float64), v.astype(np.float64), r.astype(np.float64), 2.0, 0.5, 1e-6
    )
    assert p.tobytes() == wide.tobytes()


def _priorities(**change: object) -> None:
    args: dict[str, object] = {
        "td_errors": [0.1, 0.2],
        "violations": [0.0, 0.5],
        "rewards": [1.0, -1.0],
        "lambda_logic": 2.0,
        "lambda_reward": 0.5,
        "eps": 1e-6,
    }
    args.update(change)
    compute_priorities(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rewards": [[1.0], [2.0]]}, "rewards must be a 1-D array, got shape (2, 1)"),
        ({"rewards": [1.0, np.inf]}, "rewards must be finite (got NaN or inf)"),
        ({"td_errors": [np.nan, 0.0]}, "td_errors must be finite (got NaN or inf)"),
        ({"violations": [0.0, -0.1]}, "violations must be >= 0"),
        (
            {"rewards": [1.0, 2.0, 3.0]},
            "td_errors, violations and rewards must have one shape, got (2,), (2,) and (3,)",
        ),
        ({"lambda_reward": -1.0}, "lambda_reward must be finite and >= 0, got -1.0"),
        ({"lambda_logic": np.inf}, "lambda_logic must be finite and >= 0, got inf"),
        ({"eps": 0.0}, "eps must be finite and > 0, got 0.0"),
        (
            {"td_errors": [1e308, 0.0], "rewards": [1e308, 0.0], "lambda_reward": 1.0},
            "priorities overflowed to inf; td_errors or rewards are too large",
        ),
    ],
)
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_compute_priorities_errors_are_exact(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as err:
        _priorities(**change)
    assert str(err.value) == message
