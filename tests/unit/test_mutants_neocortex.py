"""Neocortex behaviour the older tests left open (found by mutation testing, QUALITY.md):
each contract violation is refused with its own message, and the boundaries of eta,
time and the tau_schema parameters are where the docstrings put them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from janus_sim.core.neocortex import (
    Schema,
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
