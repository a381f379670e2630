"""Unit tests of the fuzzy-logic operators, predicates, parser and constraint sets."""

from __future__ import annotations

import dataclasses
import pickle
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from janus_sim.config import Agent, Constraint, Predicates
from janus_sim.core.logic import (
    CONTEXT_FIELDS,
    MAX_DEPTH,
    PREDICATES,
    And,
    ConstraintSet,
    FormulaError,
    Implies,
    Not,
    Or,
    Pred,
    PredicateParams,
    evaluate,
    format_formula,
    parse_formula,
)
from janus_sim.core.logic_ops import (
    EPS,
    and_,
    exists,
    forall,
    implies,
    not_,
    or_,
    pi_0,
    pi_1,
    sat_agg,
)

SELL, HOLD, BUY = 0, 1, 2
RULES = (
    Constraint(name="no_crash_buying", formula="crash -> not adds_exposure"),
    Constraint(name="limit", formula="not exceeds_limit", weight=2.0),
    Constraint(name="cut_losses", formula="deep_drawdown -> reduces_exposure", weight=0.5),
)

SPEC_PARAMS = PredicateParams.from_config(Predicates(), Agent().position_limit)
"""The spec's predicate parameters (config defaults)."""


def ctx_row(ret: float = 0.0, rv: float = 0.05, dd: float = 0.0, pos: float = 0.0) -> list[float]:
    return [ret, rv, dd, pos]


@pytest.fixture
def rules() -> ConstraintSet:
    return ConstraintSet.compile(RULES, Predicates(), position_limit=3)


# ---------------------------------------------------------------------------- operators


def test_connectives_values() -> None:
    assert not_(0.25) == 0.75
    assert and_(0.5, 0.4) == pytest.approx(0.2)
    assert or_(0.5, 0.4) == pytest.approx(0.7)
    assert implies(0.5, 0.4) == pytest.approx(0.7)
    assert implies(0.0, 0.0) == 1.0 and implies(1.0, 0.0) == 0.0
    # broadcasting
    assert and_(np.array([[0.5], [1.0]]), np.array([0.2, 0.4])).shape == (2, 2)


def test_ltn_projections_exact_forms() -> None:
    assert EPS == 1e-4
    assert pi_0(0.0) == EPS and pi_0(1.0) == 1.0
    assert pi_1(0.0) == 0.0 and pi_1(1.0) == 1.0 - EPS
    x, y = 0.3, 0.8
    assert and_(x, y, stable=True) == pytest.approx(pi_0(x) * pi_0(y), abs=0)
    assert or_(x, y, stable=True) == pytest.approx(pi_1(x) + pi_1(y) - pi_1(x) * pi_1(y), rel=1e-15)
    assert implies(x, y, stable=True) == pytest.approx(1 - pi_0(x) + pi_0(x) * pi_1(y), rel=1e-15)
    # The stable forms keep and_ off 0 and implies/or off the saturating corners.
    assert and_(0.0, 0.0, stable=True) == pytest.approx(EPS**2)
    assert implies(0.0, 1.0, stable=True) < 1.0


def test_aggregators_match_ltntorch_docstring_examples() -> None:
    # LTNtorch's docs print these (stable=True, p=2) for the truths below, to 4 places.
    truths = np.array([0.6365, 0.7109, 0.6682])
    assert float(forall(truths, stable=True)) == pytest.approx(0.6704, abs=1e-4)
    assert float(exists(truths, stable=True)) == pytest.approx(0.6726, abs=1e-4)


def test_aggregators_formulas() -> None:
    x = np.array([0.2, 0.9, 1.0, 0.5])
    for p in (1.0, 2.0, 3.5):
        assert float(forall(x, p)) == pytest.approx(1 - np.mean((1 - x) ** p) ** (1 / p))
        assert float(exists(x, p)) == pytest.approx(np.mean(x**p) ** (1 / p))
        stable_fa = 1 - np.mean((1 - (1 - EPS) * x) ** p) ** (1 / p)
        stable_ex = np.mean(((1 - EPS) * x + EPS) ** p) ** (1 / p)
        assert float(forall(x, p, stable=True)) == pytest.approx(stable_fa)
        assert float(exists(x, p, stable=True)) == pytest.approx(stable_ex)
    m = np.array([[1.0, 0.0], [1.0, 0.5]])
    np.testing.assert_allclose(forall(m, axis=0), [1.0, 1 - np.sqrt(0.625)])
    np.testing.assert_allclose(exists(m, axis=1), [np.sqrt(0.5), np.sqrt(0.625)])


def test_aggregators_empty_and_edges() -> None:
    assert float(forall(np.ones(5))) == 1.0
    assert float(exists(np.zeros(5))) == 0.0
    assert float(forall([])) == 1.0
    assert float(exists([])) == 0.0
    assert sat_agg([]) == 1.0
    np.testing.assert_array_equal(forall(np.zeros((0, 3)), axis=0), np.ones(3))
    assert sat_agg([1.0, 1.0]) == 1.0
    assert sat_agg([0.0]) == 0.0
    # rounding just outside [0, 1] is absorbed, not turned into NaN
    assert float(forall([1.0 + 1e-15, 0.5])) <= 1.0
    assert np.isfinite(forall([-1e-15, 1.0]))


@pytest.mark.parametrize("p", [0.5, 0.0, -1.0, float("nan"), float("inf")])
def test_p_is_validated(p: float) -> None:
    for fn in (forall, exists, sat_agg):
        with pytest.raises(ValueError, match="p must be a finite number >= 1"):
            fn([0.5], p=p)


@pytest.mark.parametrize("bad", [1.5, -0.1, float("nan"), float("inf")])
def test_aggregator_inputs_are_validated(bad: float) -> None:
    with pytest.raises(ValueError, match=r"forall expects truth values in \[0, 1\]"):
        forall([0.5, bad])
    with pytest.raises(ValueError, match=r"exists expects truth values in \[0, 1\]"):
        exists([0.5, bad])


# ---------------------------------------------------------------------------- predicates


def pred(name: str, rows: list[list[float]], probs: list[list[float]] | None = None) -> np.ndarray:
    n = len(rows)
    pi = np.full((n, 3), 1 / 3) if probs is None else np.asarray(probs, dtype=float)
    value, _ = evaluate(Pred(name), np.asarray(rows, dtype=float), pi, SPEC_PARAMS)
    return value


def test_context_fields() -> None:
    assert CONTEXT_FIELDS == ("ret_short_pct", "rv_pct", "drawdown_pct", "position")


def test_state_predicates_at_thresholds() -> None:
    # Defaults: crash 1%, high vol 0.15%, deep drawdown 3%, sharpness 4, limit 3.
    k = 4.0
    assert pred("crash", [ctx_row(ret=-1.0)])[0] == pytest.approx(0.5)
    assert pred("crash", [ctx_row(ret=-2.0)])[0] == pytest.approx(1 / (1 + np.exp(-k)))
    assert pred("crash", [ctx_row(ret=+1.0)])[0] == pytest.approx(1 / (1 + np.exp(2 * k)))
    assert pred("high_vol", [ctx_row(rv=0.15)])[0] == pytest.approx(0.5)
    assert pred("high_vol", [ctx_row(rv=0.30)])[0] == pytest.approx(1 / (1 + np.exp(-k)))
    assert pred("deep_drawdown", [ctx_row(dd=3.0)])[0] == pytest.approx(0.5)
    assert pred("deep_drawdown", [ctx_row(dd=0.0)])[0] == pytest.approx(1 / (1 + np.exp(k)))


def test_sigmoid_is_safe_for_extreme_inputs() -> None:
    rows = [ctx_row(ret=-1e6, rv=1e6, dd=1e6), ctx_row(ret=1e6, rv=0.0, dd=0.0)]
    with np.errstate(all="raise"):
        crash = pred("crash", rows)
        assert crash[0] == 1.0 and 0.0 <= crash[1] < 1e-300
        assert pred("high_vol", rows)[0] == 1.0
        assert pred("deep_drawdown", rows)[0] == 1.0


def test_position_predicates() -> None:
    rows = [ctx_row(pos=p) for p in (-6, -3, -1, 0, 1, 3, 6)]
    np.testing.assert_allclose(pred("long", rows), [0, 0, 0, 0, 1 / 3, 1, 1])
    np.testing.assert_allclose(pred("short", rows), [1, 1, 1 / 3, 0, 0, 0, 0])
    np.testing.assert_allclose(pred("flat", rows), [0, 0, 2 / 3, 1, 2 / 3, 0, 0])


def test_action_predicates_are_the_probability_of_the_right_actions() -> None:
    pi = [0.2, 0.3, 0.5]  # sell, hold, buy
    positions = (-4, -3, -1, 0, 1, 2, 3, 4)
    rows = [ctx_row(pos=p) for p in positions]
    probs = [pi] * len(rows)
    assert pred("sells", rows, probs).tolist() == [0.2] * len(rows)
    assert pred("holds", rows, probs).tolist() == [0.3] * len(rows)
    assert pred("buys", rows, probs).tolist() == [0.5] * len(rows)
    # flat: both sell and buy add exposure; short: sell adds, buy reduces; long: reverse.
    np.testing.assert_allclose(
        pred("adds_exposure", rows, probs), [0.2, 0.2, 0.2, 0.7, 0.5, 0.5, 0.5, 0.5]
    )
    np.testing.assert_allclose(
        pred("reduces_exposure", rows, probs), [0.5, 0.5, 0.5, 0.0, 0.2, 0.2, 0.2, 0.2]
    )
    # limit 3: exceeded when |pos + delta| > 3
    np.testing.assert_allclose(
        pred("exceeds_limit", rows, probs), [0.5, 0.2, 0.0, 0.0, 0.0, 0.0, 0.5, 0.8]
    )


def test_evaluate_jacobian_of_action_predicate_is_its_indicator() -> None:
    ctx = np.array([ctx_row(pos=3.0)])
    _, jac = evaluate(Pred("exceeds_limit"), ctx, np.array([[0.1, 0.1, 0.8]]), SPEC_PARAMS)
    np.testing.assert_array_equal(jac, [[0.0, 0.0, 1.0]])
    _, jac = evaluate(Pred("crash"), ctx, np.array([[0.1, 0.1, 0.8]]), SPEC_PARAMS)
    np.testing.assert_array_equal(jac, np.zeros((1, 3)))


@pytest.mark.parametrize(
    ("ctx", "message"),
    [
        (np.zeros((2, 3)), r"shape \(n, 4\)"),
        (np.zeros(4), r"shape \(n, 4\)"),
        (np.array([[0.0, 0.0, np.nan, 0.0]]), "finite"),
        (np.array([[0.0, 0.0, -1.0, 0.0]]), "drawdown_pct must be >= 0"),
    ],
)
def test_bad_context_is_rejected(rules: ConstraintSet, ctx: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rules.truth(ctx, np.full((len(ctx), 3), 1 / 3))


def test_predicate_params_are_validated() -> None:
    with pytest.raises(ValueError, match="sharpness must be a finite number > 0"):
        dataclasses.replace(SPEC_PARAMS, sharpness=0.0)
    with pytest.raises(ValueError, match="crash_return_pct"):
        dataclasses.replace(SPEC_PARAMS, crash_return_pct=float("nan"))
    with pytest.raises(ValueError, match="position_limit must be >= 1"):
        dataclasses.replace(SPEC_PARAMS, position_limit=0)


# ---------------------------------------------------------------------------- parser


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("crash", Pred("crash")),
        ("  not   crash ", Not(Pred("crash"))),
        ("not not crash", Not(Not(Pred("crash")))),
        ("crash and buys or sells", Or(And(Pred("crash"), Pred("buys")), Pred("sells"))),
        ("crash or buys and sells", Or(Pred("crash"), And(Pred("buys"), Pred("sells")))),
        ("not crash and buys", And(Not(Pred("crash")), Pred("buys"))),
        ("not (crash and buys)", Not(And(Pred("crash"), Pred("buys")))),
        ("crash and buys and sells", And(And(Pred("crash"), Pred("buys")), Pred("sells"))),
        ("crash or buys or sells", Or(Or(Pred("crash"), Pred("buys")), Pred("sells"))),
        (
            "crash -> buys -> sells",
            Implies(Pred("crash"), Implies(Pred("buys"), Pred("sells"))),
        ),
        (
            "(crash -> buys) -> sells",
            Implies(Implies(Pred("crash"), Pred("buys")), Pred("sells")),
        ),
        (
            "crash or long -> not adds_exposure",
            Implies(Or(Pred("crash"), Pred("long")), Not(Pred("adds_exposure"))),
        ),
        ("((crash))", Pred("crash")),
        ("crash->buys", Implies(Pred("crash"), Pred("buys"))),
    ],
)
def test_parse_structure_and_round_trip(text: str, tree: object) -> None:
    f = parse_formula(text)
    assert f == tree
    assert parse_formula(format_formula(f)) == f


def test_format_uses_minimal_parentheses() -> None:
    assert format_formula(parse_formula("(crash and (buys)) or sells")) == "crash and buys or sells"
    assert format_formula(parse_formula("crash and (buys or sells)")) == "crash and (buys or sells)"
    assert format_formula(parse_formula("(crash -> buys) -> sells")) == "(crash -> buys) -> sells"
    assert format_formula(parse_formula("crash -> (buys -> sells)")) == "crash -> buys -> sells"


def test_formula_error_pickles() -> None:
    e = parse_error("crash and (buys")
    back = pickle.loads(pickle.dumps(e))
    assert isinstance(back, FormulaError)
    assert (str(back), back.position, back.text) == (str(e), e.position, e.text)


def test_formulas_are_immutable_and_hashable() -> None:
    f = parse_formula("crash -> not adds_exposure")
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.antecedent = Pred("buys")  # type: ignore[misc,union-attr]
    assert hash(f) == hash(parse_formula("crash->not adds_exposure"))


def parse_error(text: str) -> FormulaError:
    with pytest.raises(FormulaError) as info:
        parse_formula(text)
    assert isinstance(info.value, ValueError)
    assert repr(text) in str(info.value)  # every message quotes the formula
    return info.value


def test_unknown_predicate_lists_the_known_ones() -> None:
    e = parse_error("crash -> not bys")
    assert e.position == 13
    assert "unknown predicate 'bys' at position 13" in str(e)
    assert "known predicates: " + ", ".join(PREDICATES) in str(e)
    for name in PREDICATES:
        assert name in str(e)


def test_unclosed_parenthesis_names_both_positions() -> None:
    e = parse_error("not (crash and buys")
    assert e.position == 19
    assert "unbalanced parenthesis: '(' at position 4 is never closed" in str(e)
    assert "expected ')' at position 19, found end of formula" in str(e)


def test_unclosed_parenthesis_with_trailing_token() -> None:
    e = parse_error("(crash buys")
    assert "'(' at position 0 is never closed; expected ')' at position 7, found 'buys'" in str(e)


def test_unmatched_closing_parenthesis_names_its_position() -> None:
    e = parse_error("crash and buys)")
    assert e.position == 14
    assert "unbalanced parenthesis: ')' at position 14 has no matching '('" in str(e)


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        ("", 0, "expected a predicate, 'not' or '(' at position 0, found end of formula"),
        ("   ", 3, "expected a predicate, 'not' or '(' at position 3, found end of formula"),
        ("crash ->", 8, "expected a predicate, 'not' or '(' at position 8, found end of formula"),
        (
            "crash and and buys",
            10,
            "expected a predicate, 'not' or '(' at position 10, found 'and'",
        ),
        ("()", 1, "expected a predicate, 'not' or '(' at position 1, found ')'"),
        (
            "crash buys",
            6,
            "expected 'and', 'or', '->' or end of formula at position 6, found 'buys'",
        ),
        ("crash & buys", 6, "unexpected character '&' at position 6"),
        ("crash - buys", 6, "unexpected character '-' at position 6"),
        ("crash => buys", 6, "unexpected character '=' at position 6"),
    ],
)
def test_syntax_errors_name_position_and_expectation(
    text: str, position: int, message: str
) -> None:
    e = parse_error(text)
    assert e.position == position
    assert message in str(e)


def test_nesting_is_bounded() -> None:
    deep = "not " * (MAX_DEPTH + 1) + "crash"
    assert f"nests more than {MAX_DEPTH} levels deep" in str(parse_error(deep))
    wide = " and ".join(["crash"] * (MAX_DEPTH + 2))
    assert f"nests more than {MAX_DEPTH} levels deep" in str(parse_error(wide))
    parens = "(" * (MAX_DEPTH + 1) + "crash" + ")" * (MAX_DEPTH + 1)
    assert f"nests more than {MAX_DEPTH} levels deep" in str(parse_error(parens))
    parse_formula("not " * (MAX_DEPTH - 1) + "crash")  # just inside the bound


# ---------------------------------------------------------------------------- constraint sets


def test_compile_accepts_config_and_duck_typed_objects() -> None:
    duck = [SimpleNamespace(name="limit", formula="not exceeds_limit", weight=1.5)]
    preds = SimpleNamespace(
        crash_return_pct=2.0, high_vol_pct=0.2, deep_drawdown_pct=5.0, sharpness=8
    )
    cs = ConstraintSet.compile(duck, preds, position_limit=2)
    assert cs.names == ("limit",) and cs.weights == (1.5,) and len(cs) == 1
    assert cs.params == PredicateParams(2.0, 0.2, 5.0, 8.0, 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cs.names = ()  # type: ignore[misc]


def test_compile_names_the_constraint_in_formula_errors() -> None:
    bad = [Constraint(name="oops", formula="crash -> (buys")]
    with pytest.raises(FormulaError) as info:
        ConstraintSet.compile(bad, Predicates(), 3)
    assert info.value.constraint == "oops"
    assert str(info.value).startswith("constraint 'oops': unbalanced parenthesis")


def test_compile_rejects_repeated_names_and_bad_weights() -> None:
    c = SimpleNamespace(name="a", formula="crash", weight=1.0)
    with pytest.raises(ValueError, match="'a' repeats"):
        ConstraintSet.compile([c, c], Predicates(), 3)
    for w in (0.0, -1.0, float("inf")):
        bad = SimpleNamespace(name="a", formula="crash", weight=w)
        with pytest.raises(ValueError, match="weight must be finite and > 0"):
            ConstraintSet.compile([bad], Predicates(), 3)
    with pytest.raises(ValueError, match="same length"):
        ConstraintSet(("a",), (), (1.0,), SPEC_PARAMS)


def test_crash_rule_penalises_buying_long_and_not_selling(rules: ConstraintSet) -> None:
    crash_long = ctx_row(ret=-3.0, pos=1.0)
    calm_long = ctx_row(ret=+0.2, pos=1.0)
    ctx = np.array([crash_long, crash_long, crash_long, calm_long])
    truths = rules.truth_of_actions(ctx, np.array([BUY, SELL, HOLD, BUY]))
    rule = truths[:, 0]
    assert rule[0] < 0.01  # buying more while crashing: violated
    assert rule[1] == 1.0 and rule[2] == 1.0  # selling or holding adds nothing
    assert rule[3] > 0.99  # buying outside a crash is fine
    assert rule[0] < rule[3]


def test_limit_rule(rules: ConstraintSet) -> None:
    ctx = np.array([ctx_row(pos=3.0), ctx_row(pos=3.0), ctx_row(pos=-3.0), ctx_row(pos=2.0)])
    rule = rules.truth_of_actions(ctx, np.array([BUY, SELL, SELL, BUY]))[:, 1]
    assert rule.tolist() == [0.0, 1.0, 0.0, 1.0]
    # under a policy the truth is the probability of not crossing the limit
    probs = np.array([[0.1, 0.3, 0.6]] * 4)
    np.testing.assert_allclose(rules.truth(ctx, probs)[:, 1], [0.4, 0.4, 0.9, 1.0])


def test_drawdown_rule(rules: ConstraintSet) -> None:
    deep = ctx_row(dd=8.0, pos=2.0)
    shallow = ctx_row(dd=0.0, pos=2.0)
    ctx = np.array([deep, deep, deep, shallow])
    rule = rules.truth_of_actions(ctx, np.array([SELL, HOLD, BUY, HOLD]))[:, 2]
    assert rule[0] == 1.0  # selling reduces the long position
    assert rule[1] < 0.01 and rule[2] < 0.01  # holding or adding in a deep drawdown
    assert rule[3] > 0.95  # no drawdown: nothing required


def test_violation_is_weighted_sum_of_shortfalls(rules: ConstraintSet) -> None:
    ctx = np.array([ctx_row(ret=-3.0, dd=8.0, pos=3.0), ctx_row(pos=1.0)])
    actions = np.array([BUY, HOLD])
    truths = rules.truth_of_actions(ctx, actions)
    v = rules.violation(ctx, actions)
    np.testing.assert_allclose(v, (1 - truths) @ np.array([1.0, 2.0, 0.5]))
    assert v[0] > 2.0  # all three rules broken, the limit one with weight 2
    # calm, small long position, holding: the drawdown rule is slightly unmet (sigmoid tail)
    assert 0 < v[1] < 0.01
    sell_out_of_trouble = rules.violation(np.array([ctx_row(ret=-3.0, dd=8.0, pos=3.0)]), [SELL])
    assert sell_out_of_trouble.tolist() == [0.0]


def test_empty_constraint_set() -> None:
    cs = ConstraintSet.compile([], Predicates(), 3)
    ctx = np.array([ctx_row(), ctx_row(ret=-5.0)])
    assert cs.truth(ctx, np.full((2, 3), 1 / 3)).shape == (2, 0)
    truths, jacs = cs.truth_and_grad(ctx, np.full((2, 3), 1 / 3))
    assert truths.shape == (2, 0) and jacs.shape == (2, 0, 3)
    assert cs.violation(ctx, np.array([BUY, SELL])).tolist() == [0.0, 0.0]
    assert cs.day_truth(np.zeros((2, 0)), p=2).shape == (0,)
    assert cs.day_sat_agg(np.zeros((2, 0)), 2, 2) == 1.0


def test_no_transitions(rules: ConstraintSet) -> None:
    ctx = np.zeros((0, 4))
    assert rules.truth(ctx, np.zeros((0, 3))).shape == (0, 3)
    assert rules.violation(ctx, np.zeros(0, dtype=int)).shape == (0,)
    assert rules.violation(ctx, []).shape == (0,)
    np.testing.assert_array_equal(rules.day_truth(np.zeros((0, 3)), p=2), [1.0, 1.0, 1.0])


def test_day_truth_and_sat_agg(rules: ConstraintSet) -> None:
    truths = np.array([[1.0, 0.5, 1.0], [1.0, 1.0, 0.0]])
    day = rules.day_truth(truths, p=2)
    np.testing.assert_allclose(day, [1.0, 1 - np.sqrt(0.125), 1 - np.sqrt(0.5)])
    expected = 1 - np.sqrt(np.mean((1 - day) ** 2))
    assert rules.day_sat_agg(truths, 2, 2) == pytest.approx(expected)
    assert rules.day_sat_agg(np.ones((4, 3)), 3, 5) == 1.0
    with pytest.raises(ValueError, match=r"shape \(n, 3\)"):
        rules.day_truth(np.ones((4, 2)), p=2)
    with pytest.raises(ValueError, match="p must be"):
        rules.day_truth(truths, p=0.5)


def test_probabilities_and_actions_are_validated(rules: ConstraintSet) -> None:
    ctx = np.array([ctx_row(), ctx_row()])
    with pytest.raises(ValueError, match=r"shape \(2, 3\)"):
        rules.truth(ctx, np.full((3, 3), 1 / 3))
    with pytest.raises(ValueError, match="sum to 1"):
        rules.truth(ctx, np.full((2, 3), 0.5))
    with pytest.raises(ValueError, match=r"within \[0, 1\]"):
        rules.truth(ctx, np.array([[1.5, -0.5, 0.0]] * 2))
    with pytest.raises(ValueError, match="finite"):
        rules.truth(ctx, np.array([[np.nan, 0.5, 0.5]] * 2))
    with pytest.raises(ValueError, match="0 \\(sell\\), 1 \\(hold\\) or 2 \\(buy\\)"):
        rules.truth_of_actions(ctx, np.array([0, 3]))
    with pytest.raises(ValueError, match="integers of shape"):
        rules.truth_of_actions(ctx, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="integers of shape"):
        rules.truth_of_actions(ctx, np.array([0]))


def test_truth_and_grad_agrees_with_truth(rules: ConstraintSet) -> None:
    rng = np.random.default_rng(7)
    ctx = np.column_stack(
        [
            rng.normal(0, 2, 50),
            rng.uniform(0, 0.4, 50),
            rng.uniform(0, 6, 50),
            rng.integers(-4, 5, 50),
        ]
    )
    probs = rng.dirichlet(np.ones(3), 50)
    truths, jacs = rules.truth_and_grad(ctx, probs)
    np.testing.assert_array_equal(truths, rules.truth(ctx, probs))
    assert jacs.shape == (50, 3, 3)
    for i, f in enumerate(rules.formulas):
        v, j = evaluate(f, ctx, probs, rules.params)
        np.testing.assert_allclose(truths[:, i], np.clip(v, 0, 1))
        np.testing.assert_array_equal(jacs[:, i], j)


def test_core_does_not_import_pydantic_at_runtime() -> None:
    code = (
        "import sys, janus_sim.core.logic, janus_sim.core.logic_ops; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('pydantic', 'janus_sim.config')"
        " or m == 'janus_sim.config']; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_gradient_of_crash_rule_by_hand(rules: ConstraintSet) -> None:
    # crash -> not adds_exposure = 1 - c + c * (1 - adds); long, adds = pi_buy,
    # so d/dpi = (0, 0, -c); flat, adds = pi_sell + pi_buy, so d/dpi = (-c, 0, -c).
    ctx = np.array([ctx_row(ret=-1.5, pos=2.0), ctx_row(ret=-1.5, pos=0.0)])
    c = 1 / (1 + np.exp(-4.0 * 0.5))
    probs = np.array([[0.2, 0.3, 0.5], [0.2, 0.3, 0.5]])
    truths, jacs = rules.truth_and_grad(ctx, probs)
    np.testing.assert_allclose(truths[:, 0], [1 - c * 0.5, 1 - c * 0.7])
    np.testing.assert_allclose(jacs[:, 0], [[0, 0, -c], [-c, 0, -c]], atol=1e-15)
