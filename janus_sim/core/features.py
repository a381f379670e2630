"""The agent's state vector s and the context the fuzzy predicates read.

Market features are computed for every bar at once (vectorized, history across days);
``position`` is the one agent-dependent feature and is filled in at each step.

Feature vocabulary (``Agent.features``):

* ``ret_N``       log return over the last N bars, in percent;
* ``rv_N``        realized volatility: root sum of squared 1-bar log returns over N bars, %;
* ``volume_z_N``  z-score of log volume against the previous N bars, clipped to [-5, 5];
* ``drawdown``    percent below the running maximum close since the scenario start;
* ``position``    position / position_limit;
* ``time_of_day`` bar index within the session / (bars_per_day - 1), in [0, 1].

Windows reaching before the first bar use what history there is.
"""

from __future__ import annotations

import numpy as np

from janus_sim.core import detmath as dm
from janus_sim.core.market import Bars

CTX_RET_WINDOW = 15
CTX_RV_WINDOW = 30
VOLUME_Z_CLIP = 5.0


def _lagged(x: np.ndarray, lag: int) -> np.ndarray:
    """x shifted back by ``lag`` bars, holding the first value where history runs out."""
    out = np.empty_like(x)
    out[lag:] = x[: len(x) - lag] if lag < len(x) else x[:0]
    out[: min(lag, len(x))] = x[0]
    return out


def log_returns(bars: Bars) -> np.ndarray:
    lc = dm.log(bars.close)
    r = np.empty_like(lc)
    r[0] = lc[0] - dm.log(float(bars.open[0]))
    r[1:] = np.diff(lc)
    return r


def window_return_pct(bars: Bars, n: int) -> np.ndarray:
    lc = dm.log(bars.close)
    return (lc - _lagged(lc, n)) * 100.0


def realized_vol_pct(bars: Bars, n: int) -> np.ndarray:
    sq = np.concatenate([[0.0], np.cumsum(log_returns(bars) ** 2)])
    idx = np.arange(1, len(bars) + 1)
    lo = np.maximum(idx - n, 0)
    return np.sqrt(np.maximum(sq[idx] - sq[lo], 0.0)) * 100.0


def volume_z(bars: Bars, n: int) -> np.ndarray:
    lv = dm.log(bars.volume)
    s1 = np.concatenate([[0.0], np.cumsum(lv)])
    s2 = np.concatenate([[0.0], np.cumsum(lv * lv)])
    idx = np.arange(len(bars))
    lo = np.maximum(idx - n, 0)
    count = idx - lo
    safe = np.maximum(count, 1)
    mean = (s1[idx] - s1[lo]) / safe
    var = np.maximum((s2[idx] - s2[lo]) / safe - mean**2, 0.0)
    std = np.sqrt(var)
    z = np.where((count >= 2) & (std > 1e-12), (lv - mean) / np.maximum(std, 1e-12), 0.0)
    return np.clip(z, -VOLUME_Z_CLIP, VOLUME_Z_CLIP)


def log_realized_vol(bars: Bars, n: int) -> np.ndarray:
    """log of the realized volatility (a fraction) over the last ``n`` bars, floored at
    1e-12: its spread within a regime hardly depends on the regime's level, which a
    Gaussian schema needs (the raw volatility of a crash spreads five times wider)."""
    rv = realized_vol_pct(bars, n) / 100.0
    out: np.ndarray = dm.log(np.maximum(rv, 1e-12))
    return out


def volume_level(bars: Bars, n: int) -> np.ndarray:
    """Mean log volume over the last ``n`` bars (fewer at the start): the level of trading
    activity, which ``volume_z`` (a deviation from its own recent mean) forgets within
    its window."""
    lv = dm.log(bars.volume)
    s1 = np.concatenate([[0.0], np.cumsum(lv)])
    idx = np.arange(1, len(bars) + 1)
    lo = np.maximum(idx - n, 0)
    out: np.ndarray = (s1[idx] - s1[lo]) / (idx - lo)
    return out


def drawdown(bars: Bars) -> np.ndarray:
    """Fall from the running peak close, as a fraction (the state feature)."""
    peak = np.maximum.accumulate(bars.close)
    out: np.ndarray = 1.0 - bars.close / peak
    return out


def drawdown_pct(bars: Bars) -> np.ndarray:
    peak = np.maximum.accumulate(bars.close)
    return (1.0 - bars.close / peak) * 100.0


def time_of_day(bars: Bars) -> np.ndarray:
    k = np.arange(len(bars)) % bars.bars_per_day
    return k / max(bars.bars_per_day - 1, 1)


def market_feature(bars: Bars, name: str) -> np.ndarray:
    """One market feature column (``position`` is not a market feature)."""
    if name == "drawdown":
        return drawdown(bars)
    if name == "time_of_day":
        return time_of_day(bars)
    kind, _, window = name.rpartition("_")
    n = int(window)
    if kind == "ret":
        return window_return_pct(bars, n)
    if kind == "rv":
        return realized_vol_pct(bars, n)
    if kind == "log_rv":
        return log_realized_vol(bars, n)
    if kind == "volume_z":
        return volume_z(bars, n)
    if kind == "volume":
        return volume_level(bars, n)
    raise ValueError(f"unknown feature {name!r}")


def feature_matrix(bars: Bars, names: tuple[str, ...]) -> tuple[np.ndarray, int | None]:
    """(n_bars, d) features with the ``position`` column zero, and that column's index."""
    cols = []
    pos_col = None
    for j, name in enumerate(names):
        if name == "position":
            pos_col = j
            cols.append(np.zeros(len(bars)))
        else:
            cols.append(market_feature(bars, name))
    return np.column_stack(cols), pos_col


def market_context(bars: Bars) -> np.ndarray:
    """(n_bars, 3): short return %, realized vol %, drawdown % (the predicate inputs
    ``logic.CONTEXT_FIELDS`` minus position, which the agent appends)."""
    return np.column_stack(
        [
            window_return_pct(bars, CTX_RET_WINDOW),
            realized_vol_pct(bars, CTX_RV_WINDOW),
            drawdown_pct(bars),
        ]
    )
