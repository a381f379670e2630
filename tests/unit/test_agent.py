"""The Q-function, rewards and the importance-weighted policy step (eq. 11)."""

from __future__ import annotations

import numpy as np
import pytest

from janus_sim.config import Constraint, Predicates
from janus_sim.core.agent import (
    PolicyStep,
    choose_action,
    next_position,
    policy_step,
    q_values,
    softmax,
    step_reward,
    td_errors,
)
from janus_sim.core.logic import ConstraintSet

RULES = ConstraintSet.compile(
    [
        Constraint(name="c1", formula="crash -> not adds_exposure", weight=1.5),
        Constraint(name="c2", formula="not exceeds_limit"),
    ],
    Predicates(),
    3,
)


def _batch(rng: np.random.Generator, b: int = 16, d: int = 5) -> dict[str, np.ndarray]:
    return {
        "states": rng.normal(size=(b, d)),
        "actions": rng.integers(0, 3, size=b),
        "rewards": rng.normal(size=b),
        "next_states": rng.normal(size=(b, d)),
        "dones": (rng.random(b) < 0.2).astype(float),
        "ctx": np.column_stack(
            [
                rng.normal(-1, 1, b),
                rng.random(b),
                rng.random(b) * 5,
                rng.integers(-4, 5, b).astype(float),
            ]
        ),
        "weights": rng.uniform(0.1, 1.0, size=b),
    }


def _loss(params: np.ndarray, batch: dict[str, np.ndarray], td_fixed: np.ndarray) -> float:
    """TD loss with a frozen target (semi-gradient) + logic loss, computed directly."""
    b = len(batch["actions"])
    w = batch["weights"]
    q = q_values(params, batch["states"])[np.arange(b), batch["actions"]]
    target = td_fixed + q_values(np.asarray(P0), batch["states"])[np.arange(b), batch["actions"]]
    td_loss = float(np.sum(w * (target - q) ** 2) / (2 * b))
    pi = softmax(q_values(params, batch["states"]), 1.0)
    truth = RULES.truth(batch["ctx"], pi)
    logic = float(np.sum(w * ((1 - truth) @ np.array(RULES.weights))) / b)
    return td_loss + logic


P0: list[list[float]] = []


def _policy_step(params: np.ndarray, batch: dict[str, np.ndarray], grad_clip: float) -> PolicyStep:
    """``policy_step`` on a ``_batch`` with gamma 0.9 and unit rate, weight and temperature
    (so the step is minus the gradient), each array passed to its own parameter by name."""
    return policy_step(
        params,
        batch["states"],
        batch["actions"],
        batch["rewards"],
        batch["next_states"],
        batch["dones"],
        batch["ctx"],
        batch["weights"],
        RULES,
        gamma=0.9,
        learning_rate=1.0,
        logic_weight=1.0,
        temperature=1.0,
        grad_clip=grad_clip,
    )


def test_policy_step_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(3)
    batch = _batch(rng)
    params = rng.normal(0, 0.3, size=(3, 6))
    P0[:] = params.tolist()
    step = _policy_step(params, batch, grad_clip=1e9)
    grad = params - step.params  # lr = 1
    td0 = td_errors(
        params,
        batch["states"],
        batch["actions"],
        batch["rewards"],
        batch["next_states"],
        batch["dones"],
        0.9,
    )
    num = np.zeros_like(params)
    h = 1e-6
    for idx in np.ndindex(params.shape):
        up, down = params.copy(), params.copy()
        up[idx] += h
        down[idx] -= h
        num[idx] = (_loss(up, batch, td0) - _loss(down, batch, td0)) / (2 * h)
    np.testing.assert_allclose(grad, num, rtol=1e-5, atol=1e-7)
    assert step.logic_loss > 0 and step.td_loss > 0


def test_gradient_is_clipped() -> None:
    rng = np.random.default_rng(4)
    batch = _batch(rng)
    params = rng.normal(0, 3.0, size=(3, 6))
    step = _policy_step(params, batch, grad_clip=0.5)
    assert np.linalg.norm(params - step.params) == pytest.approx(0.5)
    assert step.grad_norm > 0.5


def test_td_errors_match_a_loop() -> None:
    rng = np.random.default_rng(5)
    b = _batch(rng)
    params = rng.normal(size=(3, 6))
    td = td_errors(
        params, b["states"], b["actions"], b["rewards"], b["next_states"], b["dones"], 0.95
    )
    for i in range(len(td)):
        q = params[:, :-1] @ b["states"][i] + params[:, -1]
        qn = params[:, :-1] @ b["next_states"][i] + params[:, -1]
        expected = b["rewards"][i] + 0.95 * (1 - b["dones"][i]) * qn.max() - q[b["actions"][i]]
        assert td[i] == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_reward_is_pnl_minus_costs() -> None:
    assert step_reward(0, 1, 100.0, 101.0, 1.0) == pytest.approx(1.0 - 0.01)
    assert step_reward(2, 2, 100.0, 99.0, 1.0) == pytest.approx(-2.0)
    assert next_position(6, 2, 6) == 6 and next_position(-6, 0, 6) == -6


def test_epsilon_greedy_is_greedy_at_zero_and_draws_a_fixed_number_of_variates() -> None:
    params = np.zeros((3, 3))
    params[2, -1] = 1.0  # buy is greedy
    a = np.random.default_rng(1)
    b = np.random.default_rng(1)
    assert choose_action(params, np.zeros(2), 0.0, a) == 2
    choose_action(params, np.zeros(2), 1.0, b)
    assert a.random() == b.random()  # same stream position either branch
