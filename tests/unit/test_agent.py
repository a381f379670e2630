"""The Q-function, rewards and the importance-weighted policy step (eq. 11)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from janus_sim.config import Constraint, Predicates
from janus_sim.core.agent import (
    ACTION_DELTA,
    PolicyStep,
    allowed_actions,
    choose_action,
    combine_gradients,
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


def _losses(
    params: np.ndarray, batch: dict[str, np.ndarray], td_fixed: np.ndarray
) -> tuple[float, float]:
    """(TD loss with a frozen target (semi-gradient), logic loss), computed directly, each
    an importance-weighted mean (divided by the weights' sum)."""
    b = len(batch["actions"])
    w = batch["weights"]
    q = q_values(params, batch["states"])[np.arange(b), batch["actions"]]
    target = td_fixed + q_values(np.asarray(P0), batch["states"])[np.arange(b), batch["actions"]]
    td_loss = float(np.sum(w * (target - q) ** 2) / (2 * w.sum()))
    pi = softmax(q_values(params, batch["states"]), 1.0)
    truth = RULES.truth(batch["ctx"], pi)
    logic = float(np.sum(w * ((1 - truth) @ np.array(RULES.weights))) / w.sum())
    return td_loss, logic


def _reach(batch: dict[str, np.ndarray]) -> float:
    """The NLMS normalizer: the weighted mean squared norm of the inputs [s, 1]."""
    x = np.hstack([batch["states"], np.ones((len(batch["actions"]), 1))])
    w = batch["weights"]
    return float(np.sum(w * (x * x).sum(axis=1)) / w.sum())


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


def test_policy_step_is_the_combined_gradient_of_the_two_losses() -> None:
    """The step is lr / max(1, reach) times g_td + g_logic, the logic gradient stripped of
    its component against g_td when they conflict; each gradient by finite differences."""
    for seed in (3, 7, 11):
        rng = np.random.default_rng(seed)
        batch = _batch(rng)
        params = rng.normal(0, 0.3, size=(3, 6))
        P0[:] = params.tolist()
        step = _policy_step(params, batch, grad_clip=1e9)
        td0 = td_errors(
            params,
            batch["states"],
            batch["actions"],
            batch["rewards"],
            batch["next_states"],
            batch["dones"],
            0.9,
        )
        g_td, g_logic = np.zeros_like(params), np.zeros_like(params)
        h = 1e-6
        for idx in np.ndindex(params.shape):
            up, down = params.copy(), params.copy()
            up[idx] += h
            down[idx] -= h
            (tu, lu), (td, ld) = _losses(up, batch, td0), _losses(down, batch, td0)
            g_td[idx], g_logic[idx] = (tu - td) / (2 * h), (lu - ld) / (2 * h)
        inner = float(np.sum(g_td * g_logic))
        if inner < 0:
            g_logic = g_logic - inner / float(np.sum(g_td * g_td)) * g_td
        expected = (g_td + g_logic) / max(1.0, _reach(batch))
        np.testing.assert_allclose(params - step.params, expected, rtol=1e-5, atol=1e-7)
        assert step.logic_loss > 0 and step.td_loss > 0


@given(
    st.lists(st.floats(-10, 10), min_size=6, max_size=6),
    st.lists(st.floats(-10, 10), min_size=6, max_size=6),
)
def test_the_combined_gradient_never_opposes_the_td_gradient(
    td: list[float], logic: list[float]
) -> None:
    g_td, g_logic = np.array(td).reshape(2, 3), np.array(logic).reshape(2, 3)
    total = combine_gradients(g_td, g_logic)
    # A descent direction for the TD loss stays one: <total, g_td> >= |g_td|^2 (up to rounding).
    sq = float(np.sum(g_td * g_td))
    assert float(np.sum(total * g_td)) >= sq - 1e-9 * (1 + sq + float(np.sum(g_logic**2)))


def test_gradient_is_clipped() -> None:
    rng = np.random.default_rng(4)
    batch = _batch(rng)
    params = rng.normal(0, 3.0, size=(3, 6))
    step = _policy_step(params, batch, grad_clip=0.5)
    assert np.linalg.norm(params - step.params) == pytest.approx(0.5 / max(1.0, _reach(batch)))
    assert step.grad_norm > 0.5


@given(st.integers(-3, 3), st.floats(0, 1), st.integers(0, 2**32 - 1))
def test_actions_never_take_the_position_past_the_limit(
    position: int, epsilon: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    params = rng.normal(size=(3, 4))
    a = choose_action(params, rng.normal(size=3), epsilon, rng, position=position, limit=3)
    assert abs(position + int(ACTION_DELTA[a])) <= 3
    mask = allowed_actions(np.array([position]), 3)[0]
    assert mask[1] and mask[a]


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
