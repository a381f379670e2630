"""When two runs' values agree: the tolerances of ``compare`` and its scalar rule.

Two values agree when ``|a - b| <= atol + rtol * max(|a|, |b|)`` (symmetric); NaN agrees
only with NaN, an infinity only with itself. Counts (``is_count``) must be equal unless a
per-metric tolerance names them. ``Tolerances`` holds the global and per-metric
``(rtol, atol)``; ``parse_tol`` reads ``--tol``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from janus_sim.errors import ConfigError

COUNT_METRICS = frozenset(
    {
        "transitions",
        "buffer_size",
        "schemas_created",
        "schemas_updated",
        "schemas_pruned",
        "consolidated",
        "anomalies",
    }
)
"""Cycle metrics that count things (besides any ``n_*`` or ``*_count`` name)."""


def is_count(name: str) -> bool:
    """Whether a metric counts things, so that only exact equality agrees."""
    return name in COUNT_METRICS or name.startswith("n_") or name.endswith("_count")


@dataclass(frozen=True)
class Tolerances:
    """Global ``rtol``/``atol`` and per-metric ``(name, rtol, atol)`` overrides."""

    rtol: float = 1e-9
    atol: float = 1e-12
    per_metric: tuple[tuple[str, float, float], ...] = ()

    def __post_init__(self) -> None:
        for what, value in [("--rtol", self.rtol), ("--atol", self.atol)] + [
            (f"--tol {n}", v) for n, r, a in self.per_metric for v in (r, a)
        ]:
            if not (math.isfinite(value) and value >= 0):
                raise ConfigError(what, "", f"expected a finite number >= 0, got {value}")

    def for_metric(self, name: str) -> tuple[float, float]:
        """(rtol, atol) for ``name``: its override, else (0, 0) for counts, else global."""
        for n, r, a in self.per_metric:
            if n == name:
                return r, a
        return (0.0, 0.0) if is_count(name) else (self.rtol, self.atol)


DEFAULT_TOLERANCES = Tolerances()


def parse_tol(text: str) -> tuple[str, float, float]:
    """``NAME=TOL`` (rtol = atol = TOL) or ``NAME=RTOL,ATOL``; ConfigError otherwise."""
    name, sep, values = text.partition("=")
    parts = values.split(",")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        numbers = []
    if not sep or not name.strip() or len(numbers) not in (1, 2):
        raise ConfigError(f"--tol {text}", "", "expected NAME=TOL or NAME=RTOL,ATOL")
    rtol, atol = numbers if len(numbers) == 2 else numbers * 2
    return name.strip(), rtol, atol


def check_tolerance_names(tol: Tolerances, known: set[str]) -> None:
    """ConfigError when a per-metric tolerance names none of the ``known`` metrics."""
    for name, _, _ in tol.per_metric:
        if name not in known:
            shown = ", ".join(sorted(known))
            raise ConfigError(f"--tol {name}", "", f"no such metric in either run; known: {shown}")


def values_agree(a: float | None, b: float | None, rtol: float, atol: float) -> bool:
    """The scalar agreement rule of the module docstring (``None``: metric absent)."""
    if a is None or b is None:
        return a is None and b is None
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if a == b:
        return True
    if not (math.isfinite(a) and math.isfinite(b)):
        return False
    return abs(a - b) <= atol + rtol * max(abs(a), abs(b))
