"""Hippocampus behaviour the older tests left open (found by mutation testing, QUALITY.md):
the top-k mask is boolean on both of its paths."""

from __future__ import annotations

import numpy as np
import pytest

from janus_sim.core.hippocampus import top_k, top_k_mask


@pytest.mark.parametrize("with_nan", [False, True])
def test_top_k_mask_is_boolean_on_both_paths(with_nan: bool) -> None:
    h = np.array([[0.5, 2.0, 1.0, 2.0], [3.0, 0.0, 1.0, -1.0]])
    if with_nan:
        h[1, 3] = np.nan  # rows with a NaN take the sorting path
    mask = top_k_mask(h, 2)
    assert mask.dtype == np.bool_
    assert mask.tolist() == [[False, True, False, True], [True, False, True, False]]
    # A boolean mask selects; a 0/1 float mask would index positions 0 and 1 instead.
    assert h[mask].shape == (4,)
    assert np.array_equal(top_k(h, 2), np.where(mask, h, 0.0))
