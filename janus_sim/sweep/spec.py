"""The sweep file: which scenarios, seeds and parameter settings a sweep runs.

A sweep is the product scenarios x settings x seeds, in that order. A *setting* is a
set of overrides of scenario fields, named by dotted path (``replay.alpha``). Settings
come from a ``grid`` (the Cartesian product of listed values, in the file's key order)
or from a seeded random ``sample`` (each draw in the file's field order), or there is
one setting, the scenarios' own values. Everything here is pure: the same sweep text
gives the same settings, in the same order, on any machine.

    name: alpha_study              # default: the file's stem
    scenarios: [crash_week.yaml]   # relative to the sweep file
    seeds: [1, 2, 3]               # or {start: 0, count: 100}
    grid:
      replay.alpha: [0.4, 0.6, 0.8]
      neocortex.tau_schema: [3, 5]
    # or: sample: {n: 20, seed: 11, fields: {replay.alpha: {uniform: [0.3, 0.9]}}}
    retries: 2                     # extra attempts for a failed trial
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any, Self

import numpy as np
from pydantic import Field, field_validator, model_validator

from janus_sim.config import Strict

Scalar = bool | int | float | str
Setting = tuple[tuple[str, Scalar], ...]
"""(dotted path, value) pairs, in the sweep file's field order."""

MAX_TRIALS = 100_000
"""A bound on one sweep's size, so a typo in a range fails at once instead of filling a
disk."""
DIGITS = 6
"""Significant digits kept of a sampled float: labels stay readable and the value the
run uses is exactly the one in its label."""
RESERVED = ("name", "seed")
"""Fields a setting may not override: the scenario's identity and the sweep's seeds."""

FieldPath = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")]


class SeedRange(Strict):
    """``count`` consecutive seeds from ``start``."""

    start: Annotated[int, Field(ge=0)] = 0
    count: Annotated[int, Field(ge=1, le=MAX_TRIALS)]

    def seeds(self) -> tuple[int, ...]:
        return tuple(range(self.start, self.start + self.count))


class Distribution(Strict):
    """Exactly one of: ``uniform: [lo, hi]``, ``loguniform: [lo, hi]`` (lo > 0),
    ``int: [lo, hi]`` (inclusive), ``choice: [v1, v2, ...]``."""

    uniform: tuple[float, float] | None = None
    loguniform: tuple[float, float] | None = None
    int_: Annotated[tuple[int, int] | None, Field(alias="int")] = None
    choice: Annotated[tuple[Scalar, ...], Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        given = [k for k in ("uniform", "loguniform", "int_", "choice") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("expected exactly one of uniform, loguniform, int, choice")
        for key in ("uniform", "loguniform", "int_"):
            bounds = getattr(self, key)
            if bounds is not None and not bounds[0] <= bounds[1]:
                raise ValueError(f"{key.rstrip('_')}: expected [low, high] with low <= high")
        if self.loguniform is not None and self.loguniform[0] <= 0:
            raise ValueError("loguniform: expected a positive low bound")
        return self

    def draw(self, rng: np.random.Generator) -> Scalar:
        if self.uniform is not None:
            return _round(float(rng.uniform(*self.uniform)))
        if self.loguniform is not None:
            lo, hi = self.loguniform
            return _round(math.exp(float(rng.uniform(math.log(lo), math.log(hi)))))
        if self.int_ is not None:
            return int(rng.integers(self.int_[0], self.int_[1] + 1))
        assert self.choice is not None  # the validator guarantees one distribution
        return self.choice[int(rng.integers(len(self.choice)))]


def _round(x: float) -> float:
    return float(f"{x:.{DIGITS}g}")


class Sample(Strict):
    """``n`` settings drawn from ``fields`` with a generator seeded by ``seed``."""

    n: Annotated[int, Field(ge=1, le=MAX_TRIALS)]
    seed: Annotated[int, Field(ge=0)] = 0
    fields: dict[FieldPath, Distribution]

    @field_validator("fields")
    @classmethod
    def _some(cls, v: dict[str, Distribution]) -> dict[str, Distribution]:
        if not v:
            raise ValueError("expected at least one field to sample")
        return v


class SweepSpec(Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")] | None = None
    description: str = ""
    scenarios: Annotated[tuple[Annotated[str, Field(min_length=1)], ...], Field(min_length=1)]
    seeds: Annotated[tuple[Annotated[int, Field(ge=0, lt=2**63)], ...], Field(min_length=1)] | (
        SeedRange
    ) = (0,)
    grid: dict[FieldPath, Annotated[tuple[Scalar, ...], Field(min_length=1)]] | None = None
    sample: Sample | None = None
    retries: Annotated[int, Field(ge=0, le=10)] = 2

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.grid is not None and self.sample is not None:
            raise ValueError("give grid or sample, not both")
        seeds = self.seed_list()
        if len(set(seeds)) != len(seeds):
            raise ValueError("seeds: each seed may appear once")
        if len(set(self.scenarios)) != len(self.scenarios):
            raise ValueError("scenarios: each scenario file may appear once")
        for path in self.swept_fields():
            if path in RESERVED:
                what = "seeds come from `seeds`" if path == "seed" else "it names the scenario"
                raise ValueError(f"{path}: cannot be swept ({what})")
        for path, values in (self.grid or {}).items():
            if len({json.dumps(v) for v in values}) != len(values):
                raise ValueError(f"grid.{path}: each value may appear once")
        n = len(self.scenarios) * len(self.settings()) * len(seeds)
        if n > MAX_TRIALS:
            raise ValueError(f"the sweep has {n:,} trials: expected at most {MAX_TRIALS:,}")
        return self

    def seed_list(self) -> tuple[int, ...]:
        return self.seeds.seeds() if isinstance(self.seeds, SeedRange) else self.seeds

    def swept_fields(self) -> tuple[str, ...]:
        if self.grid is not None:
            return tuple(self.grid)
        if self.sample is not None:
            return tuple(self.sample.fields)
        return ()

    def settings(self) -> tuple[Setting, ...]:
        """Every setting, in sweep order: ``((),)`` when nothing is swept."""
        if self.grid is not None:
            out: list[Setting] = [()]
            for path, values in self.grid.items():  # the first key varies slowest
                out = [(*s, (path, v)) for s in out for v in values]
            return tuple(out)
        if self.sample is not None:
            rng = np.random.default_rng(self.sample.seed)
            fields = self.sample.fields
            return tuple(
                tuple((path, dist.draw(rng)) for path, dist in fields.items())
                for _ in range(self.sample.n)
            )
        return ((),)


def params_json(setting: Setting) -> str:
    """A setting as canonical JSON (sorted keys): its identity in ids and tables."""
    return json.dumps(dict(setting), sort_keys=True, separators=(",", ":"))


def setting_label(setting: Setting) -> str:
    """``replay.alpha=0.6, neocortex.tau_schema=5``, or ``defaults``."""
    if not setting:
        return "defaults"
    return ", ".join(f"{path}={json.dumps(v) if isinstance(v, str) else v}" for path, v in setting)


def apply_setting(
    doc: dict[str, Any], setting: Setting, fields: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A copy of the scenario document ``doc`` with the setting's values in place.

    ``fields`` is the full document (every field, defaults included; default: ``doc``)
    that says which paths exist; ``doc`` may hold only the fields a file set, since a
    scenario's validators may refuse a default written out (a market of real bars
    refuses synthetic fields). Raises KeyError(path, problem) for a path that names no
    scenario field."""
    out = json.loads(json.dumps(doc))
    for path, value in setting:
        node, known = out, fields if fields is not None else doc
        parts = path.split(".")
        for i, part in enumerate(parts):
            parent = ".".join(parts[:i])
            if not isinstance(known, dict):
                raise KeyError(path, f"{parent} is a value, not a mapping of fields")
            if part not in known:
                names = ", ".join(sorted(known)) or "none"
                under = f"under {parent}" if parent else "at the top level"
                raise KeyError(path, f"not a scenario field (fields {under}: {names})")
            if i == len(parts) - 1:
                node[part] = value
            else:
                node = node.setdefault(part, {})
                known = known[part]
    return out
