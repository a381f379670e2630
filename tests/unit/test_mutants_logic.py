"""Logic behaviour the older tests left open (found by mutation testing, QUALITY.md):
float64 projections, FormulaError's message and pickling with a constraint name, and the
error for a value that is not a formula."""

from __future__ import annotations

import dataclasses
import pickle
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from janus_sim.config import Constraint, Predicates
from janus_sim.core.logic import ConstraintSet
from janus_sim.core.logic_formula import (
    FormulaError,
    format_formula,
    formula_predicates,
    parse_formula,
)
from janus_sim.core.logic_ops import EPS, pi_0, pi_1


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
