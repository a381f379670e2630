"""``agent.policy_step`` in two numba kernels: phase 1's step without numpy's per-call cost.

Phase 1 takes a thousand policy steps a night on batches of 64; as numpy code a step is
some forty array calls of a few microseconds each. ``policy_step`` here computes the same
step in a kernel before the logic (TD errors, the TD gradient, the policy ``pi``) and one
after it (the logic gradient, their combination, the clip and the normalized step); the
logic itself is the caller's (``logic_table``'s kernel in phase 1).

Same bits as ``agent.policy_step``, by doing what its numpy calls do, in their order
(``tests/property/test_replay_fast_paths.py`` holds the two equal):

* products as ``detmath.matmul``: each output summed over k in order from 0;
* ``np.sum`` of a contiguous vector: numpy's pairwise sum (eight accumulators in blocks of
  up to 128, halves above), added to 0.0; a sum over the three action columns:
  ``((0 + a0) + a1) + a2``;
* ``max`` over the three columns: numpy's ``maximum`` reduction, column by column (NaN
  wins; of two equal values the later one);
* elementwise expressions with Python's evaluation order, and ``max(1.0, reach)`` as
  Python's ``max``.

No fastmath (no FMA contraction, no reordering): ``tests/unit/test_replay_kernels.py``
reads the machine code.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from janus_sim.core.detmath import exp_s

_PW_BLOCK = 128  # numpy's PW_BLOCKSIZE


@numba.njit(cache=True, nogil=True)
def _block(a: Any, lo: int, n: int) -> float:
    """numpy's pairwise sum of ``a[lo : lo + n]`` for n <= 128: one block."""
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    while i < n - n % 8:
        r0 += a[lo + i]
        r1 += a[lo + i + 1]
        r2 += a[lo + i + 2]
        r3 += a[lo + i + 3]
        r4 += a[lo + i + 4]
        r5 += a[lo + i + 5]
        r6 += a[lo + i + 6]
        r7 += a[lo + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@numba.njit(cache=True, nogil=True)
def _pairwise(a: Any) -> float:
    """numpy's pairwise sum of ``a``: blocks of up to 128, each longer range split in two
    halves (the first a multiple of 8) and summed left + right. An explicit stack, not
    recursion: numba's cache does not load recursive kernels reliably."""
    n = a.shape[0]
    los = np.empty(64, dtype=np.int64)
    lens = np.empty(64, dtype=np.int64)
    phase = np.zeros(64, dtype=np.int64)
    vals = np.empty(64)
    top, n_vals = 0, 0
    los[0], lens[0] = 0, n
    while top >= 0:
        lo, m = los[top], lens[top]
        if m <= _PW_BLOCK:
            vals[n_vals] = _block(a, lo, m)
            n_vals += 1
            top -= 1
            continue
        half = m // 2
        half -= half % 8
        if phase[top] == 0:  # the left half next
            phase[top] = 1
            top += 1
            los[top], lens[top], phase[top] = lo, half, 0
        elif phase[top] == 1:  # then the right half
            phase[top] = 2
            top += 1
            los[top], lens[top], phase[top] = lo + half, m - half, 0
        else:  # both done: left + right
            vals[n_vals - 2] = vals[n_vals - 2] + vals[n_vals - 1]
            n_vals -= 1
            top -= 1
    return vals[0]


@numba.njit(cache=True, nogil=True)
def _sum(a: Any) -> float:
    """``np.sum`` of a contiguous float64 vector."""
    return 0.0 + _pairwise(a)


@numba.njit(cache=True, nogil=True)
def _max2(m: float, v: float) -> float:
    if m != m or v != v:
        return m if m != m else v
    return m if m > v else v


@numba.njit(cache=True, nogil=True)
def _mm_t(a: Any, x: Any) -> Any:
    """``detmath.matmul(a.T, x)`` for ``a`` (b, 3) and ``x`` (b, p): (3, p)."""
    out = np.zeros((a.shape[1], x.shape[1]))
    for i in range(a.shape[1]):
        for k in range(a.shape[0]):
            aik = a[k, i]
            for j in range(x.shape[1]):
                out[i, j] += aik * x[k, j]
    return out


@numba.njit(cache=True, nogil=True)
def _q(params: Any, states: Any) -> Any:
    """``agent.q_values``: (b, 3)."""
    b, d = states.shape
    q = np.empty((b, 3))
    for i in range(b):
        for j in range(3):
            acc = 0.0
            for k in range(d):
                acc += states[i, k] * params[j, k]
            q[i, j] = acc + params[j, d]
    return q


@numba.njit(cache=True, nogil=True, error_model="numpy")
def head(
    params: Any, target: Any, states: Any, next_states: Any, actions: Any, rewards: Any,
    dones: Any, weights: Any, pos: Any, limit: int, gamma: float, temperature: float,
    with_pi: bool,
) -> tuple[Any, Any, float, float, Any, Any]:  # fmt: skip
    """(x, td, td_loss, norm_w, TD gradient, pi) of ``policy_step``; ``pi`` is empty
    unless ``with_pi``. ``pos`` holds the positions before the actions (int64)."""
    b, d = states.shape
    x = np.empty((b, d + 1))
    for i in range(b):
        for c in range(d):
            x[i, c] = states[i, c]
        x[i, d] = 1.0
    q = _q(params, states)
    qn = _q(target, next_states)
    td = np.empty(b)
    for i in range(b):
        after = pos[i] + actions[i] - 1  # ACTION_DELTA[a] = a - 1
        m = -math.inf
        for a in range(3):
            v = qn[i, a] if abs(after + a - 1) <= limit else -math.inf
            m = v if a == 0 else _max2(m, v)
        td[i] = (rewards[i] + (gamma * (1.0 - dones[i])) * m) - q[i, actions[i]]
    tmp = np.empty(b)
    for i in range(b):
        tmp[i] = (weights[i] * td[i]) * td[i]
    td_loss = _sum(tmp) / (2 * b)
    wsum = _sum(weights)
    norm_w = wsum if wsum > 0 else 1.0
    dq = np.zeros((b, 3))
    for i in range(b):
        dq[i, actions[i]] = (-weights[i] * td[i]) / norm_w
    grad = _mm_t(dq, x)
    pi = np.empty((b if with_pi else 0, 3))
    if with_pi:
        z = np.empty(3)
        for i in range(b):
            for a in range(3):
                z[a] = q[i, a] / temperature if abs(pos[i] + a - 1) <= limit else -math.inf
            zmax = _max2(_max2(z[0], z[1]), z[2])
            s = 0.0
            for a in range(3):
                v = z[a] - zmax
                z[a] = exp_s(v) if math.isfinite(v) else 0.0
                s += z[a]
            for a in range(3):
                pi[i, a] = z[a] / s
    return x, td, td_loss, norm_w, grad, pi


@numba.njit(cache=True, nogil=True, error_model="numpy")
def tail(
    params: Any, x: Any, grad: Any, weights: Any, pi: Any, truth: Any, jac: Any, cw: Any,
    norm_w: float, temperature: float, logic_weight: float, with_logic: bool,
    grad_clip: float, learning_rate: float,
) -> tuple[Any, float, float]:  # fmt: skip
    """(new params, logic loss, gradient norm) of ``policy_step`` from ``head``'s TD
    gradient and, ``with_logic``, the constraints' truths and jacobians under ``pi``."""
    b = x.shape[0]
    g = grad.copy()
    logic_loss = 0.0
    tmp = np.empty(b)
    if with_logic:
        n_c = cw.shape[0]
        for i in range(b):
            acc = 0.0
            for c in range(n_c):
                acc += (1.0 - truth[i, c]) * cw[c]
            tmp[i] = weights[i] * acc
        logic_loss = _sum(tmp) / b
        g_q = np.empty((b, 3))
        g_pi = np.empty(3)
        for i in range(b):
            for a in range(3):
                dt = 0.0
                for c in range(n_c):
                    dt = dt + cw[c] * jac[i, c, a]
                g_pi[a] = -(weights[i] * dt) / norm_w
            s = ((0.0 + g_pi[0] * pi[i, 0]) + g_pi[1] * pi[i, 1]) + g_pi[2] * pi[i, 2]
            for a in range(3):
                g_q[i, a] = (pi[i, a] * (g_pi[a] - s)) / temperature
        gl = _mm_t(g_q, x)
        n_e = g.size
        gf, lf = g.reshape(n_e), gl.reshape(n_e)
        for e in range(n_e):
            lf[e] = logic_weight * lf[e]
        inner = 0.0
        for e in range(n_e):
            inner += gf[e] * lf[e]
        if inner < 0.0:
            sq = 0.0
            for e in range(n_e):
                sq += gf[e] * gf[e]
            if sq > 0.0:
                coef = inner / sq
                for e in range(n_e):
                    lf[e] = lf[e] - coef * gf[e]
        for e in range(n_e):
            gf[e] = gf[e] + lf[e]
    flat = g.reshape(g.size)
    acc = 0.0
    for e in range(flat.size):
        acc += flat[e] * flat[e]
    norm = math.sqrt(acc)
    if norm > grad_clip:
        scale = grad_clip / norm
        for e in range(flat.size):
            flat[e] = flat[e] * scale
    for i in range(b):
        row = 0.0
        for c in range(x.shape[1]):
            row += x[i, c] * x[i, c]
        sq_i = math.sqrt(row)
        tmp[i] = (weights[i] * sq_i) * sq_i
    reach = _sum(tmp) / norm_w
    step = learning_rate / (reach if reach > 1.0 else 1.0)
    new = np.empty_like(params)
    for j in range(params.shape[0]):
        for c in range(params.shape[1]):
            new[j, c] = params[j, c] - step * g[j, c]
    return new, logic_loss, norm
