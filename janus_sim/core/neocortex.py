"""Long-term memory: Gaussian schemas (spec 1.3, eq. 13-16 and 21-22; pruning 3.3, eq. 34).

Schema k is N(mu_k, Sigma_k) over state vectors. A state s joins the schema of maximum
likelihood (eq. 16) unless that likelihood is below tau_schema, in which case the caller
creates a new schema with mu = s, Sigma = eps I (Algorithm 2, line 16). Joining moves the
moments by an exponential moving average with rate eta (eq. 21-22).

Every likelihood here is a log-density of the *regularized* Gaussian N(mu, Sigma + eps I):
a fresh schema has Sigma = eps I and an updated one may be rank-deficient (constant or
collinear states), so the ridge is what makes the density defined. Schemas are immutable;
every update returns a new ``Schema`` that carries its own Cholesky factor, so a batch of
states costs one triangular solve per schema version and the factor can never be stale.

The spec's parameters (eta, eps, the tau_schema quantile, the pruning thresholds) have no
defaults here: they are ``config.Neocortex``'s, which callers pass in.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numba
import numpy as np

from janus_sim.core import detmath as dm
from janus_sim.core.chi2 import chi2_quantile
from janus_sim.core.ridged_cholesky import ridged_cholesky as _cholesky

_LOG_2PI = dm.LOG_2PI
_FMAX = float(np.finfo(np.float64).max)


def schema_id(cycle: int, counter: int) -> str:
    """The deterministic id of the ``counter``-th schema created in sleep cycle ``cycle``."""
    return f"schema-{cycle}-{counter}"


def _frozen(a: np.ndarray) -> np.ndarray:
    out = np.array(a, dtype=np.float64, copy=True)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class Schema:
    """One schema: N(mean, cov) with its bookkeeping (spec 3.1 payload).

    Contract: ``mean`` is finite with shape (d,), ``cov`` finite symmetric (d, d), ``eps``
    finite and > 0, ``n_points`` >= 1 (= |S_k|), ``created_ns <= updated_ns`` (simulated
    time, ns). Arrays are copied and made read-only. ``chol`` is the lower Cholesky factor
    of cov + eps I (see ``_cholesky``) and ``half_log_norm`` is (d log 2 pi + log det(cov +
    eps I)) / 2, both computed once, on first use: folding a log for its schemas alone
    (``janus-sim at``) then never starts numba's compiler. Equality is identity (arrays do
    not compare).
    """

    id: str
    mean: np.ndarray
    cov: np.ndarray
    n_points: int
    avg_reward: float
    created_ns: int
    updated_ns: int
    eps: float

    def __post_init__(self) -> None:
        mean, cov = _frozen(self.mean), _frozen(self.cov)
        d = mean.shape[0] if mean.ndim == 1 else -1
        if d < 1 or cov.shape != (d, d):
            raise ValueError(f"mean must be (d,) and cov (d, d), got {mean.shape}, {cov.shape}")
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(cov))):
            raise ValueError("schema moments must be finite")
        if not np.array_equal(cov, cov.T):
            raise ValueError("cov must be exactly symmetric")
        if not (math.isfinite(self.eps) and self.eps > 0.0):
            raise ValueError(f"eps must be finite and > 0, got {self.eps}")
        if self.n_points < 1 or self.updated_ns < self.created_ns:
            raise ValueError("n_points must be >= 1 and updated_ns >= created_ns")
        _set_moments(self, mean, cov)

    @property
    def dim(self) -> int:
        return int(self.mean.shape[0])

    @property
    def chol(self) -> np.ndarray:
        return self._factor[0]

    @property
    def half_log_norm(self) -> float:
        return self._factor[1]

    @functools.cached_property
    def _factor(self) -> tuple[np.ndarray, float]:
        # cached_property writes the instance's __dict__ directly: allowed while frozen.
        chol = _cholesky(self.cov, self.eps)  # a fresh array: no copy needed
        chol.setflags(write=False)
        d = self.mean.shape[0]
        half = 0.5 * (d * _LOG_2PI + 2.0 * float(np.sum(dm.log(np.diag(chol).copy()))))
        return chol, half


def _set_moments(schema: Schema, mean: np.ndarray, cov: np.ndarray) -> None:
    """Store ``mean`` and ``cov`` (read-only arrays ``schema`` now owns); the factor and
    normalizer derived from them follow on first use (``Schema._factor``)."""
    object.__setattr__(schema, "mean", mean)
    object.__setattr__(schema, "cov", cov)
    schema.__dict__.pop("_factor", None)  # moments replaced: a factor of the old ones goes


def _checked_schema(
    id: str,
    mean: np.ndarray,
    cov: np.ndarray,
    n_points: int,
    avg_reward: float,
    created_ns: int,
    updated_ns: int,
    eps: float,
) -> Schema:
    """``Schema(...)`` for moments the caller has already checked against the contract
    (fresh float64 arrays handed over, finite, cov exactly symmetric, the rest in range):
    the same schema, without checking or copying them again."""
    schema = object.__new__(Schema)
    for name, value in (
        ("id", id),
        ("n_points", n_points),
        ("avg_reward", avg_reward),
        ("created_ns", created_ns),
        ("updated_ns", updated_ns),
        ("eps", eps),
    ):
        object.__setattr__(schema, name, value)
    mean.setflags(write=False)
    cov.setflags(write=False)
    _set_moments(schema, mean, cov)
    return schema


def _check_state(state: np.ndarray, d: int | None = None) -> np.ndarray:
    s = np.asarray(state, dtype=np.float64)
    if s.ndim != 1 or (d is not None and s.shape[0] != d):
        raise ValueError(f"state must have shape ({d if d else 'd'},), got {s.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError("state must be finite")
    return s


def create(id: str, state: np.ndarray, reward: float, t_ns: int, eps: float) -> Schema:
    """A new schema for ``state`` (Algorithm 2, line 16): mean == state, cov == eps I exactly.

    n_points = 1, avg_reward = reward, created_ns = updated_ns = t_ns.
    """
    s = _check_state(state)
    cov = np.eye(s.shape[0]) * eps  # eps * 1.0 and eps * 0.0 are exact
    return Schema(id, s, cov, 1, float(reward), t_ns, t_ns, eps)


def consolidate(schema: Schema, state: np.ndarray, reward: float, t_ns: int, eta: float) -> Schema:
    """Schema after absorbing ``state`` (eq. 21-22), with 0 < eta <= 1 (``Neocortex.eta``).

    mu' = (1 - eta) mu + eta s;  Sigma' = (1 - eta) Sigma + eta (s - mu)(s - mu)^T with the
    OLD mu. n_points += 1, avg_reward becomes the running mean, updated_ns = t_ns (which may
    not precede schema.updated_ns). Floating-point guarantees: each coordinate of mu' lies
    in [min(mu, s), max(mu, s)] (the computed value is clipped there, which only undoes a
    rounding of at most one ulp, e.g. 0.99 x + 0.01 x != x); Sigma' is exactly symmetric
    and, as a convex combination of PSD matrices rounded entrywise, PSD up to rounding
    (min eigenvalue >= -O(d * 1e-16) * max |Sigma'|). Raises ValueError if the moments
    would overflow float64 (|s - mu| beyond ~1e153).
    """
    s = _check_state(state, schema.dim)
    if not 0.0 < eta <= 1.0:
        raise ValueError(f"eta must be in (0, 1], got {eta}")
    if t_ns < schema.updated_ns:
        raise ValueError("consolidation goes back in simulated time")
    mu = schema.mean
    with np.errstate(over="ignore", invalid="ignore"):
        mean = np.clip((1.0 - eta) * mu + eta * s, np.minimum(mu, s), np.maximum(mu, s))
        dev = s - mu
        cov = (1.0 - eta) * schema.cov + eta * np.outer(dev, dev)
    # np.outer(dev, dev) is already symmetric (dev_i dev_j == dev_j dev_i in IEEE), but the
    # explicit symmetrization keeps the invariant independent of how the terms are formed.
    cov = 0.5 * (cov + cov.T)
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(cov))):
        raise ValueError("consolidation overflows float64")
    n = schema.n_points + 1
    avg = schema.avg_reward + (float(reward) - schema.avg_reward) / n
    # Every field meets Schema's contract by construction: moments finite (checked just
    # above) and cov symmetric, eps and created_ns inherited, n >= 2, t_ns >= updated_ns.
    return _checked_schema(schema.id, mean, cov, n, avg, schema.created_ns, t_ns, schema.eps)


def log_likelihoods(schemas: Sequence[Schema], states: np.ndarray) -> np.ndarray:
    """log N(s_i; mu_k, Sigma_k + eps_k I) for an (m, d) batch: an (m, K) array (eq. 13, 16).

    Computed as -(d log 2 pi + log det)/2 - ||L^-1 (s - mu)||^2 / 2 with the schema's cached
    Cholesky factor L: forward substitution in one compiled kernel over all rows and
    schemas, no inverse, no exp. Finite for every finite state: each row is first scaled
    by a power of two 2^e >=
    max(|s|_inf, |mu|_inf) (exact, so moderate rows are computed unscaled and identically),
    which keeps s - mu from overflowing; the squared Mahalanobis distance is then rescaled
    by 4^e and clipped at the largest float (~1.8e308). Only states whose true distance is
    beyond float64 hit the clip; they all get the same, lowest, log-likelihood for that
    schema. Raises ValueError on non-finite states or a dimension mismatch.
    """
    x = np.asarray(states, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"states must be (m, d), got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("states must be finite")
    if not schemas:
        return np.empty((x.shape[0], 0))
    for sc in schemas:
        if x.shape[1] != sc.dim:
            raise ValueError(f"states have dimension {x.shape[1]}, schema {sc.id} has {sc.dim}")
    chols = np.stack([sc.chol for sc in schemas])
    means = np.stack([sc.mean for sc in schemas])
    half = np.array([sc.half_log_norm for sc in schemas])
    return -0.5 * _mahalanobis_sq(np.ascontiguousarray(x), chols, means) - half


@numba.njit(cache=True, nogil=True)
def _mahalanobis_sq(x: np.ndarray, chols: np.ndarray, means: np.ndarray) -> np.ndarray:
    """||L_k^-1 (x_i - mu_k)||^2 for every row i and schema k, by forward substitution,
    with the power-of-two scaling described in ``log_likelihoods``."""
    m, d = x.shape
    n_k = chols.shape[0]
    out = np.empty((m, n_k))
    z = np.empty(d)
    for i in range(m):
        row_max = 0.0
        for j in range(d):
            row_max = max(row_max, abs(x[i, j]))
        for k in range(n_k):
            big = row_max
            for j in range(d):
                big = max(big, abs(means[k, j]))
            e = math.frexp(big)[1] if big > 1.0 else 0  # 2^e >= big
            acc = 0.0
            for r in range(d):
                v = math.ldexp(x[i, r], -e) - math.ldexp(means[k, r], -e)
                for c in range(r):
                    v -= chols[k, r, c] * z[c]
                z[r] = v / chols[k, r, r]
                acc += z[r] * z[r]
            if acc > 0.0 and math.frexp(acc)[1] + 2 * e > 1024:
                out[i, k] = _FMAX  # beyond float64: every such state gets the same clip
            else:
                out[i, k] = min(math.ldexp(acc, 2 * e), _FMAX)
    return out


@numba.njit(cache=True, nogil=True)
def _mahalanobis_sq_one(
    x: np.ndarray, chols_t: np.ndarray, means_t: np.ndarray, mean_max: np.ndarray, n: int
) -> np.ndarray:
    """``_mahalanobis_sq`` of one state ``x`` against schemas ``k < n``, value for value.

    The same operations per schema in the same order, with the schemas innermost so that
    their independent forward substitutions run side by side (the one-schema chain of
    divisions is what limits ``_mahalanobis_sq``). Layout: ``chols_t[r, c, k]`` is
    ``L_k[r, c]``, ``means_t[r, k]`` is ``mu_k[r]``, ``mean_max[k]`` is ``max |mu_k|``
    (so the scale 2^e needs no pass over the mean). Scaling multiplies by 2^-e, a power of
    two, where ``_mahalanobis_sq`` calls ldexp: both give the exact product, correctly
    rounded, so the results are identical.
    """
    d = x.shape[0]
    row_max = 0.0
    for j in range(d):
        row_max = max(row_max, abs(x[j]))
    e = np.empty(n, dtype=np.int64)
    scale = np.empty(n)
    for k in range(n):
        big = max(row_max, mean_max[k])
        e[k] = math.frexp(big)[1] if big > 1.0 else 0  # 2^e >= big
        scale[k] = math.ldexp(1.0, -e[k])
    z = np.empty((d, n))
    v = np.empty(n)
    acc = np.zeros(n)
    for r in range(d):
        xr = x[r]
        mr = means_t[r]
        for k in range(n):
            v[k] = xr * scale[k] - mr[k] * scale[k]
        for c in range(r):
            lc = chols_t[r, c]
            zc = z[c]
            for k in range(n):
                v[k] -= lc[k] * zc[k]
        lr = chols_t[r, r]
        zr = z[r]
        for k in range(n):
            q = v[k] / lr[k]
            zr[k] = q
            acc[k] += q * q
    out = np.empty(n)
    for k in range(n):
        a = acc[k]
        if a > 0.0 and math.frexp(a)[1] + 2 * e[k] > 1024:
            out[k] = _FMAX  # beyond float64, as in _mahalanobis_sq
        else:
            out[k] = min(math.ldexp(a, 2 * e[k]), _FMAX)
    return out


def assign(schemas: Sequence[Schema], state: np.ndarray, log_tau: float) -> int | None:
    """k* = argmax_k log N(s; mu_k, Sigma_k + eps I) (eq. 16), or None to create a schema.

    Ties go to the lowest index (schemas are kept in creation order). None when there are
    no schemas or the best log-likelihood is strictly below ``log_tau`` (= log tau_schema);
    equal to it is a match, per "if max < tau_schema, create".
    """
    if not schemas:
        return None
    ll = log_likelihoods(schemas, _check_state(state)[None, :])[0]
    best = int(np.argmax(ll))  # first occurrence of the maximum
    return None if ll[best] < log_tau else best


class SchemaIndex:
    """The schemas of one night's consolidation loop, stacked for fast assignment.

    ``assign`` equals the module-level ``assign`` over ``schemas``, bit for bit (the same
    arithmetic per schema, in ``_mahalanobis_sq_one``); ``put`` replaces or appends one
    schema without restacking the others. The factors and means are kept transposed,
    schema index last, as that kernel reads them.
    """

    def __init__(self, schemas: Sequence[Schema], dim: int) -> None:
        self.schemas: list[Schema] = list(schemas)
        cap = max(len(self.schemas), 8)
        self._chols_t = np.zeros((dim, dim, cap))
        self._means_t = np.zeros((dim, cap))
        self._mean_max = np.zeros(cap)
        self._half = np.zeros(cap)
        for k, sc in enumerate(self.schemas):
            self._write(k, sc)

    def _write(self, k: int, sc: Schema) -> None:
        cap = len(self._half)
        if k >= cap:  # grow geometrically
            self._chols_t = np.concatenate([self._chols_t, np.zeros_like(self._chols_t)], axis=2)
            self._means_t = np.concatenate([self._means_t, np.zeros_like(self._means_t)], axis=1)
            self._mean_max = np.concatenate([self._mean_max, np.zeros(cap)])
            self._half = np.concatenate([self._half, np.zeros(cap)])
        self._chols_t[:, :, k] = sc.chol
        self._means_t[:, k] = sc.mean
        self._mean_max[k] = np.max(np.abs(sc.mean))
        self._half[k] = sc.half_log_norm

    def put(self, k: int, sc: Schema) -> None:
        """Schema ``k`` becomes ``sc``; ``k == len(schemas)`` appends."""
        if k == len(self.schemas):
            self.schemas.append(sc)
        else:
            self.schemas[k] = sc
        self._write(k, sc)

    def assign(self, state: np.ndarray, log_tau: float) -> int | None:
        return self.assign_scored(state, log_tau)[0]

    def assign_scored(self, state: np.ndarray, log_tau: float) -> tuple[int | None, float]:
        """(``assign``'s answer, the squared Mahalanobis distance of ``state`` to that
        schema under its regularized covariance, ||L^-1 (s - mu)||^2 with L L^T = Sigma +
        eps I, as ``log_likelihoods`` computes it); the distance is NaN when no schema is
        chosen. The distance is the one the choice was made from, not a recomputation."""
        n = len(self.schemas)
        if n == 0:
            return None, math.nan
        x = _check_state(state, self._means_t.shape[0])
        maha = _mahalanobis_sq_one(x, self._chols_t, self._means_t, self._mean_max, n)
        ll = -0.5 * maha - self._half[:n]
        best = int(np.argmax(ll))
        return (None, math.nan) if ll[best] < log_tau else (best, float(maha[best]))


def default_log_tau(d: int, eps: float, q: float) -> float:
    """log tau_schema such that a FRESH schema accepts exactly its own q-region
    (``q``: ``Neocortex.tau_quantile``).

    A fresh schema has Sigma = eps I, so its regularized density is N(s; mu, 2 eps I). The
    threshold is that density at squared Mahalanobis distance chi2.ppf(q, d):
        log tau = -(d log(2 pi * 2 eps) + chi2_q(d)) / 2.
    So eps sets the granularity of long-term memory: on standardized features a state joins
    a fresh schema iff |s - mu| <= sqrt(2 eps chi2_q(d)) (d = 9, q = 0.99, eps = 0.05 gives
    radius ~1.47 standard deviations). A schema that has grown keeps attracting its own
    centre while det(Sigma + eps I) <= (2 eps)^d exp(chi2_q(d)), i.e. a geometric-mean variance
    up to 2 eps exp(chi2_q(d) / d) (~22 eps for d = 9); the states it accepts lie within
    squared radius 2 eps chi2_q(d) (~43 eps), which keeps its covariance at a few eps per axis.
    """
    if d < 1 or not (eps > 0.0 and 0.0 < q < 1.0):
        raise ValueError("need d >= 1, eps > 0 and 0 < q < 1")
    chi2_q = chi2_quantile(d, q)
    return -0.5 * (d * dm.log(2.0 * math.pi * 2.0 * eps) + chi2_q)


def prunable(schema: Schema, now_ns: int, min_points: int, max_age_ns: int) -> bool:
    """Eq. 34: prune iff n_points < min_points OR age > max_age_ns, age = now_ns - created_ns
    (``Neocortex.min_points``; ``Neocortex.max_age_days`` in nanoseconds).

    Both comparisons are strict: at min_points = 10, 9 points are pruned and 10 kept; an
    age of exactly max_age_ns is kept and max_age_ns + 1 pruned. ``now_ns`` may not precede
    ``schema.created_ns``.
    """
    age = now_ns - schema.created_ns
    if age < 0:
        raise ValueError("now_ns precedes the schema's creation")
    return schema.n_points < min_points or age > max_age_ns
