"""Agent behaviour the older tests left open (found by mutation testing, QUALITY.md): the
initial weights' law, the softmax's temperature, stability and mask, and the trading cost."""

from __future__ import annotations

import math

import numpy as np
import pytest

from janus_sim.config import Constraint, Predicates
from janus_sim.core.agent import (
    ACTION_DELTA,
    allowed_actions,
    choose_action,
    init_params,
    policy_step,
    q_values,
    softmax,
    step_reward,
    td_errors,
)
from janus_sim.core.logic import ConstraintSet


def test_initial_weights_are_n_0_0_01_draws_and_the_bias_is_zero() -> None:
    params = init_params(4, np.random.default_rng(3))
    expected = np.random.default_rng(3).normal(0.0, 0.01, size=(3, 4))
    assert params.shape == (3, 5)
    assert np.array_equal(params[:, :4], expected)
    assert params[:, 4].tolist() == [0.0, 0.0, 0.0]


def test_softmax_divides_by_the_temperature() -> None:
    p = softmax(np.array([[0.0, 1.0, 2.0]]), 0.5)
    e = [math.exp(0.0), math.exp(2.0), math.exp(4.0)]
    assert np.allclose(p, [[v / sum(e) for v in e]], rtol=1e-12, atol=0.0)


def test_softmax_is_stable_per_row_for_large_and_distant_values() -> None:
    # Each row is shifted by its own maximum: a row near 1000 and a row near 0 both stay
    # finite, which a shift by the sum of maxima or by the global maximum would not.
    p = softmax(np.array([[1000.0, 999.0, 998.0], [0.0, -1.0, -2.0]]), 1.0)
    assert np.all(np.isfinite(p))
    assert np.allclose(p[0], p[1], rtol=1e-12, atol=0.0)
    assert np.allclose(p.sum(axis=1), 1.0, rtol=0.0, atol=1e-15)


def test_masked_actions_get_probability_exactly_zero() -> None:
    mask = np.array([[True, False, True], [False, True, False]])
    p = softmax(np.array([[0.3, 5.0, -0.2], [1.0, 2.0, 3.0]]), 0.7, mask)
    assert p[0, 1] == 0.0 and p[1, 0] == 0.0 and p[1, 2] == 0.0
    assert p[1, 1] == 1.0
    assert math.isclose(p[0].sum(), 1.0, rel_tol=1e-15)


def test_the_trading_cost_is_the_traded_units_times_the_cost_in_basis_points() -> None:
    # 2 units bought at 100 that close at 101: +2 % of price, minus 2 x 5 bp = 0.1 %.
    assert math.isclose(step_reward(0, 2, 100.0, 101.0, 5.0), 2.0 - 0.1, rel_tol=1e-12)


class _Draws:
    """A generator stand-in whose ``random()`` returns the given numbers in turn."""

    def __init__(self, *values: float) -> None:
        self.values = list(values)

    def random(self) -> float:
        return self.values.pop(0)


_PARAMS = np.zeros((3, 3))  # every Q equal: greedy picks action 0


def _explored(position: int, limit: int | None, cap: int | None) -> set[int]:
    """The actions exploration can pick (epsilon 1, picks spread over [0, 1))."""
    return {
        choose_action(_PARAMS, np.zeros(2), 1.0, _Draws(0.0, u), position, limit, cap)  # type: ignore[arg-type]
        for u in (0.0, 0.34, 0.67, 0.99)
    }


def test_exploration_picks_uniformly_among_the_allowed_actions() -> None:
    assert _explored(0, None, None) == {0, 1, 2}
    picks = [
        choose_action(_PARAMS, np.zeros(2), 1.0, _Draws(0.0, u))  # type: ignore[arg-type]
        for u in (0.0, 0.3, 0.34, 0.66, 0.67, 0.999999)
    ]
    assert picks == [0, 0, 1, 1, 2, 2]


def test_epsilon_zero_never_explores_even_on_a_zero_draw() -> None:
    q = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # greedy: buy
    got = choose_action(q, np.zeros(2), 0.0, _Draws(0.0, 0.0))  # type: ignore[arg-type]
    assert got == 2


def test_raised_risk_keeps_the_limit_and_its_own_boundaries() -> None:
    assert _explored(0, None, 1) == {0, 1, 2}  # works without a position limit
    assert _explored(3, 3, 5) == {0, 1}  # the limit still forbids the buy
    assert _explored(1, 3, 2) == {0, 1, 2}  # exposure up to the cap is allowed
    assert _explored(3, 3, 1) == {0, 1}  # holding an exposure above the cap is allowed


def test_policy_step_bootstraps_on_the_target_and_masks_by_the_position_limit() -> None:
    rng = np.random.default_rng(4)
    b, d = 6, 2
    params, target = rng.normal(size=(3, d + 1)), rng.normal(size=(3, d + 1))
    s, s2 = rng.normal(size=(b, d)), rng.normal(size=(b, d))
    actions = np.array([2, 2, 0, 1, 2, 0])
    rewards, dones = rng.normal(size=b), np.zeros(b)
    ctx = np.column_stack([np.full(b, -3.0), np.ones(b), np.zeros(b), [3, 2, -3, 0, 3, -2]])
    weights = rng.uniform(0.2, 1.0, size=b)
    rules = ConstraintSet.compile(
        [Constraint(name="c1", formula="crash -> not adds_exposure")], Predicates(), 3
    )
    step = policy_step(
        params,
        s,
        actions,
        rewards,
        s2,
        dones,
        ctx,
        weights,
        rules,
        gamma=0.9,
        learning_rate=0.1,
        logic_weight=1.0,
        temperature=0.5,
        grad_clip=100.0,
        target=target,
        position_limit=3,
    )
    pos = ctx[:, 3].astype(np.int64)
    expected_td = td_errors(
        params,
        s,
        actions,
        rewards,
        s2,
        dones,
        0.9,
        target=target,
        next_mask=allowed_actions(pos + ACTION_DELTA[actions], 3),
    )
    assert np.array_equal(step.td, expected_td)
    pi = softmax(q_values(params, s), 0.5, allowed_actions(pos, 3))
    truth = rules.truth(ctx, pi)
    expected_logic = float(np.sum(weights * (1.0 - truth[:, 0])) / b)
    assert step.logic_loss == pytest.approx(expected_logic, rel=1e-12)
