"""Pure helpers of the report: deterministic downsampling, regime segments and priority
histograms. numpy in, plain Python out; no I/O, no randomness. (The anomaly lead is
``app.anomaly_lead``'s, shared with the run summary.)"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def even_sample(n: int, k: int) -> list[int]:
    """``min(n, k)`` increasing indices into ``range(n)``, evenly spread, first and last
    included (``k >= 2``); all of them when ``n <= k``. Deterministic."""
    if n <= k:
        return list(range(n))
    if k <= 1:
        return [0][:k]
    return sorted({int(i) for i in np.linspace(0, n - 1, k).round()})


def minmax_sample(values: Sequence[float], max_points: int) -> list[int]:
    """Indices that keep the shape of a long series in at most ``max_points`` points.

    The series is cut into ``max_points // 2`` equal buckets and each keeps its lowest and
    its highest point (first occurrence), in time order, so troughs and peaks survive.
    All indices when the series is short enough. Deterministic.
    """
    n = len(values)
    if n <= max_points:
        return list(range(n))
    a = np.asarray(values, dtype=np.float64)
    keep: set[int] = {0, n - 1}
    edges = np.linspace(0, n, max(1, max_points // 2) + 1).astype(np.int64).tolist()
    for lo, hi in itertools.pairwise(edges):
        if hi > lo:
            keep.add(int(lo + np.argmin(a[lo:hi])))
            keep.add(int(lo + np.argmax(a[lo:hi])))
    return sorted(keep)


def regime_segments(regimes: Sequence[str]) -> list[tuple[int, int, str]]:
    """Maximal runs of one regime as ``(first, last, regime)`` positions (inclusive)."""
    out: list[tuple[int, int, str]] = []
    for i, r in enumerate(regimes):
        if out and out[-1][2] == r and out[-1][1] == i - 1:
            out[-1] = (out[-1][0], i, r)
        else:
            out.append((i, i, r))
    return out


@dataclass(frozen=True)
class Histograms:
    """Counts of several samples over one shared set of ``log10`` bin edges."""

    log10_edges: list[float]
    counts: list[list[int]]


def log_histograms(samples: Sequence[np.ndarray], n_bins: int = 40) -> Histograms:
    """Histograms of ``log10`` of each sample's positive values over shared edges.

    The edges span the smallest to the largest positive value of all samples (one unit
    wide around it when they are all equal); non-positive values are left out. Empty
    edges and counts when no sample has a positive value.
    """
    logs = [np.log10(s[s > 0]) for s in (np.asarray(x, dtype=np.float64) for x in samples)]
    nonempty = [v for v in logs if len(v)]
    if not nonempty:
        return Histograms([], [[] for _ in samples])
    lo = float(min(v.min() for v in nonempty))
    hi = float(max(v.max() for v in nonempty))
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, n_bins + 1)
    counts = [np.histogram(v, bins=edges)[0].astype(int).tolist() for v in logs]
    return Histograms([float(e) for e in edges], counts)
