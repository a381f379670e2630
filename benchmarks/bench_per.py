"""Prioritized replay: our numba sum tree vs cpprb's PrioritizedReplayBuffer.

Workload (both sides alike, same process): a full 10,000-slot buffer with random
priorities, alpha 0.6; each iteration draws a batch of 64 with importance weights at
beta 0.4, then gives the 64 sampled slots new random priorities. The two run in
interleaved chunks of 50 iterations (so that load from other processes hits both alike).
Figures: median over repeats of microseconds per iteration, the fastest repeat, and the
ratio ours / cpprb (<= 1: we are at least as fast). ``run`` prints nothing.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from janus_sim.core.priorities import draw_batch
from janus_sim.core.sum_tree import SumTree

CAPACITY = 10_000
BATCH = 64
ALPHA = 0.6
BETA = 0.4
ALPHA_F64 = np.float64(ALPHA)  # numpy's power is quicker with a numpy scalar exponent
PRIORITY_FLOOR = 1e-3  # keeps random priorities away from 0, as eps does in eq. 7
CHUNK = 50  # iterations per interleaved timing chunk


def _ours(seed: int) -> Callable[[int], None]:
    rng = np.random.default_rng(seed)
    tree = SumTree(CAPACITY)
    tree.update(np.arange(CAPACITY), np.power(rng.random(CAPACITY) + PRIORITY_FLOOR, ALPHA_F64))

    def loop(iterations: int) -> None:
        for _ in range(iterations):
            batch = draw_batch(tree, CAPACITY, BATCH, BETA, rng)
            new_p = rng.random(BATCH) + PRIORITY_FLOOR
            tree.update(batch.indices, np.power(new_p, ALPHA_F64))

    return loop


def _cpprb(seed: int) -> Callable[[int], None] | None:
    try:
        import cpprb  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    rng = np.random.default_rng(seed)
    rb = cpprb.PrioritizedReplayBuffer(CAPACITY, {"obs": {"shape": 1}}, alpha=ALPHA)
    rb.add(obs=np.zeros((CAPACITY, 1)), priorities=rng.random(CAPACITY) + PRIORITY_FLOOR)

    def loop(iterations: int) -> None:
        for _ in range(iterations):
            sample = rb.sample(BATCH, beta=BETA)  # alpha is applied inside cpprb
            rb.update_priorities(sample["indexes"], rng.random(BATCH) + PRIORITY_FLOOR)

    return loop


def _repeat(loops: list[Callable[[int], None]], iterations: int) -> list[float]:
    """Seconds each loop takes for ``iterations``, run in interleaved chunks so that load
    from elsewhere on the machine falls on every side alike."""
    chunk = min(CHUNK, iterations)
    spent = [0.0] * len(loops)
    for _ in range(iterations // chunk):
        for i, loop in enumerate(loops):
            start = time.perf_counter()
            loop(chunk)
            spent[i] += time.perf_counter() - start
    return spent


def run(quick: bool) -> list[dict[str, Any]]:
    iterations = 200 if quick else 1000
    repeats = 3 if quick else 7
    loops = [_ours(seed=1)]
    theirs = _cpprb(seed=1)
    if theirs is not None:
        loops.append(theirs)
    _repeat(loops, CHUNK)  # warm-up: first-call allocations and caches
    times = [_repeat(loops, iterations) for _ in range(repeats)]
    t_ours = [t[0] for t in times]
    t_theirs = [t[1] for t in times] if theirs is not None else []
    ctx = {
        "capacity": CAPACITY,
        "batch": BATCH,
        "alpha": ALPHA,
        "beta": BETA,
        "iterations": iterations,
        "repeats": repeats,
    }
    us_ours = statistics.median(t_ours) / iterations * 1e6
    figures: list[dict[str, Any]] = [
        {
            "name": "per_sample_update_ours",
            "value": round(us_ours, 2),
            "unit": "us/iter",
            "min": round(min(t_ours) / iterations * 1e6, 2),
            **ctx,
        },
    ]
    if theirs is None:
        figures.append(
            {
                "name": "per_sample_update_cpprb",
                "value": None,
                "unit": "us/iter",
                "note": "cpprb unavailable (pip install cpprb)",
                **ctx,
            }
        )
        return figures
    us_theirs = statistics.median(t_theirs) / iterations * 1e6
    # The reference's figure is our figure's anchor: ratio <= 1 means we are not slower.
    figures[0]["anchor"] = round(us_theirs, 2)
    figures[0]["ratio"] = round(us_ours / us_theirs, 3)
    figures += [
        {
            "name": "per_sample_update_cpprb",
            "value": round(us_theirs, 2),
            "unit": "us/iter",
            "min": round(min(t_theirs) / iterations * 1e6, 2),
            **ctx,
        },
        {
            "name": "per_sample_update_ratio",
            "value": round(us_ours / us_theirs, 3),
            "unit": "ours/cpprb",
            "anchor": 1.0,
            "ratio": round(us_ours / us_theirs, 3),
            "ratio_of_min": round(min(t_ours) / min(t_theirs), 3),
            **ctx,
        },
    ]
    return figures
