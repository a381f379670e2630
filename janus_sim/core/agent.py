"""The simulated forward path: a linear Q-function, epsilon-greedy actions, PnL rewards.

``params`` is a (3, d + 1) array: one row per action (sell, hold, buy), the last column a
bias. The policy update of the sleep cycle minimizes the importance-weighted TD loss plus
the logic loss (eq. 11, Algorithm 2 line 5); gradients are exact and hand-derived:

* TD loss    L_td    = 1/B * sum_i w_i * delta_i^2 / 2, with
  delta_i = r_i + gamma (1 - done_i) max_{a' allowed} Q_target(s'_i, a') - Q(s_i, a_i):
  the bootstrap reads a *target* network, held fixed while the online parameters move
  (DQN's fix for the moving target: regressing onto a target that shifts with every step
  is what made replay raise the buffer's TD error). ``replay_phase.py`` syncs it.
* logic loss L_logic = 1/B * sum_i w_i * sum_c w_c * (1 - truth_c(s_i, pi_i))
  where pi = softmax(Q(s) / T) over the allowed actions and truth_c is the constraint's
  fuzzy truth with the action predicates read as expectations under pi.

The two gradients are combined so that the logic term can never undo the TD step: when
they conflict (negative inner product), the logic gradient loses its component along the
TD gradient before it is added (a projection in the manner of PCGrad). The TD step is
then never reversed by the rules; the rules still act on every direction the TD loss does
not care about.

Positions are kept within +-``position_limit`` by construction: an action that would
take the position past it is masked out of exploration, of the greedy choice and of the
bootstrap's max (``allowed_actions``). Nothing has to teach the agent the limit, so the
``respect_position_limit`` rule judges intent, not a random walk, and the logic gate is
left to judge the rules the agent can actually break.

``buffer_step`` is that step on transitions in the episodic buffer, as the sleep cycle
takes it: phase 1's replay (``replay_phase.py``) and phase 2's gated update
(``consolidation.py``, eq. 19).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from janus_sim.core import detmath as dm
from janus_sim.core import policy_kernel as pk

if TYPE_CHECKING:
    from janus_sim.config import Agent
    from janus_sim.core.logic import ConstraintSet
    from janus_sim.core.logic_table import ConstraintTable
    from janus_sim.core.state import SimState

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


def allowed_actions(positions: np.ndarray, limit: int) -> np.ndarray:
    """(n, 3) bool: which actions keep each position within +-``limit``. Hold always is
    (positions never leave the band), so every row allows at least one action."""
    nxt = np.asarray(positions, dtype=np.int64)[:, None] + ACTION_DELTA[None, :]
    out: np.ndarray = np.abs(nxt) <= limit
    return out


def _masked(q: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.where(mask, q, -np.inf)


def choose_action(
    params: np.ndarray,
    state: np.ndarray,
    epsilon: float,
    rng: np.random.Generator,
    position: int = 0,
    limit: int | None = None,
    risk_cap: int | None = None,
) -> int:
    """Epsilon-greedy over the actions that keep ``position`` within ``limit`` (all three
    when ``limit`` is None) and, while risk is raised (``risk_cap`` not None), take no
    exposure beyond ``risk_cap`` (holding and reducing stay allowed). Always draws two
    variates so the stream does not depend on the branch; greedy ties go to the lowest
    action index."""
    explore = rng.random() < epsilon
    pick = rng.random()
    mask = (
        np.ones(N_ACTIONS, dtype=bool)
        if limit is None
        else allowed_actions(np.array([position]), limit)[0]
    )
    if risk_cap is not None:
        after = np.abs(position + ACTION_DELTA)
        mask &= (after <= risk_cap) | (after <= abs(position))
    if explore:
        choices = np.flatnonzero(mask)
        return int(choices[min(int(pick * len(choices)), len(choices) - 1)])
    return int(np.argmax(_masked(q_values(params, state[None, :])[0], mask)))


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
    *,
    target: np.ndarray | None = None,
    next_mask: np.ndarray | None = None,
) -> np.ndarray:
    """delta = r + gamma * (1 - done) * max_{a' allowed} Q_target(s', a') - Q(s, a).

    ``target`` defaults to ``params`` (no target network), ``next_mask`` to every action.
    The spec writes the target with the next action actually taken (SARSA); replay is
    off-policy, so the Q-learning target is used instead.
    """
    q = q_values(params, states)[np.arange(len(actions)), actions]
    q_next_all = q_values(params if target is None else target, next_states)
    if next_mask is not None:
        q_next_all = _masked(q_next_all, next_mask)
    q_next = q_next_all.max(axis=1)
    return np.asarray(rewards + gamma * (1.0 - dones) * q_next - q)


def softmax(q: np.ndarray, temperature: float, mask: np.ndarray | None = None) -> np.ndarray:
    """Row-wise softmax of Q / T; masked actions get probability exactly 0."""
    z = q / temperature
    if mask is not None:
        z = np.where(mask, z, -np.inf)
    z = z - z.max(axis=1, keepdims=True)
    e = np.where(np.isfinite(z), dm.exp(np.where(np.isfinite(z), z, 0.0)), 0.0)
    out: np.ndarray = e / e.sum(axis=1, keepdims=True)
    return out


Logic = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
"""The constraints' truths ``(B, C)`` and jacobians ``(B, C, 3)`` of a batch under a policy
``pi`` ``(B, 3)`` (``ConstraintSet.truth_and_grad`` with the batch's context bound)."""


@dataclass(frozen=True, slots=True)
class PolicyStep:
    params: np.ndarray
    td: np.ndarray
    """TD errors of the batch before the step (what the priorities are updated with)."""
    td_loss: float
    logic_loss: float
    grad_norm: float


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    return float(dm.matmul(a.reshape(-1), b.reshape(-1)))


def combine_gradients(g_td: np.ndarray, g_logic: np.ndarray) -> np.ndarray:
    """g_td + g_logic, the logic gradient first stripped of its component against g_td
    when the two conflict (their inner product is negative): the sum then never points
    uphill for the TD loss where g_td alone points downhill."""
    inner = _dot(g_td, g_logic)
    if inner < 0.0:
        sq = _dot(g_td, g_td)
        if sq > 0.0:
            g_logic = g_logic - (inner / sq) * g_td
    return g_td + g_logic


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
    target: np.ndarray | None = None,
    position_limit: int | None = None,
    logic: Logic | None = None,
) -> PolicyStep:
    """One importance-weighted gradient step on TD loss + logic loss (eq. 11).

    ``target`` is the bootstrap's network (default: ``params``); ``position_limit``
    masks the actions that would break it (default: none), read from each transition's
    position before (``ctx[:, 3]``) and after its action. The logic gradient is combined
    with the TD gradient by ``combine_gradients``; the sum's norm is clipped to
    ``grad_clip``. ``logic`` gives the constraints' truths and jacobians of the batch
    under a policy; it must equal the default, ``constraints.truth_and_grad(ctx, pi)``
    (a ``ConstraintTable``'s rows give the same bits faster). The returned params are new
    arrays.
    """
    b = len(actions)
    x = np.hstack([states, np.ones((b, 1))])
    mask = next_mask = None
    if position_limit is not None:
        pos = np.rint(ctx[:, 3]).astype(np.int64)
        mask = allowed_actions(pos, position_limit)
        next_mask = allowed_actions(pos + ACTION_DELTA[actions], position_limit)
    td = td_errors(
        params,
        states,
        actions,
        rewards,
        next_states,
        dones,
        gamma,
        target=target,
        next_mask=next_mask,
    )
    td_loss = float(np.sum(weights * td * td) / (2 * b))
    # The importance-weighted *mean* gradient: dividing by the weights' sum, not by B,
    # keeps annealed weights (mean ~0.3 at beta = 1) from shrinking every step.
    wsum = float(np.sum(weights))
    norm_w = wsum if wsum > 0 else 1.0
    # dL_td/dQ(s,a) = -w * delta / sum(w) on the taken action only (semi-gradient).
    dq = np.zeros((b, N_ACTIONS))
    dq[np.arange(b), actions] = -weights * td / norm_w
    grad = dm.matmul(dq.T, x)

    logic_loss = 0.0
    if logic_weight > 0 and constraints.names:
        q = q_values(params, states)
        pi = softmax(q, temperature, mask)
        truth, jac = constraints.truth_and_grad(ctx, pi) if logic is None else logic(pi)
        cw = np.asarray(constraints.weights, dtype=float)
        logic_loss = float(np.sum(weights * dm.matmul(1.0 - truth, cw)) / b)
        # dL/dpi = -(1/B) w_i sum_c w_c dtruth_c/dpi; back through softmax/T.
        dtruth = np.zeros((b, N_ACTIONS))
        for c in range(len(cw)):  # constraints in declared order: a fixed summation order
            dtruth += cw[c] * jac[:, c, :]
        g_pi = -(weights[:, None] * dtruth) / norm_w
        g_q = pi * (g_pi - np.sum(g_pi * pi, axis=1, keepdims=True)) / temperature
        grad = combine_gradients(grad, logic_weight * dm.matmul(g_q.T, x))

    norm = dm.norm(grad)
    if norm > grad_clip:
        grad = grad * (grad_clip / norm)
    # A normalized step (NLMS): a linear model's update overshoots once lr * |x|^2 > 2,
    # and states far from the first day's scale (a crash) have |x|^2 in the hundreds.
    sq = dm.row_norms(x)
    reach = float(np.sum(weights * sq * sq) / norm_w)
    step = learning_rate / max(1.0, reach)
    return PolicyStep(
        params=params - step * grad,
        td=td,
        td_loss=td_loss,
        logic_loss=logic_loss,
        grad_norm=norm,
    )


def compiled_policy_step(
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
    target: np.ndarray | None = None,
    position_limit: int | None = None,
    logic: Logic | None = None,
) -> PolicyStep:
    """``policy_step`` in ``policy_kernel``'s two kernels: the same step, the same bits.
    It needs the target network and the position limit; without them, or for a batch
    that is not float64 and int64, it is ``policy_step`` itself."""
    if target is None or position_limit is None or actions.dtype != np.int64:
        return policy_step(
            params, states, actions, rewards, next_states, dones, ctx, weights, constraints,
            gamma=gamma, learning_rate=learning_rate, logic_weight=logic_weight,
            temperature=temperature, grad_clip=grad_clip, target=target,
            position_limit=position_limit, logic=logic,
        )  # fmt: skip
    f64 = np.float64
    w = np.ascontiguousarray(weights, dtype=f64)
    with_logic = logic_weight > 0 and bool(constraints.names)
    x, td, td_loss, norm_w, grad, pi = pk.head(
        np.ascontiguousarray(params, dtype=f64),
        np.ascontiguousarray(target, dtype=f64),
        np.ascontiguousarray(states, dtype=f64),
        np.ascontiguousarray(next_states, dtype=f64),
        np.ascontiguousarray(actions),
        np.ascontiguousarray(rewards, dtype=f64),
        np.ascontiguousarray(dones, dtype=f64),
        w,
        np.rint(ctx[:, 3]).astype(np.int64),
        int(position_limit),
        float(gamma),
        float(temperature),
        with_logic,
    )
    if with_logic:
        truth, jac = constraints.truth_and_grad(ctx, pi) if logic is None else logic(pi)
        cw = np.asarray(constraints.weights, dtype=f64)
    else:
        truth, jac, cw = np.zeros((0, 0)), np.zeros((0, 0, 3)), np.zeros(0)
    new, logic_loss, norm = pk.tail(
        np.ascontiguousarray(params, dtype=f64), x, grad, w, pi,
        np.ascontiguousarray(truth, dtype=f64), np.ascontiguousarray(jac, dtype=f64), cw,
        float(norm_w), float(temperature), float(logic_weight), with_logic,
        float(grad_clip), float(learning_rate),
    )  # fmt: skip
    return PolicyStep(
        params=new,
        td=td,
        td_loss=float(td_loss),
        logic_loss=float(logic_loss),
        grad_norm=float(norm),
    )


# --- steps on the episodic buffer -----------------------------------------------------

Transitions = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""(s, a, r, s', done) of a batch of transitions, one row each."""


def buffer_transitions(state: SimState, slots: np.ndarray) -> Transitions:
    """(s, a, r, s', done) of the buffered transitions at ``slots``, the states as the
    agent sees them (``SimState.view``): what a TD error needs."""
    buf, _ = state.require_buffer()
    return (
        state.view(buf.states[slots]),
        buf.actions[slots],
        buf.rewards[slots],
        state.view(buf.next_states[slots]),
        buf.dones[slots],
    )


def buffer_step(
    state: SimState,
    slots: np.ndarray,
    weights: np.ndarray,
    constraints: ConstraintSet,
    agent: Agent,
    learning_rate: float,
    table: ConstraintTable | None = None,
) -> PolicyStep:
    """One weighted policy step (``policy_step``) on the buffered transitions at ``slots``,
    against the state's target network and with the agent's settings: phase 1's replay
    step and phase 2's gated update (eq. 19) both take it. ``table``, if given, holds
    ``constraints`` on the buffer's contexts (``constraints.table(buffer.ctx)``), for the
    same bits faster. The state is not changed."""
    buf, _ = state.require_buffer()
    compiled = table is not None and state.target_params is not None
    return (compiled_policy_step if compiled else policy_step)(
        state.params,
        *buffer_transitions(state, slots),
        buf.ctx[slots],
        weights,
        constraints,
        gamma=agent.gamma,
        learning_rate=learning_rate,
        logic_weight=agent.logic_loss_weight,
        temperature=agent.policy_temperature,
        grad_clip=agent.grad_clip,
        target=state.target_params,
        position_limit=agent.position_limit,
        logic=None if table is None else partial(table.truth_and_grad, slots),
    )
