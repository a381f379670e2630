"""The simulated forward path: a linear Q-function, epsilon-greedy actions, PnL rewards.

``params`` is a (3, d + 1) array: one row per action (sell, hold, buy), the last column a
bias. The policy update of the sleep cycle minimizes the importance-weighted TD loss plus
the logic loss (eq. 11, Algorithm 2 line 5); gradients are exact and hand-derived:

* TD loss    L_td    = 1/B * sum_i w_i * delta_i^2 / 2   (semi-gradient: the target is fixed)
* logic loss L_logic = 1/B * sum_i w_i * sum_c w_c * (1 - truth_c(s_i, pi_i))
  where pi = softmax(Q(s) / T) and truth_c is the constraint's fuzzy truth with the
  action predicates read as expectations under pi.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from janus_sim.core import detmath as dm

if TYPE_CHECKING:
    from janus_sim.core.logic import ConstraintSet

N_ACTIONS = 3
ACTION_DELTA = np.array([-1, 0, 1], dtype=np.int64)


def init_params(d: int, rng: np.random.Generator) -> np.ndarray:
    """Small random weights, zero bias."""
    params = np.zeros((N_ACTIONS, d + 1))
    params[:, :d] = rng.normal(0.0, 0.01, size=(N_ACTIONS, d))
    return params


def q_values(params: np.ndarray, states: np.ndarray) -> np.ndarray:
    """Q(s, .) for a (n, d) batch of states: (n, 3)."""
    return dm.matmul(states, params[:, :-1].T) + params[:, -1]


def choose_action(
    params: np.ndarray, state: np.ndarray, epsilon: float, rng: np.random.Generator
) -> int:
    """Epsilon-greedy. Always draws two variates so the stream does not depend on the branch;
    greedy ties go to the lowest action index."""
    explore = rng.random() < epsilon
    random_action = int(rng.integers(N_ACTIONS))
    if explore:
        return random_action
    return int(np.argmax(q_values(params, state[None, :])[0]))


def next_position(position: int, action: int, max_position: int) -> int:
    return int(np.clip(position + ACTION_DELTA[action], -max_position, max_position))


def step_reward(
    position: int, new_position: int, price: float, next_price: float, cost_bps: float
) -> float:
    """PnL of holding ``new_position`` over the bar, in percent of price, minus trading costs."""
    pnl = new_position * (next_price / price - 1.0) * 100.0
    cost = abs(new_position - position) * cost_bps / 100.0
    return float(pnl - cost)


def td_errors(
    params: np.ndarray,
    states: np.ndarray,
    actions: np.ndarray,
    rewards: np.ndarray,
    next_states: np.ndarray,
    dones: np.ndarray,
    gamma: float,
) -> np.ndarray:
    """delta = r + gamma * (1 - done) * max_a' Q(s', a') - Q(s, a), vectorized.

    The spec writes the target with the next action actually taken (SARSA); replay is
    off-policy, so the Q-learning target is used instead.
    """
    q = q_values(params, states)[np.arange(len(actions)), actions]
    q_next = q_values(params, next_states).max(axis=1)
    return np.asarray(rewards + gamma * (1.0 - dones) * q_next - q)


def softmax(q: np.ndarray, temperature: float) -> np.ndarray:
    z = q / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = dm.exp(z)
    out: np.ndarray = e / e.sum(axis=1, keepdims=True)
    return out


@dataclass(frozen=True, slots=True)
class PolicyStep:
    params: np.ndarray
    td: np.ndarray
    """TD errors of the batch before the step (what the priorities are updated with)."""
    td_loss: float
    logic_loss: float
    grad_norm: float


def policy_step(
    params: np.ndarray,
    states: np.ndarray,
    actions: np.ndarray,
    rewards: np.ndarray,
    next_states: np.ndarray,
    dones: np.ndarray,
    ctx: np.ndarray,
    weights: np.ndarray,
    constraints: ConstraintSet,
    *,
    gamma: float,
    learning_rate: float,
    logic_weight: float,
    temperature: float,
    grad_clip: float,
) -> PolicyStep:
    """One importance-weighted gradient step on TD loss + logic loss (eq. 11).

    The gradient's norm is clipped to ``grad_clip``; the returned params are new arrays.
    """
    b = len(actions)
    x = np.hstack([states, np.ones((b, 1))])
    td = td_errors(params, states, actions, rewards, next_states, dones, gamma)
    td_loss = float(np.sum(weights * td * td) / (2 * b))
    # dL_td/dQ(s,a) = -w * delta / B on the taken action only.
    dq = np.zeros((b, N_ACTIONS))
    dq[np.arange(b), actions] = -weights * td / b

    logic_loss = 0.0
    if logic_weight > 0 and constraints.names:
        q = q_values(params, states)
        pi = softmax(q, temperature)
        truth, jac = constraints.truth_and_grad(ctx, pi)
        cw = np.asarray(constraints.weights, dtype=float)
        logic_loss = float(np.sum(weights * dm.matmul(1.0 - truth, cw)) / b)
        # dL/dpi = -(1/B) w_i sum_c w_c dtruth_c/dpi; back through softmax/T.
        dtruth = np.zeros((b, N_ACTIONS))
        for c in range(len(cw)):  # constraints in declared order: a fixed summation order
            dtruth += cw[c] * jac[:, c, :]
        g_pi = -(weights[:, None] * dtruth) / b
        g_q = pi * (g_pi - np.sum(g_pi * pi, axis=1, keepdims=True)) / temperature
        dq += logic_weight * g_q

    grad = dm.matmul(dq.T, x)
    norm = dm.norm(grad)
    if norm > grad_clip:
        grad = grad * (grad_clip / norm)
    return PolicyStep(
        params=params - learning_rate * grad,
        td=td,
        td_loss=td_loss,
        logic_loss=logic_loss,
        grad_norm=norm,
    )
