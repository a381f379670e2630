"""The chi-square quantile that sets tau_schema, in portable arithmetic.

scipy's ``chi2.ppf`` goes through compiled Cephes code and the C library's exp and log,
whose last bits follow the CPU; tau_schema decides every schema creation, so it is
computed here with ``detmath`` only: the regularized lower incomplete gamma by its power
series, and a bisection to the last bit. Degrees of freedom are whole numbers (the
schemas' dimension), so log Gamma(d/2) follows from exact recursions.
"""

from __future__ import annotations

import math

from janus_sim.core import detmath as dm


def _log_gamma_half(a2: int) -> float:
    """log Gamma(a2 / 2) for an integer a2 >= 1, by the exact recursions from Gamma(1) = 1
    and Gamma(1/2) = sqrt(pi) (the only arguments a chi-square quantile needs)."""
    acc = 0.5 * dm.log(math.pi) if a2 % 2 else 0.0
    x = 0.5 if a2 % 2 else 1.0
    while x < a2 / 2:
        acc += dm.log(x)
        x += 1.0
    return acc


def _chi2_cdf(x: float, d: int) -> float:
    """P(chi2_d <= x): the regularized lower incomplete gamma P(d/2, x/2) by its power
    series, summed until a term no longer moves the sum (portable: detmath only)."""
    if x <= 0.0:
        return 0.0
    a, h = d / 2.0, x / 2.0
    term = 1.0 / a
    total = term
    n = 1
    while term > total * 1e-17 and n < 100_000:
        term *= h / (a + n)
        total += term
        n += 1
    return min(1.0, dm.exp(a * dm.log(h) - h - _log_gamma_half(d)) * total)


def chi2_quantile(d: int, q: float) -> float:
    """The q-quantile of a chi-square with ``d`` degrees of freedom (scipy's
    ``chi2.ppf(q, d)`` to ~1e-15 relative), by bisection to the last bit: computed with
    portable arithmetic because it sets tau_schema, and so every creation decision."""
    lo, hi = 0.0, max(1.0, 2.0 * d)
    while _chi2_cdf(hi, d) < q:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if _chi2_cdf(mid, d) < q:
            lo = mid
        else:
            hi = mid
    return hi
