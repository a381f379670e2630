"""Logic behaviour the older tests left open (found by mutation testing, QUALITY.md):
float64 projections, FormulaError's message and pickling with a constraint name, and the
error for a value that is not a formula."""

from __future__ import annotations

import dataclasses
import math
import pickle
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from janus_sim.config import Constraint, Predicates
from janus_sim.core.logic import ConstraintSet, PredicateParams, evaluate
from janus_sim.core.logic_formula import (
    MAX_DEPTH,
    PREDICATES,
    FormulaError,
    Pred,
    _depth,
    format_formula,
    formula_predicates,
    parse_formula,
)
from janus_sim.core.logic_ops import (
    _RANGE_TOL,
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
from janus_sim.core.logic_predicates import sigmoid as _sigmoid


def test_projections_compute_in_float64_whatever_the_input_dtype() -> None:
    x32 = np.array([0.0, 0.3, 1.0], dtype=np.float32)
    x64 = x32.astype(np.float64)
    for project in (pi_0, pi_1):
        out = project(x32)
        assert out.dtype == np.float64
        assert out.tobytes() == project(x64).tobytes()
    assert pi_0(np.float32(0.0)) == EPS


def test_formula_error_without_a_constraint_has_no_prefix() -> None:
    e = FormulaError("bad token", text="crash and", position=6)
    assert str(e) == "bad token (in formula 'crash and')"
    assert e.constraint is None


def test_formula_error_with_a_constraint_names_it_and_survives_pickling() -> None:
    e = FormulaError("bad token", text="crash and", position=6, constraint="rule_1")
    assert str(e) == "constraint 'rule_1': bad token (in formula 'crash and')"
    back = pickle.loads(pickle.dumps(e))
    assert (str(back), back.constraint, back.position, back.text, back.problem) == (
        str(e),
        "rule_1",
        6,
        "crash and",
        "bad token",
    )


def test_formula_predicates_rejects_what_is_not_a_formula() -> None:
    with pytest.raises(TypeError) as err:
        formula_predicates("crash")  # type: ignore[arg-type]
    assert str(err.value) == "not a formula: 'crash'"


@pytest.mark.parametrize(
    "text",
    [
        "not not crash",
        "crash and buys and sells",
        "crash and not buys",
        "crash or buys or sells",
        "crash or buys and sells",
        "crash or buys -> sells",
        "not (crash and buys)",
        "crash and (buys or sells)",
    ],
)
def test_format_writes_no_parenthesis_the_grammar_does_not_need(text: str) -> None:
    assert format_formula(parse_formula(text)) == text


def test_format_formula_rejects_what_is_not_a_formula() -> None:
    with pytest.raises(TypeError) as err:
        format_formula(42)  # type: ignore[arg-type]
    assert str(err.value) == "not a formula: 42"


# --------------------------------------------------------------- logic.py's messages

_RULES = ConstraintSet.compile(
    [
        Constraint(name="c1", formula="crash -> not adds_exposure", weight=1.5),
        Constraint(name="c2", formula="not exceeds_limit"),
    ],
    Predicates(),
    3,
)
_CTX = np.array([[0.0, 0.05, 0.0, 1.0], [-3.0, 0.5, 2.0, -1.0]])
_UNIFORM = np.full((2, 3), 1 / 3)


@pytest.mark.parametrize(
    ("ctx", "message"),
    [
        (
            np.zeros((2, 3)),
            "context must have shape (n, 4) with columns "
            "('ret_short_pct', 'rv_pct', 'drawdown_pct', 'position'), got (2, 3)",
        ),
        (np.array([[0.0, np.inf, 0.0, 0.0]] * 2), "context must be finite (no NaN or infinity)"),
        (
            np.array([[0.0, 0.0, -1e-300, 0.0]] * 2),
            "drawdown_pct must be >= 0 (percent below the running maximum)",
        ),
    ],
)
def test_context_errors_are_exact(ctx: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError) as err:
        _RULES.truth(ctx, _UNIFORM)
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("probs", "message"),
    [
        (np.full((3, 3), 1 / 3), "action probabilities must have shape (2, 3), got (3, 3)"),
        (np.array([[np.nan, 0.5, 0.5]] * 2), "action probabilities must be finite"),
        (np.array([[1.5, -0.5, 0.0]] * 2), "action probabilities must be within [0, 1]"),
        (np.array([[0.5, 0.5, 1e-5]] * 2), "each row of action probabilities must sum to 1"),
    ],
)
def test_probability_errors_are_exact(probs: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError) as err:
        _RULES.truth_and_grad(_CTX, probs)
    assert str(err.value) == message


def test_probabilities_within_the_tolerance_are_accepted() -> None:
    # Rows may miss [0, 1] and a sum of 1 by 1e-6 (a float32 softmax), not more.
    p = np.array([[1.0 + 5e-7, 0.0, -5e-7], [0.2, 0.3, 0.5 + 5e-7]])
    truths = _RULES.truth(_CTX, p)
    assert truths.shape == (2, 2) and np.all((truths >= 0.0) & (truths <= 1.0))


@pytest.mark.parametrize(
    ("actions", "message"),
    [
        (np.array([0.0, 1.0]), "actions must be integers of shape (2,), got float64 (2,)"),
        (np.array([0, 1, 2]), "actions must be integers of shape (2,), got int64 (3,)"),
        (np.array([-1, 0]), "actions must be 0 (sell), 1 (hold) or 2 (buy)"),
        (np.array([0, 3]), "actions must be 0 (sell), 1 (hold) or 2 (buy)"),
    ],
)
def test_action_errors_are_exact(actions: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError) as err:
        _RULES.violation(_CTX, actions)
    assert str(err.value) == message


def test_truths_of_the_wrong_width_are_refused_by_name() -> None:
    with pytest.raises(ValueError) as err:
        _RULES.day_truth(np.ones((4, 3)), p=2)
    assert str(err.value) == "truths must have shape (n, 2), got (4, 3)"
    with pytest.raises(ValueError) as err:
        _RULES.day_truth(np.ones(2), p=2)
    assert str(err.value) == "truths must have shape (n, 2), got (2,)"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("crash_return_pct", 0.0, "crash_return_pct must be a finite number > 0, got 0.0"),
        ("high_vol_pct", -1.0, "high_vol_pct must be a finite number > 0, got -1.0"),
        ("deep_drawdown_pct", np.inf, "deep_drawdown_pct must be a finite number > 0, got inf"),
        ("sharpness", np.nan, "sharpness must be a finite number > 0, got nan"),
        ("position_limit", 0, "position_limit must be >= 1, got 0"),
    ],
)
def test_predicate_parameter_errors_are_exact(field: str, value: float, message: str) -> None:
    change: dict[str, Any] = {field: value}
    with pytest.raises(ValueError) as err:
        dataclasses.replace(_RULES.params, **change)
    assert str(err.value) == message


def test_constraint_set_errors_are_exact() -> None:
    c = SimpleNamespace(name="a", formula="crash", weight=1.0)
    with pytest.raises(ValueError) as err:
        ConstraintSet.compile([c, c], Predicates(), 3)
    assert str(err.value) == "constraint names must be unique: 'a' repeats"
    with pytest.raises(ValueError) as err:
        ConstraintSet.compile(
            [SimpleNamespace(name="b", formula="crash", weight=0.0)], Predicates(), 3
        )
    assert str(err.value) == "constraint 'b': weight must be finite and > 0, got 0.0"
    with pytest.raises(ValueError) as err:
        ConstraintSet(("a",), (), (1.0,), _RULES.params)
    assert str(err.value) == "names, formulas and weights must have the same length"


def test_compiled_constraints_keep_their_order_names_and_weights() -> None:
    assert _RULES.names == ("c1", "c2") and _RULES.weights == (1.5, 1.0) and len(_RULES) == 2
    assert _RULES.params.position_limit == 3


# ------------------------------------------------------- logic_ops: dtypes and ranges


def _connectives() -> list[tuple[str, Any]]:
    return [
        ("not", lambda a, b: not_(a)),
        ("and", and_),
        ("or", or_),
        ("implies", implies),
    ]


@pytest.mark.parametrize(("name", "op"), _connectives())
def test_connectives_compute_in_float64_whatever_the_operands_dtype(name: str, op: Any) -> None:
    # long double is 80 or 128 bits depending on the platform: a result in it would make
    # the log depend on the CPU. Each operand alone in long double must still give the
    # float64 result bit for bit.
    x = np.array([0.0, 0.1, 0.3, 0.7, 1.0])
    y = np.array([1.0, 0.9, 0.2, 0.6, 0.0])
    expected = op(x, y)
    assert expected.dtype == np.float64
    for xs, ys in ((x.astype(np.longdouble), y), (x, y.astype(np.longdouble))):
        out = op(xs, ys)
        assert out.dtype == np.float64, name
        assert out.tobytes() == expected.tobytes(), name


def test_connectives_follow_their_definitions() -> None:
    x, y = np.array([0.25, 0.5, 1.0]), np.array([0.5, 0.0, 0.75])
    assert np.array_equal(not_(x), [0.75, 0.5, 0.0])
    assert np.array_equal(and_(x, y), x * y)  # product t-norm
    assert np.allclose(or_(x, y), x + y - x * y, rtol=0.0, atol=1e-15)  # probabilistic sum
    assert np.allclose(implies(x, y), 1.0 - x + x * y, rtol=0.0, atol=1e-15)  # Reichenbach


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_forall_computes_one_minus_x_in_float64(dtype: Any) -> None:
    # 1 - x rounded in float32 would lose the low bits of small truth values.
    x = np.array([0.001, 0.3, 0.7], dtype=dtype)
    assert forall(x).tobytes() == forall(x.astype(np.float64)).tobytes()
    assert forall(x).dtype == np.float64


@pytest.mark.parametrize("fn", [forall, exists])
def test_aggregators_accept_exactly_the_rounding_tolerance_and_clip_it(fn: Any) -> None:
    lo_edge, hi_edge = -_RANGE_TOL, 1.0 + _RANGE_TOL
    assert float(fn([lo_edge], p=1.0)) == float(fn([0.0], p=1.0))
    assert float(fn([hi_edge], p=1.0)) == float(fn([1.0], p=1.0))
    assert float(fn([lo_edge, hi_edge], p=2.0)) == float(fn([0.0, 1.0], p=2.0))


def test_clipped_truths_keep_the_aggregates_in_the_unit_interval() -> None:
    assert float(exists([-_RANGE_TOL])) == 0.0
    assert float(forall([-_RANGE_TOL], p=1.0)) == 0.0
    assert float(exists([1.0 + _RANGE_TOL])) == 1.0
    assert float(forall([1.0 + _RANGE_TOL, 1.0])) == 1.0


@pytest.mark.parametrize(
    ("values", "bad"),
    [
        ([0.5, 2.0], "2.0"),
        ([0.0, -0.5], "-0.5"),
        ([-_RANGE_TOL, 1.5], "1.5"),
        ([1.0 + _RANGE_TOL, -1.0], "-1.0"),
        ([1.0, 0.0, float("nan")], "nan"),
        ([1.0, float("-inf")], "-inf"),
    ],
)
def test_the_range_error_names_the_first_value_outside_the_tolerance(
    values: list[float], bad: str
) -> None:
    for name, fn in (("forall", forall), ("exists", exists)):
        with pytest.raises(ValueError) as err:
            fn(values)
        assert str(err.value) == f"{name} expects truth values in [0, 1], got np.float64({bad})"
    with pytest.raises(ValueError) as err:
        sat_agg(values)
    assert str(err.value) == f"forall expects truth values in [0, 1], got np.float64({bad})"


def test_sat_agg_is_the_pmean_error_with_p_2_by_default() -> None:
    truths = [0.5, 1.0, 0.8]
    expected = 1.0 - math.sqrt((0.25 + 0.0 + 0.04) / 3)
    assert sat_agg(truths) == float(forall(truths, p=2.0))
    assert math.isclose(sat_agg(truths), expected, rel_tol=1e-12)


def test_sat_agg_passes_stable_on_to_forall() -> None:
    assert sat_agg([1.0, 1.0], stable=True) == 1.0 - EPS
    assert sat_agg([0.5, 0.9], p=3.0, stable=True) == float(forall([0.5, 0.9], p=3.0, stable=True))
    assert sat_agg([1.0, 1.0]) == 1.0


# ------------------------------------------------- logic_formula: depth and nesting


def _parens(depth: int, inner: str = "crash") -> str:
    return "(" * depth + inner + ")" * depth


def test_the_depth_limit_counts_one_level_per_connective() -> None:
    # A flat chain of n 'and's is left-deep with depth n + 1; a 'not' adds one level.
    parse_formula(" and ".join(["crash"] * MAX_DEPTH))  # depth 64: accepted
    with pytest.raises(FormulaError) as err:
        parse_formula(" and ".join(["crash"] * (MAX_DEPTH + 1)))
    assert err.value.problem == f"formula nests more than {MAX_DEPTH} levels deep"
    assert err.value.position is None
    negated = "not crash" + " and crash" * (MAX_DEPTH - 2)  # 62 ands over depth 2: 64
    parse_formula(negated)
    with pytest.raises(FormulaError) as err:
        parse_formula(negated + " and crash")
    assert err.value.position is None


def test_the_depth_of_what_is_not_a_formula_is_a_type_error() -> None:
    with pytest.raises(TypeError) as err:
        _depth("crash")  # type: ignore[arg-type]
    assert str(err.value) == "not a formula: 'crash'"


def test_parentheses_nest_at_most_max_depth_levels_and_the_error_says_where() -> None:
    parse_formula(_parens(MAX_DEPTH - 1))  # the whole formula is one level, then 63
    with pytest.raises(FormulaError) as err:
        parse_formula(_parens(MAX_DEPTH))
    # The 65th level opens at the predicate after the 64th '(': position 64.
    assert err.value.position == MAX_DEPTH
    assert err.value.problem == (
        f"formula nests more than {MAX_DEPTH} levels deep at position {MAX_DEPTH}"
    )


@pytest.mark.parametrize("sibling", ["(crash) and ", "not crash and ", "(not buys) or "])
@pytest.mark.parametrize("outer", [0, 10])
def test_a_closed_group_gives_back_its_nesting_level(sibling: str, outer: int) -> None:
    # Groups already closed (parenthesized or negated) do not count towards the nesting
    # of what follows them, and neither do they make room for more.
    inside = MAX_DEPTH - 1 - outer
    parse_formula(_parens(outer, sibling * 3 + _parens(inside)))
    with pytest.raises(FormulaError) as err:
        parse_formula(_parens(outer, sibling * 3 + _parens(inside + 1)))
    assert err.value.problem.startswith(f"formula nests more than {MAX_DEPTH} levels deep at")


def test_an_unknown_identifier_starting_with_an_underscore_is_an_unknown_predicate() -> None:
    with pytest.raises(FormulaError) as err:
        parse_formula("crash and _risky")
    assert err.value.position == 10
    assert err.value.problem == (
        "unknown predicate '_risky' at position 10; known predicates: " + ", ".join(PREDICATES)
    )


def test_an_unexpected_character_error_is_exact() -> None:
    with pytest.raises(FormulaError) as err:
        parse_formula("crash & buys")
    assert err.value.position == 6
    assert err.value.problem == (
        "unexpected character '&' at position 6: expected a predicate, "
        "'not', 'and', 'or', '->', '(' or ')'"
    )


# ------------------------------------------------ logic.py: predicates and evaluation


def test_the_sigmoid_is_the_logistic_function_on_both_sides_of_zero() -> None:
    z = np.array([-3.0, -0.5, 0.0, 0.25, 0.5, 0.999, 1.0, 3.0])
    expected = [1.0 / (1.0 + math.exp(-v)) for v in z]
    assert np.allclose(_sigmoid(z), expected, rtol=1e-15, atol=0.0)
    assert np.allclose(_sigmoid(z) + _sigmoid(-z), 1.0, rtol=0.0, atol=1e-15)


def test_the_sigmoid_is_flat_past_700_without_underflowing_to_zero() -> None:
    # exp sees at most 700 in magnitude: beyond it the result is the value at -700.
    far = _sigmoid(np.array([-700.0, -700.5, -800.0, -1e308]))
    assert far[0] > 0.0 and np.all(far == far[0])
    assert np.all(_sigmoid(np.array([700.0, 800.0, 1e308])) == 1.0)


def _params(**change: float) -> PredicateParams:
    base: dict[str, Any] = {
        "crash_return_pct": 2.0,
        "high_vol_pct": 0.5,
        "deep_drawdown_pct": 4.0,
        "sharpness": 3.0,
        "position_limit": 3,
    }
    base.update(change)
    return PredicateParams(**base)


def test_crash_is_the_sigmoid_of_the_fall_over_its_threshold() -> None:
    prm = _params()
    ctx = np.array([[-2.0, 0.0, 0.0, 0.0], [-4.0, 0.0, 0.0, 0.0], [-1.0, 0.0, 0.0, 0.0]])
    v, _ = evaluate(Pred("crash"), ctx, np.full((3, 3), 1 / 3), prm)
    k = 3.0  # sigmoid(k * (-ret / 2 - 1)): 0 at the threshold, 1 at twice it, -1/2 at half
    assert np.allclose(v, [0.5, 1 / (1 + math.exp(-k)), 1 / (1 + math.exp(k / 2))], rtol=1e-14)


def test_evaluate_names_an_unknown_predicate_and_a_value_that_is_not_a_formula() -> None:
    ctx, probs = np.zeros((1, 4)), np.full((1, 3), 1 / 3)
    with pytest.raises(KeyError) as key:
        evaluate(Pred("moon"), ctx, probs, _params())
    assert key.value.args == ("moon",)
    with pytest.raises(TypeError) as err:
        evaluate(42, ctx, probs, _params())  # type: ignore[arg-type]
    assert str(err.value) == "not a formula: 42"


_SET = ConstraintSet.compile(
    [
        Constraint(name="c1", formula="crash -> not adds_exposure"),
        Constraint(name="c2", formula="high_vol and long -> sells or reduces_exposure"),
        Constraint(name="c3", formula="deep_drawdown -> not buys"),
    ],
    Predicates(),
    3,
)
_CTX3 = np.array(
    [[-1.3, 0.7, 2.1, 2.0], [0.4, 0.1, 0.0, -1.0], [-0.2, 0.33, 5.5, 3.0], [-3.1, 1.9, 0.7, 1.0]]
)
_P3 = np.array([[0.1, 0.2, 0.7], [0.3, 0.3, 0.4], [0.6, 0.3, 0.1], [0.25, 0.5, 0.25]])


@pytest.mark.parametrize("dtype", [np.float32, np.longdouble])
def test_truths_compute_in_float64_whatever_the_context_dtype(dtype: Any) -> None:
    # A float32 context would be divided in float32, a long double one in the platform's
    # extended precision: either would make the log depend on the input's dtype or CPU.
    ctx = _CTX3.astype(dtype)
    expected = _SET.truth_and_grad(ctx.astype(np.float64), _P3)
    got = _SET.truth_and_grad(ctx, _P3)
    assert got[0].tobytes() == expected[0].tobytes()
    assert got[1].tobytes() == expected[1].tobytes()
    v, j = evaluate(_SET.formulas[1], ctx, _P3, _SET.params)
    v64, j64 = evaluate(_SET.formulas[1], ctx.astype(np.float64), _P3, _SET.params)
    assert v.dtype == np.float64 and v.tobytes() == v64.tobytes()
    assert j.tobytes() == j64.tobytes()


def test_truths_compute_in_float64_whatever_the_probabilities_dtype() -> None:
    probs = _P3.astype(np.longdouble)
    v, j = evaluate(_SET.formulas[1], _CTX3, probs, _SET.params)
    v64, j64 = evaluate(_SET.formulas[1], _CTX3, probs.astype(np.float64), _SET.params)
    assert v.dtype == np.float64 and v.tobytes() == v64.tobytes()
    assert j.dtype == np.float64 and j.tobytes() == j64.tobytes()


def test_float32_probabilities_are_summed_exactly_before_the_tolerance() -> None:
    # These float32 numbers sum to 1 + 1.006e-6 exactly (a float32 sum rounds that to
    # 1 + 9.5e-7, inside the tolerance): the row misses 1 by more than 1e-6.
    row = np.array([0.6369616985321045, 0.09794291108846664, 0.26509639620780945], np.float32)
    assert abs(float(np.sum(row.astype(np.float64))) - 1.0) > 1e-6
    with pytest.raises(ValueError) as err:
        _RULES.truth(_CTX, np.array([row, [0.2, 0.3, 0.5]], dtype=np.float32))
    assert str(err.value) == "each row of action probabilities must sum to 1"


@pytest.mark.parametrize(
    "row",
    [
        [1.0 + 2e-6, -1e-6, -1e-6],  # only above 1 by more than the tolerance
        [-2e-6, 1.0, 2e-6],  # only below 0 by more than the tolerance
    ],
)
def test_each_side_of_the_probability_range_is_checked_alone(row: list[float]) -> None:
    probs = np.array([row, [0.2, 0.3, 0.5]])
    assert abs(probs[0].sum() - 1.0) < 1e-12
    with pytest.raises(ValueError) as err:
        _RULES.truth(_CTX, probs)
    assert str(err.value) == "action probabilities must be within [0, 1]"


def test_probabilities_exactly_at_the_tolerance_are_accepted_and_truths_clipped() -> None:
    rules = ConstraintSet.compile(
        [Constraint(name="nb", formula="not buys"), Constraint(name="b", formula="buys")],
        Predicates(),
        3,
    )
    probs = np.array([[-1e-6, 0.0, 1.0 + 1e-6], [0.0, -1e-6, 1.0 + 1e-6]])
    truths = rules.truth(_CTX, probs)
    assert truths.tolist() == [[0.0, 1.0], [0.0, 1.0]]  # 1 - (1 + 1e-6) clipped to 0


def test_a_formula_error_keeps_its_text_and_position_when_compiled() -> None:
    with pytest.raises(FormulaError) as err:
        ConstraintSet.compile([Constraint(name="oops", formula="crash -> (buys")], Predicates(), 3)
    assert (err.value.text, err.value.position, err.value.constraint) == (
        "crash -> (buys",
        14,
        "oops",
    )


def test_day_truth_and_day_sat_agg_pass_stable_and_p_on() -> None:
    truths = np.array([[1.0, 0.2, 0.9], [0.8, 1.0, 0.6], [1.0, 0.7, 0.95]])
    for stable in (False, True):
        day = forall(truths, p=3.0, axis=0, stable=stable)
        assert _SET.day_truth(truths, 3.0, stable).tobytes() == day.tobytes()
        expected = sat_agg(day, p=4.0, stable=stable)
        assert _SET.day_sat_agg(truths, 3.0, 4.0, stable) == expected
    assert _SET.day_truth(np.ones((2, 3)), 2.0, stable=True).tolist() == [1.0 - EPS] * 3
    # stable SatAgg of stable day truths: pi_1 applied twice to 1.
    assert _SET.day_sat_agg(np.ones((2, 3)), 2.0, 2.0, stable=True) == pytest.approx(
        (1.0 - EPS) ** 2, rel=1e-15
    )


def test_the_jacobian_of_an_implication_with_an_action_antecedent_is_exact() -> None:
    # truth = 1 - b + b * s for "buys -> sells": d/d sells = b, d/d holds = 0,
    # d/d buys = s - 1 (the antecedent's factor; state antecedents have no jacobian).
    probs = np.array([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3], [0.0, 0.0, 1.0]])
    v, jac = evaluate(parse_formula("buys -> sells"), np.zeros((3, 4)), probs, _params())
    s, b = probs[:, 0], probs[:, 2]
    assert np.allclose(v, 1.0 - b + b * s, rtol=0.0, atol=1e-15)
    assert np.allclose(jac, np.column_stack([b, np.zeros(3), s - 1.0]), rtol=0.0, atol=1e-15)


def test_formula_predicates_are_the_names_the_formula_uses() -> None:
    assert formula_predicates(Pred("crash")) == frozenset({"crash"})
    f = parse_formula("crash -> not (buys or holds and crash)")
    assert formula_predicates(f) == frozenset({"crash", "buys", "holds"})
