"""Constraint formulas: the predicate vocabulary, the formula tree and its parser.

Grammar (implication is right-associative and binds loosest)::

    expr  := disj ('->' expr)?
    disj  := conj ('or' conj)*
    conj  := unary ('and' unary)*
    unary := 'not' unary | '(' expr ')' | PREDICATE
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

STATE_PREDICATES: tuple[str, ...] = ("crash", "high_vol", "deep_drawdown", "long", "short", "flat")
ACTION_PREDICATES: tuple[str, ...] = (
    "buys",
    "sells",
    "holds",
    "adds_exposure",
    "reduces_exposure",
    "exceeds_limit",
)
PREDICATES: tuple[str, ...] = STATE_PREDICATES + ACTION_PREDICATES

MAX_DEPTH = 64
"""Deepest formula accepted; keeps parsing and evaluation recursion far from Python's limit."""

# --------------------------------------------------------------------------- formulas


class FormulaError(ValueError):
    """A formula does not parse or names an unknown predicate.

    ``problem`` names the character position and what was expected (or the unknown
    predicate and the known ones); ``position`` is that 0-based index (None when the
    problem has no single place); ``constraint`` is the constraint's name when known.
    """

    def __init__(
        self, problem: str, *, text: str, position: int | None, constraint: str | None = None
    ) -> None:
        self.problem = problem
        self.text = text
        self.position = position
        self.constraint = constraint
        where = f"constraint {constraint!r}: " if constraint is not None else ""
        super().__init__(f"{where}{problem} (in formula {text!r})")

    def __reduce__(self) -> tuple[Callable[..., FormulaError], tuple[object, ...]]:
        # The default reduce would call __init__ with the message alone.
        return _formula_error, (self.problem, self.text, self.position, self.constraint)


def _formula_error(
    problem: str, text: str, position: int | None, constraint: str | None
) -> FormulaError:
    return FormulaError(problem, text=text, position=position, constraint=constraint)


@dataclass(frozen=True, slots=True)
class Pred:
    name: str


@dataclass(frozen=True, slots=True)
class Not:
    arg: Formula


@dataclass(frozen=True, slots=True)
class And:
    left: Formula
    right: Formula


@dataclass(frozen=True, slots=True)
class Or:
    left: Formula
    right: Formula


@dataclass(frozen=True, slots=True)
class Implies:
    antecedent: Formula
    consequent: Formula


Formula: TypeAlias = Pred | Not | And | Or | Implies

_PRECEDENCE: dict[type, int] = {Implies: 1, Or: 2, And: 3, Not: 4, Pred: 5}


def format_formula(f: Formula) -> str:
    """``f`` as text with the fewest parentheses; ``parse_formula`` gives ``f`` back exactly."""

    def wrap(child: Formula, min_prec: int) -> str:
        text = format_formula(child)
        return f"({text})" if _PRECEDENCE[type(child)] < min_prec else text

    match f:
        case Pred(name):
            return name
        case Not(arg):
            return f"not {wrap(arg, 4)}"
        case And(left, right):  # left-associative: only the right operand needs a tighter one
            return f"{wrap(left, 3)} and {wrap(right, 4)}"
        case Or(left, right):
            return f"{wrap(left, 2)} or {wrap(right, 3)}"
        case Implies(a, c):  # right-associative
            return f"{wrap(a, 2)} -> {wrap(c, 1)}"
    raise TypeError(f"not a formula: {f!r}")


def formula_predicates(f: Formula) -> frozenset[str]:
    """The predicate names ``f`` uses."""
    match f:
        case Pred(name):
            return frozenset((name,))
        case Not(arg):
            return formula_predicates(arg)
        case And(a, b) | Or(a, b) | Implies(a, b):
            return formula_predicates(a) | formula_predicates(b)
    raise TypeError(f"not a formula: {f!r}")


def _depth(f: Formula) -> int:
    match f:
        case Pred():
            return 1
        case Not(arg):
            return 1 + _depth(arg)
        case And(a, b) | Or(a, b) | Implies(a, b):
            return 1 + max(_depth(a), _depth(b))
    raise TypeError(f"not a formula: {f!r}")


_TOKEN = re.compile(r"\s*(?:(?P<ident>[A-Za-z_][A-Za-z0-9_]*)|(?P<sym>->|[()]))")
_KEYWORDS = frozenset(("and", "or", "not"))


@dataclass(frozen=True, slots=True)
class _Tok:
    text: str  # "" at the end of the formula
    pos: int

    def describe(self) -> str:
        return repr(self.text) if self.text else "end of formula"


def _tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i = 0
    while True:
        m = _TOKEN.match(text, i)
        if m is None or m.lastgroup is None:
            j = len(text) - len(text[i:].lstrip())
            if j == len(text):
                toks.append(_Tok("", j))
                return toks
            raise FormulaError(
                f"unexpected character {text[j]!r} at position {j}: expected a predicate, "
                "'not', 'and', 'or', '->', '(' or ')'",
                text=text,
                position=j,
            )
        toks.append(_Tok(m.group(m.lastgroup), m.start(m.lastgroup)))
        i = m.end()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0
        self.nesting = 0

    def error(self, problem: str, position: int) -> FormulaError:
        return FormulaError(problem, text=self.text, position=position)

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def enter(self) -> None:
        self.nesting += 1
        if self.nesting > MAX_DEPTH:
            raise self.error(
                f"formula nests more than {MAX_DEPTH} levels deep at position {self.tok.pos}",
                self.tok.pos,
            )

    def parse(self) -> Formula:
        f = self.expr()
        if self.tok.text == ")":
            raise self.error(
                f"unbalanced parenthesis: ')' at position {self.tok.pos} has no matching '('",
                self.tok.pos,
            )
        if self.tok.text:
            raise self.error(
                f"expected 'and', 'or', '->' or end of formula at position {self.tok.pos}, "
                f"found {self.tok.describe()}",
                self.tok.pos,
            )
        if _depth(f) > MAX_DEPTH:  # long flat chains like a and b and c ... are left-deep
            raise FormulaError(
                f"formula nests more than {MAX_DEPTH} levels deep", text=self.text, position=None
            )
        return f

    def expr(self) -> Formula:
        self.enter()
        left = self.disj()
        if self.tok.text == "->":
            self.i += 1
            left = Implies(left, self.expr())
        self.nesting -= 1
        return left

    def disj(self) -> Formula:
        left = self.conj()
        while self.tok.text == "or":
            self.i += 1
            left = Or(left, self.conj())
        return left

    def conj(self) -> Formula:
        left = self.unary()
        while self.tok.text == "and":
            self.i += 1
            left = And(left, self.unary())
        return left

    def unary(self) -> Formula:
        tok = self.tok
        if tok.text == "not":
            self.i += 1
            self.enter()
            f: Formula = Not(self.unary())
            self.nesting -= 1
            return f
        if tok.text == "(":
            self.i += 1
            f = self.expr()
            if self.tok.text != ")":
                raise self.error(
                    f"unbalanced parenthesis: '(' at position {tok.pos} is never closed; "
                    f"expected ')' at position {self.tok.pos}, found {self.tok.describe()}",
                    self.tok.pos,
                )
            self.i += 1
            return f
        if tok.text and (tok.text[0].isalpha() or tok.text[0] == "_") and tok.text not in _KEYWORDS:
            if tok.text not in PREDICATES:
                raise self.error(
                    f"unknown predicate {tok.text!r} at position {tok.pos}; "
                    f"known predicates: {', '.join(PREDICATES)}",
                    tok.pos,
                )
            self.i += 1
            return Pred(tok.text)
        raise self.error(
            f"expected a predicate, 'not' or '(' at position {tok.pos}, found {tok.describe()}",
            tok.pos,
        )


def parse_formula(text: str) -> Formula:
    """Parse ``text`` by the module's grammar into an immutable formula tree.

    ``and``/``or`` are left-associative, ``->`` right-associative; precedence from
    tightest: ``not``, ``and``, ``or``, ``->``. Raises FormulaError (a ValueError) naming
    the position and what was expected, or the unknown predicate and the known ones.
    """
    return _Parser(text).parse()
