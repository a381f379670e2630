"""Prioritized-replay behaviour the older tests left open (found by mutation testing,
QUALITY.md): float64 arithmetic whatever the input dtype, and the exact error messages."""

from __future__ import annotations

import numpy as np
import pytest

from janus_sim.core.priorities import importance_weights, sample_probabilities
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
