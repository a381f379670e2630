"""The two consolidation gates of eq. 17-20, with a meaning each.

**Logic gate** (eq. 18): g_sym(tau) = SatAgg of the knowledge base over *the episode
containing tau*, one value per transition. ``logic.episode`` says what an episode is:

* ``"window"`` (the default): consecutive blocks of ``logic.episode_bars`` (30) bars of
  the day. Short enough that one bad half hour does not condemn a whole day, long enough
  to judge behaviour rather than a single bar;
* ``"trade"``: from a flat position to the next time the agent is flat again (each
  transition that starts flat opens a new episode);
* ``"day"``: the whole trading day (the first reading of eq. 18, and the coarsest).

The universal quantifier over the episode is pMeanError with ``logic.p_episode`` (6),
SatAgg over the rules pMeanError with ``logic.p_sat_agg`` (2), as for the day. With p = 6
a single transition that fully breaks one rule in a 30-bar window drives that rule's
truth to 1 - (1/30)^(1/6) = 0.43, and the window's SatAgg over three rules (the other two
kept) to 1 - 0.57 / sqrt(3) = 0.67: the window fails tau_logic = 0.7. A window whose every
truth is 0.9 or more passes (SatAgg >= 0.9). In between, a rule bent but not broken (a
truth of 0.5 on one bar) passes. (With p = 2, LTN's usual default and the day metrics',
a window would need ten full violations to fail.)

**Recall gate** (eq. 17): g = sigmoid(W_r r + b_r), where r is how strongly the
hippocampus recalls the transition: r = -log of the mean Euclidean distance from its
sparse code to the ``RECALL_K`` (5) nearest codes of *earlier* experience (the buffered
transitions of previous days). A code close to many stored ones is recalled strongly
(familiar); a code far from all of them (a regime never seen) is not. (A cosine to a mean
prototype cannot tell them apart: a ReLU code's direction ignores how far the state lies
from the origin, and the mean of a mixture is no regime at all.) W_r and b_r are a
logistic calibration of r, refitted each night on the earlier experience itself: for a
stride sample of at most ``CALIBRATION`` (500) earlier codes, their leave-one-out recall
r_j; then

* b_r = -W_r c_q, with c_q the ``recall_quantile`` (0.3) quantile of those r_j: the gate
  is 1/2 at a recall as weak as the weakest 30 % of what is already stored;
* W_r = ``recall_sharpness`` (4) / IQR(r_j): its slope in units of the spread of recall.

Familiar experience therefore passes (about seven in ten of a day like the earlier ones,
tau_recall = 0.3 lying a little below the midpoint) and novel experience is held back in
the hippocampus until it has been seen again. The first night has no earlier experience:
W_r = 0, b_r = +inf, every candidate passes, and the first schemas are founded.
"""

from __future__ import annotations

import math
from typing import Literal

import numba
import numpy as np

from janus_sim.core import detmath as dm
from janus_sim.core.logic import ConstraintSet

EpisodeKind = Literal["day", "window", "trade"]
RECALL_K = 5
CALIBRATION = 500
_TINY = 1e-12


def episode_ids(kind: EpisodeKind, positions_before: np.ndarray, bars: int) -> np.ndarray:
    """The episode index of each of a day's transitions (in bar order), from 0."""
    n = len(positions_before)
    if kind == "day":
        return np.zeros(n, dtype=np.int64)
    if kind == "window":
        return np.arange(n, dtype=np.int64) // max(1, bars)
    starts = np.asarray(positions_before) == 0
    if n:
        starts[0] = True
    # A trade runs from one flat start to the next; consecutive flat bars are each their
    # own trade, which judges only that bar.
    return np.cumsum(starts).astype(np.int64) - 1


def episode_logic_gate(
    constraints: ConstraintSet,
    ctx: np.ndarray,
    actions: np.ndarray,
    episodes: np.ndarray,
    p_episode: float,
    p_sat_agg: float,
) -> np.ndarray:
    """g_sym of each transition: SatAgg over its episode (1 with no constraints)."""
    n = len(actions)
    out = np.ones(n)
    if n == 0 or not constraints.names:
        return out
    truths = constraints.truth_of_actions(ctx, actions)
    bounds = np.flatnonzero(np.diff(episodes)) + 1
    for idx in np.split(np.arange(n), bounds):
        out[idx] = constraints.day_sat_agg(truths[idx], p_episode, p_sat_agg)
    return out


_BLOCK = 256  # rows of refs per pass: their transpose (h x 256 floats) stays in L2


@numba.njit(cache=True, nogil=True)
def _recall(queries: np.ndarray, refs: np.ndarray, k: int, skip: np.ndarray) -> np.ndarray:
    """-log(mean distance to the k nearest rows of ``refs``) for each query; ``skip[i]``
    is a row of ``refs`` to leave out for query i (-1: none).

    Each squared distance is summed in column order from 0, and the rows of ``refs`` are
    offered to each query's top k in ascending order, so the result does not depend on how
    the loops are arranged for speed: ``refs`` is walked in blocks of rows, transposed, so
    that SIMD lanes run across rows, and four columns share one pass over a block (the
    same additions in the same order, a quarter of the stores).
    """
    m, h = queries.shape
    n = refs.shape[0]
    out = np.empty(m)
    best = np.empty((m, k))
    filled = np.zeros(m, dtype=np.int64)
    block = np.empty((h, _BLOCK))
    dist = np.empty(_BLOCK)
    h4 = h - h % 4
    for j0 in range(0, n, _BLOCK):
        nb = min(_BLOCK, n - j0)
        for c in range(h):
            for j in range(nb):
                block[c, j] = refs[j0 + j, c]
        for i in range(m):
            for j in range(nb):
                dist[j] = 0.0
            for c in range(0, h4, 4):
                q0, q1, q2, q3 = (
                    queries[i, c],
                    queries[i, c + 1],
                    queries[i, c + 2],
                    queries[i, c + 3],
                )
                for j in range(nb):
                    d0 = q0 - block[c, j]
                    d1 = q1 - block[c + 1, j]
                    d2 = q2 - block[c + 2, j]
                    d3 = q3 - block[c + 3, j]
                    dist[j] = (((dist[j] + d0 * d0) + d1 * d1) + d2 * d2) + d3 * d3
            for c in range(h4, h):
                qc = queries[i, c]
                for j in range(nb):
                    d = qc - block[c, j]
                    dist[j] += d * d
            got = filled[i]
            for j in range(nb):
                if j0 + j == skip[i]:
                    continue
                acc = dist[j]
                if got < k:
                    best[i, got] = acc
                    got += 1
                    pos = got - 1
                elif acc < best[i, k - 1]:
                    pos = k - 1
                    best[i, pos] = acc
                else:
                    continue
                while pos > 0 and best[i, pos] < best[i, pos - 1]:  # keep ascending
                    best[i, pos], best[i, pos - 1] = best[i, pos - 1], best[i, pos]
                    pos -= 1
            filled[i] = got
    for i in range(m):
        total = 0.0
        for t in range(filled[i]):
            total += math.sqrt(best[i, t])
        out[i] = -dm.log_s(total / max(filled[i], 1) + _TINY)
    return out


def recall_strength(codes: np.ndarray, earlier: np.ndarray, k: int = RECALL_K) -> np.ndarray:
    """r of each code against the earlier codes (see the module docstring)."""
    q = np.ascontiguousarray(codes, dtype=np.float64)
    refs = np.ascontiguousarray(earlier, dtype=np.float64)
    return _recall(q, refs, k, np.full(len(q), -1, dtype=np.int64))


def recall_gate(
    codes: np.ndarray,
    earlier: np.ndarray,
    sharpness: float,
    quantile: float,
    skip: np.ndarray | None = None,
) -> tuple[np.ndarray, float, float]:
    """(g per code, W_r, b_r) — see the module docstring. ``skip[i]``: the row of
    ``earlier`` that is code i itself (-1: none). Empty ``earlier``: every code passes
    (g = 1, W_r = 0, b_r = +inf)."""
    if len(earlier) <= RECALL_K:
        return np.ones(len(codes)), 0.0, math.inf
    refs = np.ascontiguousarray(earlier, dtype=np.float64)
    stride = max(1, len(refs) // CALIBRATION)
    picked = np.arange(0, len(refs), stride, dtype=np.int64)
    own = _recall(refs[picked], refs, RECALL_K, picked)
    q1, c_q, q3 = (float(v) for v in np.quantile(own, [0.25, quantile, 0.75]))
    w_r = sharpness / max(q3 - q1, _TINY)
    b_r = -w_r * c_q
    q = np.ascontiguousarray(codes, dtype=np.float64)
    mine = np.full(len(q), -1, dtype=np.int64) if skip is None else skip.astype(np.int64)
    r = _recall(q, refs, RECALL_K, mine)
    return dm.expit(w_r * r + b_r), w_r, b_r
