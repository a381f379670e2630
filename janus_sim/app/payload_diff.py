"""What differs between two event payloads, field by field: ``payload_diff``.

A ``FieldDiff`` names one differing field, a row column (``kind``, ``cycle``...) or a
payload path (``mean``, ``cov``, ``rules[2].name``), with its expected (side A) and
actual (side B) values. For an array it says how many elements differ, the first few
indices (``MAX_INDICES``) and the largest absolute difference, not the arrays
themselves. ``divergence`` builds its reports from these.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_INDICES = 5
"""At most this many differing indices are listed per array."""


@dataclass(frozen=True)
class FieldDiff:
    """One differing field: a row column (``kind``, ``cycle``...) or a payload path
    (``mean``, ``cov``, ``rules[2].name``). Arrays are summarized, scalars shown."""

    path: str
    expected: str
    actual: str
    n_differ: int = 1
    """Elements that differ (1 for a scalar)."""
    size: int = 1
    """Elements compared (1 for a scalar)."""
    indices: tuple[tuple[int, ...], ...] = ()
    """The first differing indices of an array (at most ``MAX_INDICES``)."""
    max_abs_diff: float | None = None
    """The largest |expected - actual| over the differing numbers; None if not numbers."""

    def line(self) -> str:
        if self.size > 1 or self.indices:
            where = ", ".join("[" + ", ".join(map(str, i)) + "]" for i in self.indices)
            more = "" if self.n_differ <= len(self.indices) else ", ..."
            big = "" if self.max_abs_diff is None else f"; max |diff| {self.max_abs_diff:.6g}"
            return (
                f"{self.path}: {self.n_differ} of {self.size} elements differ at {where}{more}"
                f"{big} (first: expected {self.expected}, actual {self.actual})"
            )
        return f"{self.path}: expected {self.expected}, actual {self.actual}"


def short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _numeric_array(value: Any) -> np.ndarray | None:
    """A rectangular list of numbers as a float array (bools and ragged lists: None)."""
    if not isinstance(value, list) or not value:
        return None
    try:
        arr = np.asarray(value)
    except ValueError:  # ragged
        return None
    if arr.dtype.kind not in "if":
        return None
    return arr.astype(np.float64)


def _array_diff(path: str, x: np.ndarray, y: np.ndarray) -> FieldDiff | None:
    if x.shape != y.shape:
        return FieldDiff(path, f"shape {x.shape}", f"shape {y.shape}")
    bad = np.argwhere(x != y)
    if not len(bad):
        return None
    first = tuple(int(i) for i in bad[0])
    return FieldDiff(
        path,
        expected=repr(float(x[first])),
        actual=repr(float(y[first])),
        n_differ=len(bad),
        size=int(x.size),
        indices=tuple(tuple(int(i) for i in row) for row in bad[:MAX_INDICES]),
        max_abs_diff=float(np.max(np.abs(x[tuple(bad.T)] - y[tuple(bad.T)]))),
    )


def _diff(path: str, x: Any, y: Any, out: list[FieldDiff]) -> None:
    if isinstance(x, dict) and isinstance(y, dict):
        for key in sorted(set(x) | set(y)):
            sub = f"{path}.{key}" if path else str(key)
            if key not in x:
                out.append(FieldDiff(sub, "(absent)", short(y[key])))
            elif key not in y:
                out.append(FieldDiff(sub, short(x[key]), "(absent)"))
            else:
                _diff(sub, x[key], y[key], out)
        return
    if isinstance(x, list) and isinstance(y, list):
        ax, ay = _numeric_array(x), _numeric_array(y)
        if ax is not None and ay is not None:
            hit = _array_diff(path, ax, ay)
            if hit is not None:
                out.append(hit)
            return
        if len(x) != len(y):
            out.append(FieldDiff(path, f"{len(x)} items", f"{len(y)} items"))
            return
        for i, (u, v) in enumerate(zip(x, y, strict=True)):
            _diff(f"{path}[{i}]", u, v, out)
        return
    if x == y and type(x) is type(y):
        return
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (x, y))
    big = abs(float(x) - float(y)) if numbers else None
    out.append(FieldDiff(path or "payload", short(x), short(y), max_abs_diff=big))


def payload_diff(expected: str, actual: str) -> list[FieldDiff]:
    """Every differing field of two JSON payloads (text that is not JSON: one diff)."""
    try:
        x, y = json.loads(expected), json.loads(actual)
    except ValueError:
        return [FieldDiff("payload", short(expected), short(actual))]
    out: list[FieldDiff] = []
    _diff("", x, y, out)
    return out
