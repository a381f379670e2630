"""Agent behaviour the older tests left open (found by mutation testing, QUALITY.md): the
initial weights' law, the softmax's temperature, stability and mask, and the trading cost."""

from __future__ import annotations

import math
from typing import Any

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


def test_the_default_position_is_flat() -> None:
    # Position 0 within a limit of 1: every action allowed (from 1, buying would not be).
    assert {
        choose_action(_PARAMS, np.zeros(2), 1.0, _Draws(0.0, u), limit=1)  # type: ignore[arg-type]
        for u in (0.0, 0.5, 0.99)
    } == {0, 1, 2}
    assert {
        choose_action(_PARAMS, np.zeros(2), 1.0, _Draws(0.0, u), risk_cap=0)  # type: ignore[arg-type]
        for u in (0.0, 0.99)
    } == {1}


def test_td_errors_bootstrap_on_the_target_when_one_is_given() -> None:
    rng = np.random.default_rng(8)
    params, target = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    s, s2 = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    actions, rewards = np.array([0, 1, 2, 1]), rng.normal(size=4)
    dones = np.array([0.0, 0.0, 1.0, 0.0])
    td = td_errors(params, s, actions, rewards, s2, dones, 0.9, target=target)
    for i in range(4):
        q_next = max(float(target[a, :2] @ s2[i] + target[a, 2]) for a in range(3))
        q = float(params[actions[i], :2] @ s[i] + params[actions[i], 2])
        expected = rewards[i] + 0.9 * (1.0 - dones[i]) * q_next - q
        assert math.isclose(td[i], expected, rel_tol=1e-12, abs_tol=1e-12)


_RULES = ConstraintSet.compile(
    [
        Constraint(name="c1", formula="crash -> not adds_exposure", weight=1.5),
        Constraint(name="c2", formula="high_vol -> holds"),
    ],
    Predicates(),
    3,
)


def _batch(seed: int) -> dict[str, np.ndarray]:
    """A batch of 6 transitions whose states keep |x|^2 within (1, 2) and whose
    importance weights sum to less than 1."""
    rng = np.random.default_rng(seed)
    b = 6
    ctx = np.column_stack(
        [rng.uniform(-4, 1, b), rng.uniform(0, 3, b), np.zeros(b), [3, 2, -3, 0, 1, -2]]
    )
    return {
        "states": rng.uniform(-0.3, 0.3, size=(b, 2)),
        "actions": np.array([2, 2, 0, 1, 2, 0]),
        "rewards": rng.normal(size=b),
        "next_states": rng.uniform(-0.3, 0.3, size=(b, 2)),
        "dones": np.zeros(b),
        "ctx": ctx,
        "weights": rng.uniform(0.05, 0.15, size=b),
    }


def _step(params: np.ndarray, batch: dict[str, np.ndarray], **kw: Any) -> Any:
    settings: dict[str, Any] = {
        "gamma": 0.9,
        "learning_rate": 0.1,
        "logic_weight": 0.0,
        "temperature": 0.5,
        "grad_clip": 1e6,
        "position_limit": 3,
    }
    settings.update(kw)
    return policy_step(
        params,
        batch["states"],
        batch["actions"],
        batch["rewards"],
        batch["next_states"],
        batch["dones"],
        batch["ctx"],
        batch["weights"],
        _RULES,
        **settings,
    )


def _reach(batch: dict[str, np.ndarray]) -> float:
    """The NLMS normalizer: the weighted mean of |x|^2 over the batch (x with its bias)."""
    x_sq = np.sum(batch["states"] ** 2, axis=1) + 1.0
    return float(np.sum(batch["weights"] * x_sq) / np.sum(batch["weights"]))


def _numerical_gradient(loss: Any, params: np.ndarray, h: float = 1e-6) -> np.ndarray:
    grad = np.zeros_like(params)
    for idx in np.ndindex(params.shape):
        up, down = params.copy(), params.copy()
        up[idx] += h
        down[idx] -= h
        grad[idx] = (loss(up) - loss(down)) / (2 * h)
    return grad


def test_the_td_step_descends_the_reported_td_loss_normalized_by_the_weights_sum() -> None:
    # With the target held fixed the semi-gradient is the exact gradient of the TD loss
    # 1/B sum w delta^2 / 2; the step divides by sum(w) instead of B (the weighted mean),
    # and by the NLMS reach when it exceeds 1.
    batch, rng = _batch(1), np.random.default_rng(2)
    params, target = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    step = _step(params, batch, target=target)
    b, w = len(batch["actions"]), batch["weights"]
    assert np.sum(w) < 1.0 and 1.0 < _reach(batch) < 2.0
    assert math.isclose(step.td_loss, float(np.sum(w * step.td**2) / (2 * b)), rel_tol=1e-12)
    assert step.logic_loss == 0.0  # logic_weight 0: the rules are not evaluated

    def td_loss(p: np.ndarray) -> float:
        return float(_step(p, batch, target=target).td_loss)

    expected = _numerical_gradient(td_loss, params) * b / np.sum(w)
    taken = (params - step.params) / (0.1 / _reach(batch))
    assert np.allclose(taken, expected, rtol=1e-6, atol=1e-9)
    assert math.isclose(step.grad_norm, float(np.linalg.norm(expected)), rel_tol=1e-6)


def test_the_logic_step_descends_the_logic_loss_through_the_tempered_softmax() -> None:
    # Rewards equal to Q(s, a) at terminal transitions make every TD error exactly zero,
    # so the step is the logic gradient alone: (B / sum w) d L_logic / d params.
    batch, rng = _batch(3), np.random.default_rng(4)
    params = rng.normal(size=(3, 3))
    batch["dones"] = np.ones(6)
    batch["rewards"] = q_values(params, batch["states"])[np.arange(6), batch["actions"]]
    step = _step(params, batch, logic_weight=2.0, temperature=0.5)
    assert np.all(step.td == 0.0) and step.td_loss == 0.0 and step.logic_loss > 0.0

    def logic_loss(p: np.ndarray) -> float:
        return float(_step(p, batch, logic_weight=2.0, temperature=0.5).logic_loss)

    b, w = 6, batch["weights"]
    expected = 2.0 * _numerical_gradient(logic_loss, params) * b / np.sum(w)
    assert np.max(np.abs(expected)) > 1e-3  # the rules do pull on these parameters
    taken = (params - step.params) / (0.1 / _reach(batch))
    assert np.allclose(taken, expected, rtol=1e-6, atol=1e-9)


def test_no_logic_loss_without_rules_or_without_their_weight() -> None:
    batch = _batch(5)
    params = np.random.default_rng(6).normal(size=(3, 3))
    assert _step(params, batch, logic_weight=0.0).logic_loss == 0.0
    no_rules = ConstraintSet.compile([], Predicates(), 3)
    step = policy_step(
        params,
        batch["states"],
        batch["actions"],
        batch["rewards"],
        batch["next_states"],
        batch["dones"],
        batch["ctx"],
        batch["weights"],
        no_rules,
        gamma=0.9,
        learning_rate=0.1,
        logic_weight=1.0,
        temperature=0.5,
        grad_clip=1e6,
    )
    assert step.logic_loss == 0.0
    assert _step(params, batch, logic_weight=1.0).logic_loss > 0.0


def test_zero_weights_take_no_step_and_stay_finite() -> None:
    batch = _batch(7)
    batch["weights"] = np.zeros(6)
    params = np.random.default_rng(8).normal(size=(3, 3))
    step = _step(params, batch, logic_weight=1.0)
    assert np.array_equal(step.params, params)
    assert step.grad_norm == 0.0 and step.td_loss == 0.0 and step.logic_loss == 0.0
