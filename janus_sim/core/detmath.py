"""Portable numerics: exp, log, pow and matrix products that give the same bits on every CPU.

Why this module exists. numpy dispatches its transcendental ufuncs (``exp``, ``log``,
``power``, ...) by CPU feature, and the AVX-512 paths round differently in the last bits
from the AVX2 ones, which in turn call the C library, whose ``exp`` and ``pow`` select an
FMA variant at load time. OpenBLAS picks a kernel (blocking, FMA, summation order) by CPU,
so ``a @ b`` differs too. One ULP in a price or a Q-value can flip an action and the run
diverges, so a digest made on one machine would fail on the next.

What this module guarantees. Every function here is built from IEEE-754 operations that
are correctly rounded by definition (``+ - * /``, ``sqrt``, ``floor``, ``frexp``,
``ldexp``, comparisons), in a fixed order, in numba kernels compiled without ``fastmath``:
LLVM may neither reassociate nor contract a multiply and an add into an FMA there, and
vectorizes only across independent lanes. So the result is a function of the inputs
alone, whatever the SIMD width, FMA, BLAS kernel or numba target. (Tested:
``tests/unit/test_detmath.py`` checks that the compiled kernels hold no FMA instruction and
that fresh processes under other numerics settings give the same bits.)

Accuracy. ``exp`` and ``log`` follow the classic fdlibm reductions (Cody-Waite with a split
ln 2, then a minimax polynomial): within one ULP of the true value, usually correctly
rounded. ``power(x, y)`` is exact repeated multiplication for integral |y| <= 64 and
``exp(y log x)`` otherwise (relative error about |y log x| ULP). They are not numpy's
values bit for bit, and need not be: what matters is that they are the same everywhere.

Cost. A numba loop per call (no SIMD transcendental): a few ns a value, measured in
BENCHMARKS.md. Matrix products run the i-k-j loop (each output accumulated in k order, so
lanes vectorize without reordering a sum); on the small matrices of a night they cost
about what BLAS does.
"""

from __future__ import annotations

import math
from typing import Any, overload

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

# ln 2 split so that k * LN2_HI is exact for |k| < 2^20 (LN2_HI has 32 significant bits).
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e00
_EXP_HI = 709.782712893383973096  # above: overflow
_EXP_LO = -745.13321910194110842  # below: underflow to 0
_SQRT_HALF = 0.70710678118654752440
# Minimax coefficients of the exp remainder R(r^2) on [-ln2/2, ln2/2] (fdlibm e_exp.c).
_P1 = 1.66666666666666019037e-01
_P2 = -2.77777777770155933842e-03
_P3 = 6.61375632143793436117e-05
_P4 = -1.65339022054652515390e-06
_P5 = 4.13813679705723846039e-08
# Minimax coefficients of log(1 + f) = 2s + s*R(s^2) (fdlibm e_log.c).
_LG1 = 6.666666666666735130e-01
_LG2 = 3.999999999940941908e-01
_LG3 = 2.857142874366239149e-01
_LG4 = 2.222219843214978396e-01
_LG5 = 1.818357216161805012e-01
_LG6 = 1.531383769920937332e-01
_LG7 = 1.479819860511658591e-01

LOG_2PI = 1.8378770664093453
"""log(2 pi), correctly rounded (a literal: no libm call at import)."""
LN2 = 0.6931471805599453
"""log(2), correctly rounded."""


def _as_bits_typer(typingctx: object, x: object) -> tuple[object, object]:
    """The IEEE bit pattern of a float64 as an int64 (an exact reinterpretation)."""

    def codegen(
        context: object, builder: ir.IRBuilder, sig: object, args: list[ir.Value]
    ) -> object:
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


def _from_bits_typer(typingctx: object, x: object) -> tuple[object, object]:
    """The float64 whose IEEE bit pattern is the int64 ``x``."""

    def codegen(
        context: object, builder: ir.IRBuilder, sig: object, args: list[ir.Value]
    ) -> object:
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


# Typed as Any: numba's intrinsic objects are called with the typer's arguments dropped.
_as_bits: Any = intrinsic(_as_bits_typer)
_from_bits: Any = intrinsic(_from_bits_typer)


@numba.njit(cache=True, nogil=True)
def _scale2(y: float, k: int) -> float:
    """y * 2**k, as ldexp gives it; a multiply by an exact power of two (inlined, unlike
    ldexp's call) wherever 2**k is a normal float."""
    if -1022 <= k <= 1023:
        return y * _from_bits((k + 1023) << 52)
    if k == 1024:
        return (y * 2.0) * _from_bits(2046 << 52)
    return math.ldexp(y, k)


@numba.njit(cache=True, nogil=True)
def exp_s(x: float) -> float:
    """e**x for one float64 (see the module doc)."""
    if x != x:
        return x
    if x > _EXP_HI:
        return math.inf
    if x < _EXP_LO:
        return 0.0
    if abs(x) < 3.725290298461914e-09:  # 2^-28: 1 + x is exact to the last bit
        return 1.0 + x
    k = math.floor(x * _INV_LN2 + 0.5)
    hi = x - k * _LN2_HI
    lo = k * _LN2_LO
    r = hi - lo
    t = r * r
    c = r - t * (_P1 + t * (_P2 + t * (_P3 + t * (_P4 + t * _P5))))
    y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi)
    return _scale2(y, int(k))


@numba.njit(cache=True, nogil=True)
def log_s(x: float) -> float:
    """Natural log of one float64: nan below 0, -inf at 0 (see the module doc)."""
    if x != x or x < 0.0:
        return math.nan
    if x == 0.0:
        return -math.inf
    if x == math.inf:
        return x
    bits = _as_bits(x)
    biased = (bits >> 52) & 0x7FF
    if biased == 0:  # subnormal: frexp normalizes it
        m, e = math.frexp(x)
    else:  # x = m 2^e, 0.5 <= m < 1: the same m and e as frexp, from the bits
        e = biased - 1022
        m = _from_bits((bits & 0x000FFFFFFFFFFFFF) | (1022 << 52))
    if m < _SQRT_HALF:
        m *= 2.0
        e -= 1
    f = m - 1.0  # exact: m lies in [sqrt(1/2), sqrt(2))
    k = float(e)
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (_LG2 + w * (_LG4 + w * _LG6))
    t2 = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7)))
    big_r = t2 + t1
    hfsq = 0.5 * f * f
    return k * _LN2_HI - ((hfsq - (s * (hfsq + big_r) + k * _LN2_LO)) - f)


@numba.njit(cache=True, nogil=True)
def pow_s(x: float, y: float) -> float:
    """x**y for one pair: exact products for integral |y| <= 64, else exp(y log x)."""
    if y == 0.0:
        return 1.0
    if y == 1.0:
        return x
    if y == 2.0:
        return x * x
    if x != x or y != y:
        return math.nan
    if y == 0.5 and x >= 0.0:
        return math.sqrt(x)
    if y == math.floor(y) and abs(y) <= 64.0:
        n = int(abs(y))
        acc = 1.0
        base = x
        while n > 0:
            if n & 1:
                acc *= base
            base *= base
            n >>= 1
        if y > 0.0:
            return acc
        return math.copysign(math.inf, acc) if acc == 0.0 else 1.0 / acc
    if x < 0.0:
        return math.nan
    if x == 0.0:
        return 0.0 if y > 0.0 else math.inf
    return exp_s(y * log_s(x))


@numba.njit(cache=True, nogil=True)
def expit_s(z: float) -> float:
    """The logistic sigmoid 1 / (1 + e^-z), without overflow for any z."""
    if z >= 0.0:
        return 1.0 / (1.0 + exp_s(-z))
    e = exp_s(z)
    return e / (1.0 + e)


@numba.njit(cache=True, nogil=True)
def _exp_a(x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = exp_s(x[i])
    return out


@numba.njit(cache=True, nogil=True)
def _log_a(x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = log_s(x[i])
    return out


@numba.njit(cache=True, nogil=True)
def _pow_a(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = pow_s(x[i], y[i])
    return out


@numba.njit(cache=True, nogil=True)
def _expit_a(x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = expit_s(x[i])
    return out


def _flat(x: object) -> tuple[np.ndarray, tuple[int, ...]]:
    a = np.asarray(x, dtype=np.float64)
    return np.ascontiguousarray(a).reshape(-1), a.shape


@overload
def exp(x: float) -> float: ...
@overload
def exp(x: np.ndarray) -> np.ndarray: ...
def exp(x: float | np.ndarray) -> float | np.ndarray:
    """Elementwise e**x, portable (a float for a float, an array of x's shape otherwise)."""
    if isinstance(x, float | int):
        return float(exp_s(float(x)))
    flat, shape = _flat(x)
    return _exp_a(flat).reshape(shape)


@overload
def log(x: float) -> float: ...
@overload
def log(x: np.ndarray) -> np.ndarray: ...
def log(x: float | np.ndarray) -> float | np.ndarray:
    """Elementwise natural log, portable."""
    if isinstance(x, float | int):
        return float(log_s(float(x)))
    flat, shape = _flat(x)
    return _log_a(flat).reshape(shape)


def expit(x: np.ndarray) -> np.ndarray:
    """Elementwise logistic sigmoid, portable."""
    flat, shape = _flat(x)
    return _expit_a(flat).reshape(shape)


@overload
def power(x: float, y: float) -> float: ...
@overload
def power(x: np.ndarray, y: float | np.ndarray) -> np.ndarray: ...
def power(x: float | np.ndarray, y: float | np.ndarray) -> float | np.ndarray:
    """Elementwise x**y with numpy broadcasting, portable (see ``pow_s``)."""
    if isinstance(x, float | int) and isinstance(y, float | int):
        return float(pow_s(float(x), float(y)))
    if isinstance(y, float | int) and isinstance(x, np.ndarray):
        # The common case (priorities ** alpha): the broadcast below costs more than the
        # kernel on a batch of 64; the exponent filled in directly is the same operand.
        fx = np.ascontiguousarray(x, dtype=np.float64).reshape(-1)
        return _pow_a(fx, np.full(fx.size, float(y))).reshape(x.shape)
    xa, ya = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    shape = xa.shape
    fx = np.ascontiguousarray(xa).reshape(-1)
    fy = np.ascontiguousarray(ya).reshape(-1)
    return _pow_a(fx, fy).reshape(shape)


@numba.njit(cache=True, nogil=True)
def _matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    n, m = a.shape
    p = b.shape[1]
    out = np.zeros((n, p))
    for i in range(n):
        for k in range(m):
            aik = a[i, k]
            for j in range(p):
                out[i, j] += aik * b[k, j]
    return out


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for 1-D or 2-D float64 operands, each output summed in k order (portable)."""
    a2 = np.asarray(a, dtype=np.float64)
    b2 = np.asarray(b, dtype=np.float64)
    va, vb = a2.ndim == 1, b2.ndim == 1
    if va:
        a2 = a2[None, :]
    if vb:
        b2 = b2[:, None]
    if a2.ndim != 2 or b2.ndim != 2 or a2.shape[1] != b2.shape[0]:
        raise ValueError(f"matmul: shapes {np.shape(a)} and {np.shape(b)} do not chain")
    out = _matmul(np.ascontiguousarray(a2), np.ascontiguousarray(b2))
    if va and vb:
        return out.reshape(())
    if va:
        return out[0]
    if vb:
        return out[:, 0]
    return out


@numba.njit(cache=True, nogil=True)
def _row_sq_norms(x: np.ndarray) -> np.ndarray:
    n, d = x.shape
    out = np.zeros(n)
    for i in range(n):
        acc = 0.0
        for j in range(d):
            acc += x[i, j] * x[i, j]
        out[i] = acc
    return out


def norm(x: np.ndarray) -> float:
    """The Euclidean norm of a vector (or of a matrix's entries), summed in order."""
    flat, _ = _flat(x)
    return math.sqrt(float(_row_sq_norms(flat[None, :])[0]))


def row_norms(x: np.ndarray) -> np.ndarray:
    """The Euclidean norm of each row of a 2-D array, each summed in column order."""
    a = np.ascontiguousarray(np.asarray(x, dtype=np.float64))
    return np.sqrt(_row_sq_norms(a))
