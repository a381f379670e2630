"""core/chi2: the portable chi-square quantile that sets tau_schema, against scipy."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2

from janus_sim.core.chi2 import chi2_quantile


@settings(deadline=None, max_examples=30)  # pure Python bisection: ~10 ms a call
@given(st.integers(1, 64), st.floats(0.5, 0.999))
def test_the_quantile_matches_scipy(d: int, q: float) -> None:
    want = float(chi2.ppf(q, d))
    assert abs(chi2_quantile(d, q) - want) <= 1e-11 * want


def test_known_values() -> None:
    assert abs(chi2_quantile(2, 0.99) - 9.210340371976184) < 1e-11
    assert abs(chi2_quantile(1, 0.95) - 3.841458820694124) < 1e-11
