"""The price of portable numerics: core/detmath against numpy and BLAS (in-process).

For each kernel the figure is our time and the anchor numpy's (or BLAS's) on the same
input, median of 5, so ``ratio`` is the slowdown portability costs where it is used:

* detmath_exp / detmath_log / detmath_pow: 1,000,000 float64 values (the market's and
  features' columns, priorities ** alpha, importance weights);
* detmath_matmul_separation: (10,000 x 9) @ (9 x 32), the hippocampal code of a full buffer;
* detmath_matmul_projector: (400 x 256) @ (256 x 128), one layer of a night's projector fit.

numpy's figures are whatever this machine dispatches to (its AVX2 or AVX-512 loops and
its OpenBLAS kernel, with BLAS on one thread as inside a run).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from janus_sim.core import detmath as dm


def _median_s(fn: Callable[[], object], reps: int) -> float:
    fn()  # compile / warm caches
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def _figure(name: str, ours: float, theirs: float, **params: Any) -> dict[str, Any]:
    return {
        "name": name,
        "value": round(ours * 1e3, 3),
        "unit": "ms",
        "anchor": round(theirs * 1e3, 3),
        "ratio": round(ours / theirs, 2) if theirs > 0 else None,
        "anchor_is": "numpy / OpenBLAS on this machine",
        **params,
    }


def run(quick: bool = False) -> list[dict[str, Any]]:
    rng = np.random.default_rng(0)
    n = 100_000 if quick else 1_000_000
    reps = 3 if quick else 5
    x = rng.uniform(-20.0, 20.0, n)
    y = rng.uniform(1e-6, 100.0, n)
    out = []
    with threadpool_limits(limits=1):
        out.append(
            _figure(
                "detmath_exp",
                _median_s(lambda: dm.exp(x), reps),
                _median_s(lambda: np.exp(x), reps),
                values=n,
            )
        )
        out.append(
            _figure(
                "detmath_log",
                _median_s(lambda: dm.log(y), reps),
                _median_s(lambda: np.log(y), reps),
                values=n,
            )
        )
        out.append(
            _figure(
                "detmath_pow",
                _median_s(lambda: dm.power(y, 0.6), reps),
                _median_s(lambda: np.power(y, 0.6), reps),
                values=n,
                exponent=0.6,
            )
        )
        for name, (m, k, p) in (
            ("detmath_matmul_separation", (10_000, 9, 32)),
            ("detmath_matmul_projector", (400, 256, 128)),
        ):
            a, b = rng.normal(size=(m, k)), rng.normal(size=(k, p))

            def ours(a: np.ndarray = a, b: np.ndarray = b) -> object:
                return dm.matmul(a, b)

            def blas(a: np.ndarray = a, b: np.ndarray = b) -> object:
                return a @ b

            shape = f"({m}x{k})@({k}x{p})"
            out.append(_figure(name, _median_s(ours, reps), _median_s(blas, reps), shape=shape))
    return out
