"""The replay's and the awake day's fast paths give the plain paths' bits, errors included.

* ``logic.ConstraintTable`` computes the state predicates once for a table of contexts
  (a night's buffer) and gathers a batch's rows: its truths and jacobians must equal
  ``ConstraintSet.truth_and_grad`` on the gathered context, bit for bit, and it must
  raise the same ValueError for a bad row or bad probabilities.
* ``awake.DayViolations`` evaluates the violation of every action at every position of a
  day's bars in one batch: each lookup must equal ``ConstraintSet.violation`` on that one
  row, and a row it cannot hold must raise what the one-row call raises.
* ``agent.compiled_policy_step`` (``policy_kernel``'s two kernels) must give
  ``policy_step``'s new parameters, TD errors and losses bit for bit, and the kernels'
  sum must be ``np.sum``.
* ``gates._recall`` walks the references in transposed blocks: its recall strengths must
  equal the plain double loop's (kept below as the reference), ties and skips included.
"""

from __future__ import annotations

import itertools
import math
from functools import partial
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from janus_sim.core import detmath as dm
from janus_sim.core import gates
from janus_sim.core import policy_kernel as pk
from janus_sim.core.agent import compiled_policy_step, policy_step
from janus_sim.core.awake import DayViolations
from janus_sim.core.logic import ConstraintSet, PredicateParams, parse_formula

from .test_logic import contexts, distributions, formulas, params_st


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.tobytes() == b.tobytes()


def _outcome(call: object) -> tuple[str, tuple[np.ndarray, ...]]:
    try:
        return "ok", call()  # type: ignore[operator]
    except ValueError as e:
        return f"ValueError: {e}", ()


@st.composite
def faulty(draw: st.DrawFn, ctx: np.ndarray) -> np.ndarray:
    """``ctx`` with a few rows spoiled: NaN, infinity or a negative drawdown."""
    out = ctx.copy()
    for row in draw(st.lists(st.integers(0, len(ctx) - 1), max_size=2)):
        col = draw(st.integers(0, 3))
        out[row, col] = draw(st.sampled_from([math.nan, math.inf, -math.inf, -0.5]))
        if out[row, col] == -0.5:
            out[row, 2] = -0.5
    return out


@settings(max_examples=150, deadline=None)
@given(st.data(), st.lists(formulas, min_size=1, max_size=4), params_st)
def test_constraint_table_gives_the_constraint_sets_bits(
    data: st.DataObject, fs: list[object], params: PredicateParams
) -> None:
    cs = ConstraintSet(
        tuple(f"c{i}" for i in range(len(fs))),
        tuple(fs),  # type: ignore[arg-type]
        tuple(data.draw(st.floats(0.1, 3.0)) for _ in fs),
        params,
    )
    n_table = data.draw(st.integers(1, 12))
    table_ctx = data.draw(faulty(data.draw(contexts(n_table))))
    rows = data.draw(hnp.arrays(np.int64, st.integers(0, 8), elements=st.integers(0, n_table - 1)))
    probs = data.draw(
        st.one_of(
            distributions(len(rows)),
            hnp.arrays(np.float64, (len(rows), 3), elements=st.floats(-0.5, 1.5)),
        )
    )
    fast = _outcome(lambda: cs.table(table_ctx).truth_and_grad(rows, probs))
    plain = _outcome(lambda: cs.truth_and_grad(table_ctx[rows], probs))
    assert fast[0] == plain[0]
    for got, want in zip(fast[1], plain[1], strict=True):
        assert _same(got, want)


_PARAMS = PredicateParams(2.0, 0.2, 5.0, 8.0, 2)


def test_constraint_table_refuses_a_table_of_the_wrong_shape() -> None:
    cs = ConstraintSet((), (), (), _PARAMS)
    with pytest.raises(ValueError, match=r"context must have shape \(n, 4\)"):
        cs.table(np.zeros((3, 5)))


def _recall_reference(
    queries: np.ndarray, refs: np.ndarray, k: int, skip: np.ndarray
) -> list[float]:
    out = []
    for i in range(len(queries)):
        best: list[float] = []
        for j in range(len(refs)):
            if j == skip[i]:
                continue
            acc = 0.0
            for c in range(queries.shape[1]):
                diff = float(queries[i, c]) - float(refs[j, c])
                acc += diff * diff
            if len(best) < k:
                best.append(acc)
            elif acc < best[-1]:
                best[-1] = acc
            else:
                continue
            pos = len(best) - 1
            while pos > 0 and best[pos] < best[pos - 1]:
                best[pos], best[pos - 1] = best[pos - 1], best[pos]
                pos -= 1
        total = 0.0
        for v in best:
            total += math.sqrt(v)
        out.append(-dm.log_s(total / max(len(best), 1) + 1e-12))
    return out


@settings(max_examples=80, deadline=None)
@given(
    st.data(),
    st.integers(0, 9),
    st.integers(0, 300),
    st.integers(1, 9),
    st.integers(1, 6),
)
def test_blocked_recall_gives_the_double_loops_bits(
    data: st.DataObject, m: int, n: int, h: int, k: int
) -> None:
    # Few distinct values make ties; n past the block size (256) makes a second block.
    values = st.sampled_from([0.0, 0.25, 1.0, 2.5]) | st.floats(0, 4)
    queries = data.draw(hnp.arrays(np.float64, (m, h), elements=values))
    refs = data.draw(hnp.arrays(np.float64, (n, h), elements=values))
    skip = data.draw(hnp.arrays(np.int64, m, elements=st.integers(-1, max(n - 1, -1))))
    got = gates._recall(queries, refs, k, skip)
    want = np.array(_recall_reference(queries, refs, k, skip), dtype=np.float64)
    assert _same(got, want)


def _lookup(
    table: DayViolations, bar: int, position: int, action: int, ctx: np.ndarray
) -> tuple[np.ndarray]:
    return (np.array([table.of(bar, position, action, ctx)]),)


def _one_row(cs: ConstraintSet, ctx: np.ndarray, action: int) -> tuple[np.ndarray]:
    return (cs.violation(ctx[None, :], np.array([action]))[:1],)


@settings(max_examples=100, deadline=None)
@given(st.data(), st.lists(formulas, min_size=0, max_size=3), params_st, st.integers(1, 4))
def test_day_violations_give_the_one_row_bits(
    data: st.DataObject, fs: list[object], params: PredicateParams, max_position: int
) -> None:
    cs = ConstraintSet(
        tuple(f"c{i}" for i in range(len(fs))),
        tuple(fs),  # type: ignore[arg-type]
        tuple(data.draw(st.floats(0.1, 3.0)) for _ in fs),
        params,
    )
    n_bars = data.draw(st.integers(0, 6))
    market = data.draw(faulty(data.draw(contexts(max(n_bars, 1)))))[:n_bars, :3]
    # Batches of one bar up to all of them (the default holds thousands).
    per_bar = 3 * (2 * max_position + 1)
    batch = data.draw(st.integers(1, 7)) * per_bar
    table = type("Batched", (DayViolations,), {"BATCH_ROWS": batch})(cs, market, max_position)
    bars = data.draw(st.lists(st.integers(0, max(n_bars - 1, 0)), max_size=8)) if n_bars else []
    for bar in sorted(bars) + bars:  # in order, as a day asks, then in any order
        position = data.draw(st.integers(-max_position - 1, max_position + 1))
        action = data.draw(st.integers(0, 2))
        ctx = np.append(market[bar], float(position))
        fast = _outcome(partial(_lookup, table, bar, position, action, ctx))
        plain = _outcome(partial(_one_row, cs, ctx, action))
        assert fast[0] == plain[0]
        for got, want in zip(fast[1], plain[1], strict=True):
            assert _same(got, want)


def test_day_violations_fall_back_to_one_row_past_the_batch_size() -> None:
    cs = ConstraintSet(("c",), (parse_formula("not exceeds_limit"),), (1.0,), _PARAMS)
    market = np.zeros((10, 3))
    table = DayViolations(cs, market, max_position=DayViolations.BATCH_ROWS)  # one bar is more
    ctx = np.array([0.0, 0.0, 0.0, 3.0])
    want = float(cs.violation(ctx[None, :], np.array([2]))[0])
    assert table.of(4, 3, 2, ctx) == want == 1.0


# ---------------------------------------------------------------- the compiled policy step


@settings(max_examples=200, deadline=None)
@given(
    hnp.arrays(
        np.float64,
        st.integers(0, 700),
        elements=st.sampled_from([0.0, -0.0, 1.5, -2.25, 1e300, -1e300]) | st.floats(-1e6, 1e6),
    )
)
def test_the_kernel_sum_is_numpys(a: np.ndarray) -> None:
    assert _same(np.array(pk._sum(a)), np.array(np.sum(a)))


def test_the_kernel_max_is_numpys_on_ties_infinities_and_nan() -> None:
    """Over three columns numpy's max keeps the later of two equal values (a signed zero
    shows which) and lets NaN win; the kernels' ``_max2`` must do the same."""
    values = [-0.0, 0.0, -math.inf, 1.0, math.nan]
    for row in itertools.product(values, repeat=3):
        want = np.max(np.array([row] * 4), axis=1)[0]
        got = pk._max2(pk._max2(row[0], row[1]), row[2])
        assert (math.isnan(got) and math.isnan(want)) or _same(np.array(got), np.array(want)), row


@st.composite
def policy_batches(draw: st.DrawFn) -> dict[str, Any]:
    """A batch as phase 1 feeds the step: seeded normal states and networks (no exact
    ties), positions within a limit, some zero weights and done flags."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    b, d = draw(st.integers(1, 150)), draw(st.integers(1, 6))
    limit = draw(st.integers(1, 3))
    scale = draw(st.sampled_from([1e-3, 1.0, 30.0]))
    weights = rng.random(b) * draw(st.sampled_from([0.0, 1.0, 1e-8]))
    weights[rng.random(b) < 0.2] = 0.0
    return {
        "params": rng.normal(size=(3, d + 1)) * scale,
        "target": rng.normal(size=(3, d + 1)) * scale,
        "states": rng.normal(size=(b, d)) * scale,
        "next_states": rng.normal(size=(b, d)) * scale,
        "actions": rng.integers(0, 3, b),
        "rewards": rng.normal(size=b),
        "dones": (rng.random(b) < 0.1).astype(np.float64),
        "ctx": np.column_stack(
            [
                rng.normal(size=b),
                rng.random(b),
                rng.random(b) * 8,
                rng.integers(-limit, limit + 1, b),
            ]
        ).astype(np.float64),
        "weights": weights,
        "limit": limit,
    }


@settings(max_examples=120, deadline=None)
@given(
    policy_batches(),
    st.lists(formulas, min_size=0, max_size=3),
    st.sampled_from([0.0, 0.5, 2.0]),
    st.sampled_from([1e-3, 1.0, 1e9]),
    st.sampled_from([0.1, 1.0]),
)
def test_the_compiled_policy_step_gives_the_numpy_steps_bits(
    batch: dict[str, Any], fs: list[object], logic_weight: float, clip: float, temp: float
) -> None:
    # One rule whose gradient spans all three actions, so every column order shows.
    rules = [parse_formula("(sells or holds) -> buys"), *fs]
    cs = ConstraintSet(
        tuple(f"c{i}" for i in range(len(rules))),
        tuple(rules),  # type: ignore[arg-type]
        (1.5,) * len(rules),
        PredicateParams(2.0, 0.2, 5.0, 8.0, int(batch["limit"])),
    )
    b = batch
    args = (b["params"], b["states"], b["actions"], b["rewards"], b["next_states"], b["dones"])
    kw = {
        "gamma": 0.97,
        "learning_rate": 0.05,
        "logic_weight": logic_weight,
        "temperature": temp,
        "grad_clip": clip,
        "target": b["target"],
        "position_limit": b["limit"],
    }
    table = cs.table(b["ctx"])
    rows = np.arange(len(b["actions"]))
    logic = partial(table.truth_and_grad, rows)
    want = policy_step(*args, b["ctx"], b["weights"], cs, **kw, logic=logic)
    got = compiled_policy_step(*args, b["ctx"], b["weights"], cs, **kw, logic=logic)
    assert _same(got.params, want.params) and _same(got.td, want.td)
    for name in ("td_loss", "logic_loss", "grad_norm"):
        assert _same(np.array(getattr(got, name)), np.array(getattr(want, name))), name
