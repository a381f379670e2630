"""Property tests of the fuzzy logic: operator laws, aggregator bounds, exact jacobians,
parser round trips and the violation score."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from janus_sim.config import Agent, Predicates
from janus_sim.core.logic import (
    ACTION_PREDICATES,
    PREDICATES,
    And,
    ConstraintSet,
    Formula,
    FormulaError,
    Implies,
    Not,
    Or,
    Pred,
    PredicateParams,
    evaluate,
    format_formula,
    formula_predicates,
    parse_formula,
)
from janus_sim.core.logic_ops import EPS, and_, exists, forall, implies, not_, or_, sat_agg

unit = st.floats(0.0, 1.0)
unit_arrays = hnp.arrays(np.float64, hnp.array_shapes(max_dims=2, max_side=6), elements=unit)
nonempty_vectors = hnp.arrays(np.float64, st.integers(1, 12), elements=unit)
ps = st.floats(1.0, 12.0)
stables = st.booleans()

BINARY: tuple[Callable[..., np.ndarray], ...] = (and_, or_, implies)

SPEC_PARAMS = PredicateParams.from_config(Predicates(), Agent().position_limit)
"""The spec's predicate parameters (config defaults)."""


# ---------------------------------------------------------------------------- operators


@given(unit_arrays, stables)
def test_not_maps_unit_interval_into_itself(x: np.ndarray, stable: bool) -> None:
    y = not_(x)
    assert np.all((y >= 0) & (y <= 1))


@given(st.data(), hnp.mutually_broadcastable_shapes(num_shapes=2, max_side=5), stables)
def test_binary_connectives_map_unit_square_into_unit_interval(
    data: st.DataObject, shapes: hnp.BroadcastableShapes, stable: bool
) -> None:
    x = data.draw(hnp.arrays(np.float64, shapes.input_shapes[0], elements=unit))
    y = data.draw(hnp.arrays(np.float64, shapes.input_shapes[1], elements=unit))
    for op in BINARY:
        z = op(x, y, stable=stable)
        assert z.shape == shapes.result_shape
        assert np.all((z >= 0) & (z <= 1)), op.__name__


@given(unit)
def test_not_is_involutive(x: float) -> None:
    assert abs(float(not_(not_(x))) - x) <= 1e-15


@given(unit, unit, stables)
def test_and_or_commutative(x: float, y: float, stable: bool) -> None:
    assert and_(x, y, stable=stable) == and_(y, x, stable=stable)
    assert or_(x, y, stable=stable) == or_(y, x, stable=stable)


@given(unit, unit, unit)
def test_and_or_associative(x: float, y: float, z: float) -> None:
    assert abs(and_(and_(x, y), z) - and_(x, and_(y, z))) <= 1e-15
    assert abs(or_(or_(x, y), z) - or_(x, or_(y, z))) <= 1e-15


@given(unit, unit)
def test_implies_is_reichenbach_and_material(x: float, y: float) -> None:
    assert abs(implies(x, y) - (1 - x + x * y)) <= 1e-15
    assert abs(implies(x, y) - or_(not_(x), y)) <= 1e-15
    # De Morgan holds in the product logic as well
    assert abs(not_(and_(x, y)) - or_(not_(x), not_(y))) <= 1e-15


@given(unit, unit, unit)
def test_connectives_monotone(x: float, y: float, d: float) -> None:
    x2 = min(1.0, x + d)
    assert and_(x2, y) >= and_(x, y) and or_(x2, y) >= or_(x, y)
    assert implies(x2, y) <= implies(x, y)  # antitone in the antecedent
    assert implies(y, x2) >= implies(y, x)


# ---------------------------------------------------------------------------- aggregators


@given(st.integers(0, 20), ps)
def test_forall_all_true_and_exists_all_false(n: int, p: float) -> None:
    assert float(forall(np.ones(n), p)) == 1.0
    assert float(exists(np.zeros(n), p)) == 0.0
    if n:
        assert abs(float(forall(np.ones(n), p, stable=True)) - 1.0) <= EPS + 1e-15
        assert abs(float(exists(np.zeros(n), p, stable=True))) <= EPS + 1e-15


@given(nonempty_vectors, ps, stables)
def test_min_forall_mean_exists_max(x: np.ndarray, p: float, stable: bool) -> None:
    tol = 1e-12
    fa, ex = float(forall(x, p)), float(exists(x, p))
    assert x.min() - tol <= fa <= x.mean() + tol
    assert x.mean() - tol <= ex <= x.max() + tol
    # the stable forms aggregate the projected values, so the same chain holds for those
    fs, es = float(forall(x, p, stable=True)), float(exists(x, p, stable=True))
    assert fs <= np.mean((1 - EPS) * x) + tol and es >= np.mean((1 - EPS) * x + EPS) - tol
    assert 0 <= fs <= 1 and 0 <= es <= 1


@given(nonempty_vectors, ps, ps)
def test_quantifiers_tighten_as_p_grows(x: np.ndarray, p1: float, p2: float) -> None:
    lo, hi = sorted((p1, p2))
    assert float(forall(x, hi)) <= float(forall(x, lo)) + 1e-12
    assert float(exists(x, hi)) >= float(exists(x, lo)) - 1e-12


@given(hnp.arrays(np.float64, st.integers(0, 12), elements=unit), ps, stables)
def test_sat_agg_in_unit_interval(truths: np.ndarray, p: float, stable: bool) -> None:
    s = sat_agg(truths, p, stable=stable)
    assert isinstance(s, float) and 0.0 <= s <= 1.0
    if truths.size == 0:
        assert s == 1.0


@given(hnp.arrays(np.float64, st.tuples(st.integers(0, 5), st.integers(0, 4)), elements=unit), ps)
def test_forall_along_axis_is_per_column(m: np.ndarray, p: float) -> None:
    cols = forall(m, p, axis=0)
    assert cols.shape == (m.shape[1],)
    for c in range(m.shape[1]):
        assert float(cols[c]) == float(forall(m[:, c], p))


# ---------------------------------------------------------------------------- formulas

leaves = st.sampled_from(PREDICATES).map(Pred)


def _extend(kids: st.SearchStrategy[Formula]) -> st.SearchStrategy[Formula]:
    return st.one_of(
        kids.map(Not),
        st.builds(And, kids, kids),
        st.builds(Or, kids, kids),
        st.builds(Implies, kids, kids),
    )


formulas: st.SearchStrategy[Formula] = st.recursive(leaves, _extend, max_leaves=8)


@st.composite
def contexts(draw: st.DrawFn, n: int) -> np.ndarray:
    def col(lo: float, hi: float) -> np.ndarray:
        return draw(hnp.arrays(np.float64, n, elements=st.floats(lo, hi)))

    pos = draw(
        st.one_of(
            hnp.arrays(np.float64, n, elements=st.integers(-6, 6).map(float)),
            hnp.arrays(np.float64, n, elements=st.floats(-6, 6)),
        )
    )
    return np.column_stack([col(-6, 6), col(0, 0.6), col(0, 10), pos])


@st.composite
def distributions(draw: st.DrawFn, n: int, low: float = 0.0) -> np.ndarray:
    raw = draw(hnp.arrays(np.float64, (n, 3), elements=st.floats(low, 1.0)))
    raw = raw + 1e-3  # no all-zero rows
    out: np.ndarray = raw / raw.sum(axis=1, keepdims=True)
    return out


params_st = st.builds(
    PredicateParams,
    crash_return_pct=st.floats(0.1, 5),
    high_vol_pct=st.floats(0.01, 1),
    deep_drawdown_pct=st.floats(0.5, 10),
    sharpness=st.floats(0.5, 20),
    position_limit=st.integers(1, 5),
)


@settings(deadline=None)
@given(st.data(), formulas, params_st)
def test_jacobian_matches_central_differences(
    data: st.DataObject, f: Formula, params: PredicateParams
) -> None:
    n = data.draw(st.integers(1, 5))
    ctx = data.draw(contexts(n))
    # any point of [0, 1]^3: the jacobian treats pi's entries as free coordinates
    pi = data.draw(hnp.arrays(np.float64, (n, 3), elements=st.floats(0.0, 1.0)))
    value, jac = evaluate(f, ctx, pi, params)
    assert value.shape == (n,) and jac.shape == (n, 3)
    h = 1e-6
    for a in range(3):
        step = np.zeros(3)
        step[a] = h
        up, _ = evaluate(f, ctx, pi + step, params)
        down, _ = evaluate(f, ctx, pi - step, params)
        np.testing.assert_allclose(jac[:, a], (up - down) / (2 * h), atol=1e-6, rtol=1e-6)


@settings(deadline=None)
@given(st.data(), st.lists(formulas, min_size=1, max_size=4))
def test_constraint_set_gradient_along_the_simplex(data: st.DataObject, fs: list[Formula]) -> None:
    cs = ConstraintSet(
        tuple(f"c{i}" for i in range(len(fs))), tuple(fs), (1.0,) * len(fs), SPEC_PARAMS
    )
    n = data.draw(st.integers(1, 5))
    ctx = data.draw(contexts(n))
    probs = data.draw(distributions(n, low=0.05))
    raw = data.draw(hnp.arrays(np.float64, (n, 3), elements=st.floats(-1, 1)))
    direction = raw - raw.mean(axis=1, keepdims=True)  # stays on the simplex
    truths, jacs = cs.truth_and_grad(ctx, probs)
    assert truths.shape == (n, len(fs)) and jacs.shape == (n, len(fs), 3)
    assert np.all((truths >= 0) & (truths <= 1))
    h = 1e-6
    fd = (cs.truth(ctx, probs + h * direction) - cs.truth(ctx, probs - h * direction)) / (2 * h)
    np.testing.assert_allclose(np.einsum("ncd,nd->nc", jacs, direction), fd, atol=1e-6)


@given(formulas)
def test_format_parse_round_trip(f: Formula) -> None:
    text = format_formula(f)
    assert parse_formula(text) == f
    assert format_formula(parse_formula(text)) == text


@st.composite
def noisy_text(draw: st.DrawFn, f: Formula) -> str:
    """``f`` fully parenthesised, with random extra parentheses and spacing."""

    def space() -> str:
        return draw(st.sampled_from(["", " ", "  ", "\t", "\n"]))

    def gap() -> str:
        return draw(st.sampled_from([" ", "  ", "\t", "\n "]))

    def render(g: Formula) -> str:
        match g:
            case Pred(name):
                body = name
            case Not(arg):
                body = f"not{gap()}{render(arg)}"
            case And(a, b):
                body = f"({space()}{render(a)}{gap()}and{gap()}{render(b)}{space()})"
            case Or(a, b):
                body = f"({space()}{render(a)}{gap()}or{gap()}{render(b)}{space()})"
            case Implies(a, b):
                body = f"({render(a)}{space()}->{space()}{render(b)})"
        if draw(st.integers(0, 4)) == 0:
            body = f"({space()}{body}{space()})"
        return body

    return space() + render(f) + space()


@given(st.data(), formulas)
def test_parse_noisy_text(data: st.DataObject, f: Formula) -> None:
    assert parse_formula(data.draw(noisy_text(f))) == f


TOKENS = [*PREDICATES[:4], "and", "or", "not", "->", "(", ")", "bogus", "&", "-", " ", "", "x1"]


@given(st.lists(st.sampled_from(TOKENS), max_size=25), st.sampled_from([" ", ""]))
def test_parser_returns_a_formula_or_a_located_formula_error(tokens: list[str], sep: str) -> None:
    text = sep.join(tokens)
    try:
        f = parse_formula(text)
    except FormulaError as e:
        assert e.position is not None and 0 <= e.position <= len(text)
        assert f"position {e.position}" in str(e)
        assert repr(text) in str(e)
    else:
        assert parse_formula(format_formula(f)) == f


# ---------------------------------------------------------------------------- violation


@settings(deadline=None)
@given(st.data(), st.lists(formulas, min_size=0, max_size=4))
def test_violation_zero_exactly_when_all_constraints_hold(
    data: st.DataObject, fs: list[Formula]
) -> None:
    weights = data.draw(st.lists(st.floats(0.01, 10), min_size=len(fs), max_size=len(fs)))
    constraints = [
        SimpleNamespace(name=f"c{i}", formula=format_formula(f), weight=w)
        for i, (f, w) in enumerate(zip(fs, weights, strict=True))
    ]
    cs = ConstraintSet.compile(constraints, SimpleNamespace(**_default_predicates()), 3)
    n = data.draw(st.integers(1, 6))
    ctx = data.draw(contexts(n))
    actions = data.draw(hnp.arrays(np.int64, n, elements=st.integers(0, 2)))
    truths = cs.truth_of_actions(ctx, actions)
    v = cs.violation(ctx, actions)
    assert v.shape == (n,) and np.all(v >= 0)
    np.testing.assert_array_equal(v == 0, np.all(truths == 1, axis=1))
    np.testing.assert_allclose(v, (1 - truths) @ np.asarray(weights).reshape(len(fs)), atol=1e-12)


def _default_predicates() -> dict[str, float]:
    return {
        "crash_return_pct": 1.0,
        "high_vol_pct": 0.15,
        "deep_drawdown_pct": 3.0,
        "sharpness": 4.0,
    }


@settings(deadline=None)
@given(st.data(), formulas)
def test_crisp_truth_is_the_truth_under_one_hot_probabilities(
    data: st.DataObject, f: Formula
) -> None:
    cs = ConstraintSet(("c",), (f,), (1.0,), SPEC_PARAMS)
    n = data.draw(st.integers(1, 5))
    ctx = data.draw(contexts(n))
    actions = data.draw(hnp.arrays(np.int64, n, elements=st.integers(0, 2)))
    crisp = cs.truth_of_actions(ctx, actions)
    np.testing.assert_array_equal(crisp, cs.truth(ctx, np.eye(3)[actions]))
    # over action predicates only, a crisp policy gives crisp truths: exactly 0 or 1
    if formula_predicates(f) <= set(ACTION_PREDICATES):
        assert set(np.unique(crisp)) <= {0.0, 1.0}
