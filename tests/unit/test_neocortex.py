"""Gaussian schemas: worked examples, boundaries of pruning (eq. 34) and of tau_schema."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from janus_sim.config import Neocortex
from janus_sim.core.neocortex import (
    Schema,
    assign,
    consolidate,
    create,
    default_log_tau,
    log_likelihoods,
    prunable,
    schema_id,
)
from janus_sim.timefmt import NS_PER_DAY

SPEC = Neocortex()
"""The spec's eta and pruning thresholds: the config's defaults."""
ETA = SPEC.eta
MAX_AGE_NS = round(SPEC.max_age_days * NS_PER_DAY)  # as consolidation_phase converts it


def _with_points(n: int, created_ns: int = 0) -> Schema:
    return Schema("schema-0-0", np.zeros(2), np.eye(2), n, 0.0, created_ns, created_ns, 0.1)


def _prunable(schema: Schema, now_ns: int) -> bool:
    return prunable(schema, now_ns, SPEC.min_points, MAX_AGE_NS)


@pytest.mark.parametrize(("n", "pruned"), [(1, True), (9, True), (10, False), (11, False)])
def test_pruning_min_points_boundary(n: int, pruned: bool) -> None:
    assert _prunable(_with_points(n), now_ns=0) is pruned


@pytest.mark.parametrize(
    ("age_ns", "pruned"),
    [
        (89 * NS_PER_DAY, False),
        (90 * NS_PER_DAY - 1, False),
        (90 * NS_PER_DAY, False),
        (90 * NS_PER_DAY + 1, True),
        (91 * NS_PER_DAY, True),
    ],
)
def test_pruning_age_boundary(age_ns: int, pruned: bool) -> None:
    created = 1_700_000_000 * 10**9
    assert _prunable(_with_points(50, created), now_ns=created + age_ns) is pruned


def test_pruning_age_is_measured_from_creation_not_update() -> None:
    sc = consolidate(_with_points(50), np.ones(2), 0.0, MAX_AGE_NS, ETA)
    assert _prunable(sc, now_ns=MAX_AGE_NS + 1)
    with pytest.raises(ValueError):
        _prunable(_with_points(50, created_ns=5), now_ns=4)


def test_consolidation_step_uses_old_mean() -> None:
    eps, eta = 0.5, 0.25
    sc = create(schema_id(2, 7), np.array([1.0, -2.0]), 4.0, 100, eps)
    s = np.array([3.0, 2.0])
    new = consolidate(sc, s, 1.0, 250, eta=eta)
    dev = s - np.array([1.0, -2.0])  # the OLD mean (eq. 22)
    np.testing.assert_allclose(new.mean, [1.5, -1.0], rtol=0, atol=1e-15)
    np.testing.assert_allclose(
        new.cov, (1 - eta) * eps * np.eye(2) + eta * np.outer(dev, dev), rtol=1e-15
    )
    assert (new.id, new.n_points, new.avg_reward) == ("schema-2-7", 2, 2.5)
    assert (new.created_ns, new.updated_ns) == (100, 250)
    # the input schema is untouched and its arrays cannot be written
    assert np.array_equal(sc.mean, [1.0, -2.0])
    with pytest.raises(ValueError):
        sc.mean[0] = 9.0


def test_running_mean_reward() -> None:
    sc = create("schema-0-0", np.zeros(3), 2.0, 0, 0.1)
    for i, r in enumerate([4.0, -3.0, 7.0, 0.5], start=1):
        sc = consolidate(sc, np.zeros(3), r, i, ETA)
    assert sc.avg_reward == pytest.approx((2.0 + 4.0 - 3.0 + 7.0 + 0.5) / 5, rel=1e-15)
    assert sc.n_points == 5


def test_constant_states_keep_mean_exact_and_shrink_cov() -> None:
    s = np.array([0.1, 1 / 3, -7.7])
    sc = create("schema-0-0", s, 0.0, 0, 0.2)
    for i in range(500):
        sc = consolidate(sc, s, 0.0, i, ETA)
    assert np.array_equal(sc.mean, s)
    np.testing.assert_allclose(sc.cov, 0.2 * 0.99**500 * np.eye(3), rtol=1e-12)
    assert np.all(np.isfinite(log_likelihoods([sc], s[None, :])))


def test_cached_factor_is_cholesky_of_regularized_cov() -> None:
    rng = np.random.default_rng(3)
    sc = create("schema-0-0", rng.normal(size=4), 0.0, 0, 0.3)
    for i in range(20):
        sc = consolidate(sc, rng.normal(size=4), 0.0, i, eta=0.3)
    np.testing.assert_allclose(sc.chol @ sc.chol.T, sc.cov + 0.3 * np.eye(4), rtol=1e-13)
    assert np.allclose(sc.chol, np.tril(sc.chol))


def test_extreme_states_are_finite_and_ordered() -> None:
    sc = create("schema-0-0", np.zeros(9), 0.0, 0, 0.05)
    x = np.array([[1e10] * 9, [1e150] * 9, [1e300] * 9, [-1.7e308, 1.7e308] + [0.0] * 7])
    ll = log_likelihoods([sc], x)[:, 0]
    assert np.all(np.isfinite(ll))
    assert ll[0] > ll[1] > ll[2]  # scaled, not clipped, while the distance is representable
    assert ll[2] == ll[3] == -0.5 * np.finfo(np.float64).max - sc.half_log_norm  # clipped
    ref = scipy.stats.multivariate_normal(np.zeros(9), 0.1 * np.eye(9)).logpdf(x[1] * 1e-140)
    assert ll[1] == pytest.approx(ref * 1e280, rel=1e-12)  # maha scales as |s|^2


def test_huge_rank_one_covariance_is_factorized() -> None:
    sc = create("schema-0-0", np.zeros(3), 0.0, 0, 1e-6)
    sc = consolidate(sc, np.full(3, 1e100), 0.0, 1, ETA)
    assert np.all(np.isfinite(sc.chol)) and np.all(np.diag(sc.chol) > 0)
    assert np.all(np.isfinite(log_likelihoods([sc], np.array([[0.0, 1.0, -1.0]]))))


def test_default_log_tau_is_the_fresh_schema_q_contour() -> None:
    d, eps, q = 9, 0.05, 0.99
    log_tau = default_log_tau(d, eps, q)
    chi2 = scipy.stats.chi2.ppf(q, d)
    assert log_tau == pytest.approx(-0.5 * (d * math.log(4 * math.pi * eps) + chi2), rel=1e-14)
    sc = create("schema-0-0", np.zeros(d), 0.0, 0, eps)
    unit = np.ones(d) / 3.0  # |unit| = 1
    radius = math.sqrt(2 * eps * chi2)
    assert assign([sc], unit * radius * (1 - 1e-9), log_tau) == 0
    assert assign([sc], unit * radius * (1 + 1e-9), log_tau) is None
    assert log_likelihoods([sc], (unit * radius)[None, :])[0, 0] == pytest.approx(log_tau)


def test_assign_empty_tie_and_threshold() -> None:
    a = create("schema-0-0", np.zeros(2), 0.0, 0, 1.0)
    b = create("schema-0-1", np.zeros(2), 0.0, 0, 1.0)
    c = create("schema-0-2", np.array([5.0, 5.0]), 0.0, 0, 1.0)
    s = np.array([0.2, -0.1])
    assert assign([], s, -1e9) is None
    assert assign([c, b, a], s, -1e9) == 1  # b and a tie exactly; the lower index wins
    assert assign([c, a], np.array([4.0, 4.5]), -1e9) == 0
    ll = float(log_likelihoods([a], s[None, :])[0, 0])
    assert assign([a], s, ll) == 0  # equal to tau is a match: only "< tau" creates
    assert assign([a], s, math.nextafter(ll, math.inf)) is None


def test_contract_violations_raise() -> None:
    sc = create("schema-0-0", np.zeros(2), 0.0, 10, 0.1)
    with pytest.raises(ValueError):
        create("x", np.array([0.0, np.nan]), 0.0, 0, 0.1)
    with pytest.raises(ValueError):
        create("x", np.zeros(2), 0.0, 0, 0.0)
    with pytest.raises(ValueError):
        consolidate(sc, np.zeros(3), 0.0, 11, ETA)
    with pytest.raises(ValueError):
        consolidate(sc, np.zeros(2), 0.0, 9, ETA)  # back in simulated time
    with pytest.raises(ValueError):
        consolidate(sc, np.full(2, 1e300), 0.0, 11, ETA)  # (s - mu)(s - mu)^T overflows
    with pytest.raises(ValueError):
        log_likelihoods([sc], np.array([[np.inf, 0.0]]))
    with pytest.raises(ValueError):
        log_likelihoods([sc], np.zeros((1, 3)))
    with pytest.raises(ValueError):
        Schema("x", np.zeros(2), np.array([[1.0, 0.5], [0.4, 1.0]]), 1, 0.0, 0, 0, 0.1)
    assert log_likelihoods([], np.zeros((4, 2))).shape == (4, 0)


def test_schema_index_assigns_like_assign_as_schemas_change() -> None:
    from janus_sim.core.neocortex import SchemaIndex, assign, consolidate, create

    rng = np.random.default_rng(4)
    schemas = [create(f"s{k}", rng.normal(0, 3, 5), 0.0, 0, 0.05) for k in range(3)]
    index = SchemaIndex(schemas, 5)
    log_tau = -40.0
    for step in range(300):
        s = rng.normal(0, 3, 5)
        got = index.assign(s, log_tau)
        assert got == assign(index.schemas, s, log_tau)
        if got is None:
            index.put(len(index.schemas), create(f"n{step}", s, 0.0, step, 0.05))
        else:
            index.put(got, consolidate(index.schemas[got], s, 0.0, step, ETA))
    assert len(index.schemas) > 8  # the stacked arrays grew past their first size
