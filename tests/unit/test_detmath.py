"""core/detmath: portable exp, log, pow and products — accurate, and exact where promised.
(That the kernels hold no FMA instruction is read from an empty numba cache, in
tests/e2e/test_portable_digest.py.)"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from janus_sim.core import detmath as dm

finite = st.floats(min_value=-700.0, max_value=700.0, allow_nan=False)
# Load the compiled kernels before hypothesis times its first example.
dm.exp(0.0), dm.log(1.0), dm.power(2.0, 0.3), dm.power(np.ones(2), 0.3)

positive = st.floats(min_value=5e-324, max_value=1.7e308, allow_nan=False, allow_infinity=False)


def _ulps(a: float, b: float) -> float:
    return abs(a - b) / math.ulp(b) if b != 0 else abs(a)


@given(finite)
def test_exp_is_within_one_ulp_of_the_c_library(x: float) -> None:
    assert _ulps(dm.exp(x), math.exp(x)) <= 1.0


@given(positive)
def test_log_is_within_one_ulp_of_the_c_library(x: float) -> None:
    ref = math.log(x)
    assert abs(dm.log(x) - ref) <= max(math.ulp(ref), 5e-324)


@given(st.floats(min_value=1e-300, max_value=1e300), st.floats(min_value=-3.0, max_value=3.0))
def test_power_is_close_to_the_c_library(x: float, y: float) -> None:
    ref = math.exp(y * math.log(x)) if abs(y * math.log(x)) < 690 else 0.0
    if 1e-300 < ref < 1e300:
        ref = x**y
        assert abs(dm.power(x, y) - ref) <= 1e-13 * ref


@given(st.floats(min_value=-1e6, max_value=1e6), st.integers(min_value=-8, max_value=8))
def test_integral_powers_are_repeated_products(x: float, n: int) -> None:
    got = dm.power(x, float(n))
    acc, base, k = 1.0, x, abs(n)
    while k:
        if k & 1:
            acc *= base
        base *= base
        k >>= 1
    if n < 0:
        want = 1.0 / acc if acc != 0 else math.inf
        assert got == want or (math.isinf(got) and math.isinf(want))
    else:
        assert got == acc


def test_special_values() -> None:
    assert dm.exp(0.0) == 1.0 and dm.log(1.0) == 0.0
    assert dm.exp(1000.0) == math.inf and dm.exp(-1000.0) == 0.0
    assert dm.log(0.0) == -math.inf and math.isnan(dm.log(-1.0)) and math.isnan(dm.exp(math.nan))
    assert dm.log(math.inf) == math.inf
    assert dm.power(1.0, 0.37) == 1.0 and dm.power(0.0, 0.5) == 0.0 and dm.power(9.0, 0.5) == 3.0
    assert dm.power(2.0, -2.0) == 0.25 and math.isnan(dm.power(-2.0, 0.5))
    assert dm.log(5e-324) == pytest.approx(-744.4400719213812, rel=1e-15)


def test_arrays_equal_scalars_bit_for_bit() -> None:
    x = np.random.default_rng(0).uniform(-30.0, 30.0, size=(50, 7))
    e = dm.exp(x)
    assert e.shape == x.shape
    assert all(e.flat[i] == dm.exp(float(x.flat[i])) for i in range(x.size))
    y = np.abs(x) + 1e-9
    assert all(dm.log(y).flat[i] == dm.log(float(y.flat[i])) for i in range(y.size))
    assert np.array_equal(
        dm.power(y, 0.6), np.array([dm.power(float(v), 0.6) for v in y.flat]).reshape(y.shape)
    )
    z = dm.expit(x)
    assert ((z > 0) & (z < 1)).all() and dm.expit(np.array([0.0]))[0] == 0.5


def test_matmul_sums_in_order_and_handles_vectors() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(13, 9)), rng.normal(size=(9, 4))
    got = dm.matmul(a, b)
    want = np.zeros((13, 4))
    for k in range(9):  # the promised order: each output accumulated over k = 0, 1, ...
        want += a[:, k : k + 1] * b[k : k + 1, :]
    assert np.array_equal(got, want)
    assert np.array_equal(dm.matmul(a[0], b), got[0])
    assert np.array_equal(dm.matmul(a, b[:, 0]), got[:, 0])
    assert float(dm.matmul(a[0], a[0])) == pytest.approx(float(a[0] @ a[0]), rel=1e-14)
    with pytest.raises(ValueError, match="do not chain"):
        dm.matmul(a, a)
    assert dm.norm(np.array([3.0, 4.0])) == 5.0
    assert np.array_equal(dm.row_norms(np.array([[3.0, 4.0], [0.0, 0.0]])), [5.0, 0.0])


# That the compiled kernels hold no FMA instruction is checked where numba can show their
# code, from an empty cache: tests/e2e/test_portable_digest.py.
