"""The report's pure helpers: thinning, regime segments, histograms."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from janus_sim.report.series import (
    even_sample,
    log_histograms,
    minmax_sample,
    regime_segments,
)


@given(st.integers(0, 500), st.integers(2, 60))
def test_even_sample_is_sorted_bounded_and_keeps_the_ends(n: int, k: int) -> None:
    idx = even_sample(n, k)
    assert idx == sorted(set(idx)) and len(idx) == min(n, k)
    assert all(0 <= i < n for i in idx)
    if n:
        assert idx[0] == 0 and idx[-1] == n - 1
    assert idx == even_sample(n, k)


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=400), st.integers(4, 50))
def test_minmax_sample_keeps_extremes_within_budget(values: list[float], budget: int) -> None:
    idx = minmax_sample(values, budget)
    assert idx == sorted(set(idx))
    assert len(idx) <= max(budget + 2, len(values) if len(values) <= budget else 0)
    kept = [values[i] for i in idx]
    assert min(kept) == min(values) and max(kept) == max(values)
    assert values.index(min(values)) in idx  # the first trough survives


def test_regime_segments() -> None:
    assert regime_segments([]) == []
    assert regime_segments(["a", "a", "b", "a"]) == [(0, 1, "a"), (2, 2, "b"), (3, 3, "a")]


def test_log_histograms_share_edges_and_skip_non_positive() -> None:
    h = log_histograms([np.array([0.1, 1.0, 10.0, 0.0]), np.array([100.0])], n_bins=3)
    assert h.log10_edges == pytest.approx([-1.0, 0.0, 1.0, 2.0])
    assert h.counts == [[1, 1, 1], [0, 0, 1]]
    assert log_histograms([np.array([0.0])]).counts == [[]]
    flat = log_histograms([np.array([5.0, 5.0])], n_bins=2)
    assert sum(flat.counts[0]) == 2
