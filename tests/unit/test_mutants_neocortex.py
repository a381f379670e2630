"""Neocortex behaviour the older tests left open (found by mutation testing, QUALITY.md):
each contract violation is refused with its own message, and the boundaries of eta,
time and the tau_schema parameters are where the docstrings put them."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pytest

from janus_sim.core.neocortex import (
    Schema,
    SchemaIndex,
    consolidate,
    create,
    default_log_tau,
    log_likelihoods,
    prunable,
)

NAN, INF = float("nan"), float("inf")


def _schema(**change: Any) -> Schema:
    fields: dict[str, Any] = {
        "id": "s",
        "mean": np.zeros(2),
        "cov": np.eye(2),
        "n_points": 1,
        "avg_reward": 0.0,
        "created_ns": 5,
        "updated_ns": 5,
        "eps": 0.1,
    }
    fields.update(change)
    return Schema(**fields)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"mean": np.zeros((2, 1))}, "mean must be (d,) and cov (d, d), got (2, 1), (2, 2)"),
        (
            {"mean": np.zeros(0), "cov": np.zeros((0, 0))},
            "mean must be (d,) and cov (d, d), got (0,), (0, 0)",
        ),
        ({"cov": np.eye(3)}, "mean must be (d,) and cov (d, d), got (2,), (3, 3)"),
        ({"mean": np.array([0.0, NAN])}, "schema moments must be finite"),
        ({"cov": np.array([[1.0, 0.0], [0.0, INF]])}, "schema moments must be finite"),
        ({"cov": np.array([[1.0, 0.5], [0.4, 1.0]])}, "cov must be exactly symmetric"),
        ({"eps": 0.0}, "eps must be finite and > 0, got 0.0"),
        ({"eps": -1.0}, "eps must be finite and > 0, got -1.0"),
        ({"eps": INF}, "eps must be finite and > 0, got inf"),
        ({"eps": NAN}, "eps must be finite and > 0, got nan"),
        ({"n_points": 0}, "n_points must be >= 1 and updated_ns >= created_ns"),
        ({"updated_ns": 4}, "n_points must be >= 1 and updated_ns >= created_ns"),
    ],
)
def test_schema_contract_violations_name_the_problem(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as err:
        _schema(**change)
    assert str(err.value) == message


def test_a_schema_at_the_contract_boundaries_is_accepted() -> None:
    sc = _schema(n_points=1, updated_ns=5, eps=5e-324)
    assert sc.dim == 2 and sc.n_points == 1


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (np.zeros(3), "state must have shape (2,), got (3,)"),
        (np.zeros((1, 2)), "state must have shape (2,), got (1, 2)"),
        (np.array([0.0, INF]), "state must be finite"),
        (np.array([NAN, 0.0]), "state must be finite"),
    ],
)
def test_consolidate_refuses_bad_states(state: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError) as err:
        consolidate(_schema(), state, 0.0, 6, 0.5)
    assert str(err.value) == message


def test_create_refuses_a_state_that_is_not_a_vector() -> None:
    with pytest.raises(ValueError) as err:
        create("s", np.zeros((2, 2)), 0.0, 0, 0.1)
    assert str(err.value) == "state must have shape (d,), got (2, 2)"


@pytest.mark.parametrize("eta", [0.0, -0.1, 1.0 + 1e-12, NAN])
def test_consolidate_refuses_eta_outside_the_half_open_unit_interval(eta: float) -> None:
    with pytest.raises(ValueError) as err:
        consolidate(_schema(), np.ones(2), 0.0, 6, eta)
    assert str(err.value) == f"eta must be in (0, 1], got {eta}"


def test_eta_of_one_replaces_the_moments_and_time_may_stand_still() -> None:
    s = np.array([1.0, -2.0])
    out = consolidate(_schema(), s, 3.0, 5, 1.0)  # t_ns == updated_ns is allowed
    assert np.array_equal(out.mean, s)
    assert np.array_equal(out.cov, np.outer(s, s))
    assert (out.n_points, out.avg_reward, out.created_ns, out.updated_ns) == (2, 1.5, 5, 5)


def test_consolidate_messages_for_time_and_overflow() -> None:
    with pytest.raises(ValueError) as err:
        consolidate(_schema(), np.ones(2), 0.0, 4, 0.5)
    assert str(err.value) == "consolidation goes back in simulated time"
    with pytest.raises(ValueError) as err:
        consolidate(_schema(), np.full(2, 1e300), 0.0, 6, 0.5)
    assert str(err.value) == "consolidation overflows float64"


@pytest.mark.parametrize(
    ("states", "message"),
    [
        (np.zeros(2), "states must be (m, d), got (2,)"),
        (np.array([[0.0, NAN]]), "states must be finite"),
        (np.zeros((1, 3)), "states have dimension 3, schema s has 2"),
    ],
)
def test_log_likelihoods_refuse_bad_states(states: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError) as err:
        log_likelihoods([_schema()], states)
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("d", "eps", "q"), [(0, 0.1, 0.5), (2, 0.0, 0.5), (2, 0.1, 0.0), (2, 0.1, 1.0), (2, NAN, 0.5)]
)
def test_default_log_tau_refuses_bad_parameters(d: int, eps: float, q: float) -> None:
    with pytest.raises(ValueError) as err:
        default_log_tau(d, eps, q)
    assert str(err.value) == "need d >= 1, eps > 0 and 0 < q < 1"


def test_default_log_tau_accepts_the_smallest_dimension() -> None:
    assert np.isfinite(default_log_tau(1, 0.1, 0.5))


def test_prunable_refuses_a_time_before_creation_and_accepts_creation_time() -> None:
    with pytest.raises(ValueError) as err:
        prunable(_schema(), 4, 1, 10)
    assert str(err.value) == "now_ns precedes the schema's creation"
    assert prunable(_schema(), 5, 1, 0) is False  # age 0 is not > 0


def test_schema_index_matches_at_exactly_tau_and_checks_the_dimension() -> None:
    a = create("a", np.array([0.5, -1.0]), 0.0, 0, 0.1)
    s = np.array([0.7, -0.8])
    ll = float(log_likelihoods([a], s[None, :])[0, 0])
    index = SchemaIndex([a], 2)
    assert index.assign(s, ll) == 0  # equal to tau is a match, as in assign
    assert index.assign(s, math.nextafter(ll, math.inf)) is None
    with pytest.raises(ValueError) as err:
        index.assign(np.zeros(3), ll)
    assert str(err.value) == "state must have shape (2,), got (3,)"


@pytest.mark.parametrize(("x", "eta"), [(4.922005445293407, 0.1), (6.73918170546694, 0.01)])
def test_joining_a_schema_at_its_own_mean_leaves_the_mean_exactly(x: float, eta: float) -> None:
    # (1 - eta) x + eta x rounds one ulp above x for the first pair, below for the second:
    # the clip to [min(mu, s), max(mu, s)] takes both back to x.
    assert (1.0 - eta) * x + eta * x != x
    out = consolidate(create("a", np.array([x]), 0.0, 0, 0.1), np.array([x]), 0.0, 1, eta)
    assert out.mean.tolist() == [x]


def test_an_overflowing_consolidation_raises_and_warns_nothing() -> None:
    # s - mu overflows to -inf beside a zero, so (s - mu)(s - mu)^T holds -inf * 0 = NaN:
    # both overflow and invalid arithmetic must stay silent until the one clear error.
    sc = create("a", np.array([1e308, 0.0]), 0.0, 0, 0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError) as err:
            consolidate(sc, np.array([-1e308, 0.0]), 0.0, 1, 0.5)
    assert str(err.value) == "consolidation overflows float64"


def test_an_indefinite_covariance_grows_its_ridge_tenfold_until_it_factorizes() -> None:
    # cov has eigenvalues 22 and -20: cov + r I fails for r = 0.1, 1 and 10; r = 100 works.
    cov = np.array([[1.0, 21.0], [21.0, 1.0]])
    sc = Schema("s", np.zeros(2), cov, 1, 0.0, 0, 0, 0.1)
    assert np.allclose(sc.chol @ sc.chol.T, cov + 100.0 * np.eye(2), rtol=0, atol=1e-12)


def test_a_schema_owns_float64_copies_of_its_moments() -> None:
    mean, cov = np.array([1.0, 2.0]), np.eye(2)
    sc = Schema("s", mean, cov, 1, 0.0, 0, 0, 0.1)
    assert mean.flags.writeable and cov.flags.writeable  # the caller's arrays stay theirs
    mean[0] = 5.0
    assert sc.mean.tolist() == [1.0, 2.0] and not sc.mean.flags.writeable
    ints = Schema("t", np.array([1, 2]), np.array([[2, 0], [0, 2]]), 1, 0.0, 0, 0, 0.1)
    assert ints.mean.dtype == np.float64 and ints.cov.dtype == np.float64


def test_a_mean_that_is_not_a_vector_is_refused_even_with_a_matching_cov() -> None:
    with pytest.raises(ValueError) as err:
        _schema(mean=np.zeros((1, 1)), cov=np.eye(1))
    assert str(err.value) == "mean must be (d,) and cov (d, d), got (1, 1), (1, 1)"
