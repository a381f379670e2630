"""The Cholesky factor of a schema's regularized covariance, Sigma + r I (neocortex).

Our own factorization, in one numba kernel, so that the factor - which enters every
likelihood - is the same to the bit on every CPU (see core/detmath.py).
"""

from __future__ import annotations

import math

import numba
import numpy as np

_FEPS = float(np.finfo(np.float64).eps)


def ridged_cholesky(cov: np.ndarray, eps: float) -> np.ndarray:
    """Lower factor L of Sigma + r I, r = max(eps, d * machine-eps * max diag(Sigma)).

    The floor on r only acts when eps is below the floating resolution of Sigma (say a
    rank-one Sigma of scale 1e200 with eps = 1e-2): there Sigma + eps I rounds to Sigma,
    which is numerically singular, and adding eps changes nothing anyway. Should rounding
    still defeat the factorization, the ridge grows tenfold until it succeeds; this is
    deterministic because it depends on the matrix only.
    """
    # Our own factorization, not LAPACK's: dpotrf's blocking and FMA use follow the CPU's
    # BLAS kernel, and the factor enters every likelihood (see core/detmath.py). One
    # kernel call: the ridge and its retries too (per schema update, the wrapper's numpy
    # calls cost more than the factorization itself).
    d = cov.shape[0]
    factor = np.zeros((d, d))
    if _ridged_cholesky(np.ascontiguousarray(cov), eps, _FEPS, factor):
        return factor
    raise ValueError("covariance cannot be factorized")  # pragma: no cover


@numba.njit(cache=True, nogil=True)
def _ridged_cholesky(cov: np.ndarray, eps: float, feps: float, out: np.ndarray) -> bool:
    """``ridged_cholesky``'s loop: the factor of cov + r I into ``out``, r from eps and the
    largest diagonal entry, tenfold up to 64 times; False when none factorizes. Each entry
    is computed as the array expressions it replaces did (cov + r * I: cov[i, j] +
    r * 1.0 or + r * 0.0), so the factor is the same to the bit."""
    d = cov.shape[0]
    top = cov[0, 0]
    for i in range(1, d):  # np.max of a finite diagonal
        if cov[i, i] > top:
            top = cov[i, i]
    floor = d * feps * top
    ridge = floor if floor > eps else eps  # Python's max(eps, floor)
    a = np.empty((d, d))
    for _ in range(64):
        for i in range(d):
            for j in range(d):
                a[i, j] = cov[i, j] + ridge * (1.0 if i == j else 0.0)
                out[i, j] = 0.0
        if _cholesky_kernel(a, out):
            return True
        ridge *= 10.0
    return False


@numba.njit(cache=True, nogil=True)
def _cholesky_kernel(a: np.ndarray, out: np.ndarray) -> bool:
    """Lower Cholesky factor of ``a`` into ``out`` (zeroed, upper triangle left zero), row
    by row, every sum taken in index order; False when a pivot is not positive (or NaN)."""
    d = a.shape[0]
    for i in range(d):
        for j in range(i + 1):
            acc = a[i, j]
            for k in range(j):
                acc -= out[i, k] * out[j, k]
            if i == j:
                if not acc > 0.0:
                    return False
                out[i, i] = math.sqrt(acc)
            else:
                out[i, j] = acc / out[j, j]
    return True
