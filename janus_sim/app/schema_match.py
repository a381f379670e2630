"""Two schema states side by side: pairing by id, then by nearest centroid, and how far
each pair lies apart.

Schema ids are deterministic (``schema-<cycle>-<n>``), so across two runs of different
code an id names "the n-th schema born that night", which is usually, not always, the
same memory; schemas whose ids have no partner are paired by their means instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from janus_sim.core.neocortex import Schema


def arrays_agree(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> bool:
    """Elementwise ``|a - b| <= atol + rtol * max(|a|, |b|)`` (symmetric in a and b); NaN
    agrees only with NaN, an infinity only with itself; other shapes never agree."""
    if a.shape != b.shape:
        return False
    with np.errstate(invalid="ignore", over="ignore"):
        close = np.abs(a - b) <= atol + rtol * np.maximum(np.abs(a), np.abs(b))
    finite = np.isfinite(a) & np.isfinite(b)
    return bool(np.all((a == b) | (np.isnan(a) & np.isnan(b)) | (finite & close)))


MatchKind = Literal["id", "centroid", "only_a", "only_b"]


@dataclass(frozen=True)
class SchemaPair:
    a_id: str | None
    b_id: str | None
    matched_by: MatchKind
    mean_shift: float
    """Euclidean distance between the means (NaN when unpaired or of other dimension)."""
    cov_change: float
    """Frobenius norm of the covariance difference (NaN likewise)."""
    point_delta: int
    """Points in B minus points in A (an unpaired schema counts all its points)."""
    ok: bool


@dataclass(frozen=True)
class SchemaComparison:
    n_a: int
    n_b: int
    pairs: tuple[SchemaPair, ...]

    @property
    def ok(self) -> bool:
        return all(p.ok for p in self.pairs)

    def count(self, kind: MatchKind) -> int:
        return sum(p.matched_by == kind for p in self.pairs)

    @property
    def max_mean_shift(self) -> float:
        return max((p.mean_shift for p in self.pairs if p.b_id and p.a_id), default=0.0)

    @property
    def max_cov_change(self) -> float:
        return max((p.cov_change for p in self.pairs if p.b_id and p.a_id), default=0.0)

    @property
    def abs_point_delta(self) -> int:
        return sum(abs(p.point_delta) for p in self.pairs)


def match_schemas(
    a: Mapping[str, Schema], b: Mapping[str, Schema]
) -> list[tuple[str | None, str | None, MatchKind]]:
    """Pairs (a id, b id, how): equal ids first, in A's order; then the remaining
    schemas of equal dimension by nearest centroid (minimum total Euclidean distance
    between means, Hungarian method); whatever is left is unpaired (only_a / only_b)."""
    pairs: list[tuple[str | None, str | None, MatchKind]] = [
        (sid, sid, "id") for sid in a if sid in b
    ]
    rest_a = [sid for sid in a if sid not in b]
    rest_b = [sid for sid in b if sid not in a]
    paired_a: set[str] = set()
    paired_b: set[str] = set()
    for dim in sorted({a[s].dim for s in rest_a} & {b[s].dim for s in rest_b}):
        ia = [s for s in rest_a if a[s].dim == dim]
        ib = [s for s in rest_b if b[s].dim == dim]
        ma = np.stack([a[s].mean for s in ia])
        mb = np.stack([b[s].mean for s in ib])
        cost = np.linalg.norm(ma[:, None, :] - mb[None, :, :], axis=2)
        # Imported here: scipy.optimize is a quarter of a second that every command
        # importing the comparison (`run` among them) would pay for nothing.
        from scipy.optimize import linear_sum_assignment

        rows, cols = linear_sum_assignment(cost)
        for r, c in sorted(zip(rows.tolist(), cols.tolist(), strict=True)):
            pairs.append((ia[r], ib[c], "centroid"))
            paired_a.add(ia[r])
            paired_b.add(ib[c])
    pairs += [(s, None, "only_a") for s in rest_a if s not in paired_a]
    pairs += [(None, s, "only_b") for s in rest_b if s not in paired_b]
    return pairs


def compare_schemas(
    a: Mapping[str, Schema], b: Mapping[str, Schema], rtol: float, atol: float
) -> SchemaComparison:
    """Pair the schemas (``match_schemas``) and measure each pair: a pair agrees when its
    point counts are equal and its means and covariances agree elementwise
    (``arrays_agree``); an unpaired schema never agrees."""
    out = []
    nan = float("nan")
    for ia, ib, how in match_schemas(a, b):
        sa = a[ia] if ia is not None else None
        sb = b[ib] if ib is not None else None
        if sa is None or sb is None:
            points = sb.n_points if sb is not None else -sa.n_points if sa is not None else 0
            out.append(SchemaPair(ia, ib, how, nan, nan, points, False))
            continue
        same_dim = sa.dim == sb.dim
        shift = float(np.linalg.norm(sb.mean - sa.mean)) if same_dim else nan
        cov = float(np.linalg.norm(sb.cov - sa.cov)) if same_dim else nan
        ok = (
            sa.n_points == sb.n_points
            and arrays_agree(sa.mean, sb.mean, rtol, atol)
            and arrays_agree(sa.cov, sb.cov, rtol, atol)
        )
        out.append(SchemaPair(ia, ib, how, shift, cov, sb.n_points - sa.n_points, ok))
    return SchemaComparison(n_a=len(a), n_b=len(b), pairs=tuple(out))
