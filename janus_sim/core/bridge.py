"""Daily bars to intraday paths: a seeded Brownian bridge through open, high, low, close.

A day of real data is four prices O, H, L, C (L <= min(O, C), max(O, C) <= H, all
positive) and a volume V. It becomes ``n`` intraday bars (``n >= 3``) whose path of
prices ``p_0 .. p_n`` (``p_0`` the first bar's open, ``p_k`` the close of bar k) is built
in log space:

1. **Where the extremes fall.** The high sits at ``k = 0`` when H == O, else at ``k = n``
   when H == C, else at an interior index drawn uniformly from 1..n-1; the low likewise,
   at an interior index distinct from the high's. So the order of high and low within the
   day is a fair coin, and a day that opens at its high (or closes at its low) keeps
   that shape.
2. **Brownian bridges between the anchors.** The anchors (0, log O), (k_H, log H),
   (k_L, log L), (n, log C) are joined, in time order, by Brownian bridges with per-bar
   volatility ``sigma = (log H - log L) / (2 sqrt(ln 2) sqrt(n))`` - the Parkinson
   estimate of the day's volatility, spread evenly over its bars.
3. **Kept inside the day's range.** Points outside [log L, log H] are reflected back in
   (folded, as a Brownian motion between two reflecting barriers), which leaves the
   anchors where they are.
4. **Exact at the anchors.** After ``exp``, the path is clipped to [L, H] and the four
   anchors are set to the very prices O, H, L, C - so ``p_0 == O``, ``p_n == C``,
   ``max(p) == H`` and ``min(p) == L`` hold bit for bit, not merely to rounding.

Bar k then opens at ``p_{k-1}``, closes at ``p_k`` and has high ``max`` and low ``min`` of
the two (no wicks beyond the path), so the intraday bars aggregate back to exactly the
day's O, H, L, C. The day's volume is split over its bars by a U-shaped intraday profile
(three times heavier at the open and close than at midday) times lognormal noise
(sigma 0.3), normalized to sum to V. A degenerate day (H == L) is a flat path.

Randomness: per day two uniforms (where the extremes fall), ``n`` normals (the bridge)
and ``n`` normals (the volume noise), all drawn up front from the generator passed in, so
the same seed gives the same paths and each day's draws do not depend on its prices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from janus_sim.core import detmath as dm

PARKINSON = 2.0 * math.sqrt(dm.LN2)
"""E[log(H/L)] of a Brownian day is about this times its volatility (Parkinson, 1980)."""
VOLUME_NOISE = 0.3
VOLUME_EDGE_WEIGHT = 3.0
"""How much heavier the first and last bars of the volume profile are than midday's."""


@dataclass(frozen=True, eq=False)
class BridgedBars:
    """Intraday bars of ``n_days`` bridged days, day after day (``n_days * n`` rows)."""

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray


def extreme_indices(
    o: float, h: float, low: float, c: float, n: int, u: np.ndarray
) -> tuple[int, int]:
    """(k_H, k_L): the path indices of the day's high and low, from two uniforms ``u``."""
    k_high = 0 if h == o else n if h == c else -1
    k_low = 0 if low == o else n if low == c else -1
    if k_high < 0 and k_low < 0:
        k_high = 1 + int(u[0] * (n - 1))
        k_low = 1 + int(u[1] * (n - 2))
        if k_low >= k_high:
            k_low += 1  # a uniform pick among the n - 2 interior indices left
    elif k_high < 0:
        k_high = 1 + int(u[0] * (n - 1))
    elif k_low < 0:
        k_low = 1 + int(u[1] * (n - 1))
    return k_high, k_low


def _fold(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Reflect ``x`` into [lo, hi] (the identity inside it); a point when lo == hi."""
    width = hi - lo
    if not width > 0.0:
        return np.full_like(x, lo)
    z = np.mod(x - lo, 2.0 * width)
    return lo + np.where(z <= width, z, 2.0 * width - z)


def bridge_path(
    o: float, h: float, low: float, c: float, n: int, u: np.ndarray, z: np.ndarray
) -> np.ndarray:
    """The ``n + 1`` prices of one bridged day, from its variates ``u`` (2) and ``z`` (n).

    Contract: ``path[0] == o``, ``path[n] == c``, ``path.max() == h``, ``path.min() == low``
    exactly, for any finite positive ``low <= min(o, c) <= max(o, c) <= h`` and ``n >= 3``.
    """
    if n < 3:
        raise ValueError(f"a bridged day needs at least 3 bars, got {n}")
    if not (0.0 < low <= min(o, c) and max(o, c) <= h < math.inf):
        raise ValueError(f"not a valid day: open {o}, high {h}, low {low}, close {c}")
    k_high, k_low = extreme_indices(o, h, low, c, n, u)
    log_h, log_l = dm.log(h), dm.log(low)
    anchors = sorted({0: dm.log(o), n: dm.log(c), k_high: log_h, k_low: log_l}.items())
    sigma = (log_h - log_l) / (PARKINSON * math.sqrt(n))
    x = np.empty(n + 1)
    x[0] = anchors[0][1]
    for (a, va), (b, vb) in pairwise(anchors):
        walk = np.cumsum(z[a:b]) * sigma
        frac = np.arange(1, b - a + 1) / (b - a)
        x[a + 1 : b + 1] = va + (vb - va) * frac + walk - frac * walk[-1]
    path = np.clip(dm.exp(_fold(x, log_l, log_h)), low, h)
    # The exact prices, not exp(log(.)), which may differ from them in the last bit.
    path[0], path[n], path[k_high], path[k_low] = o, c, h, low
    return path


def volume_profile(n: int, z: np.ndarray) -> np.ndarray:
    """Positive weights over ``n`` bars summing to 1: a U-shape times lognormal noise."""
    x = (np.arange(n) + 0.5) / n
    shape = 1.0 + (VOLUME_EDGE_WEIGHT - 1.0) * (2.0 * x - 1.0) ** 2
    w = shape * dm.exp(VOLUME_NOISE * z)
    return w / w.sum()


def bridge_days(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    volume: np.ndarray,
    n: int,
    rng: np.random.Generator,
) -> BridgedBars:
    """Bridge every day (arrays of equal length, one entry per day) into ``n`` bars each.

    Draws all variates first, in a fixed order and amount per day (see the module
    docstring), so the paths depend only on the seed, the prices and ``n``.
    """
    days = len(close)
    u = rng.random((days, 2))
    z = rng.standard_normal((days, n))
    zv = rng.standard_normal((days, n))
    out_o, out_h, out_l, out_c, out_v = (np.empty(days * n) for _ in range(5))
    for d in range(days):
        path = bridge_path(
            float(open_[d]), float(high[d]), float(low[d]), float(close[d]), n, u[d], z[d]
        )
        rows = slice(d * n, (d + 1) * n)
        out_o[rows] = path[:-1]
        out_c[rows] = path[1:]
        out_h[rows] = np.maximum(path[:-1], path[1:])
        out_l[rows] = np.minimum(path[:-1], path[1:])
        out_v[rows] = float(volume[d]) * volume_profile(n, zv[d])
    return BridgedBars(out_o, out_h, out_l, out_c, out_v)
