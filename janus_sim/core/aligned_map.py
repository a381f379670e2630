"""The aligned 3-D map of spec eq. 23-25, one slice a night, the same bits on every CPU.

``AlignedMap`` keeps the run's chain of nightly slices outside the simulation state, like
the engine's generators: the log holds each night's coordinates, not the model. Each
night adds one slice aligned to the last one; history is never refitted. By default
(``MapSettings.backend = "portable"``) a slice is laid out by ``aligned_layout.embed``,
our own UMAP with the alignment term, built from portable arithmetic only, so that the
coordinates (which enter the event log and the run digest) are identical on every x86-64
CPU. ``backend = "umap-learn"`` runs umap-learn's ``AlignedUMAP`` instead
(``aligned_map_umap``): the library the spec names, kept as a reference, reproducible on
one machine only.

How eq. 23-25 map onto the layout
---------------------------------
Per slice the layout minimises the UMAP cross-entropy (eq. 24) by umap-learn's SGD, and a
point i *related* to a point of the previous slice (its position y_prev held fixed) takes
at each of its steps the extra step -lambda (y_i - y_prev): eq. 23's gradient.

* Window 1: eq. 23 aligns cycle t with cycle t - 1 only (``MapSettings.window``).
* Relations are one to one, between the *same entity* on both nights: a schema's
  centroid (keyed ``schema:<id>``) and a sampled transition drawn again
  (``transition:<id>``). eq. 25 enters in two parts: lambda = ``lambda_align * w_same``,
  and a pair whose schema is the same both nights (every centroid; a transition still
  assigned to the same schema) has w = w_same and is always related, while a pair whose
  schema changed (w = w_other) is related with probability w_other / w_same (a seeded
  draw), so its expected pull is lambda_align * w_other, as eq. 23 asks. Pairs of
  *different* entities (eq. 25's "otherwise" between distinct points) are left out, as
  umap-learn's one-to-one relations leave them out: a departure from the spec.
* A new point (no relation) starts at the membership-weighted mean of its related
  neighbours' previous positions, which keeps the cloud where it was.

Defined behaviour where a layout cannot be fitted (``Slice.method``):

* ``"empty"``: no points; no coordinates.
* ``"pca"``: fewer than ``MIN_UMAP_POINTS`` points (UMAP means little below ten): the
  centred points on their principal axes (``pca_coords``). Such a slice does not join the
  chain.
* ``"aligned_umap_start"``: no earlier slice, or none of this slice's points relates to
  the chain's last slice: a layout from the slice's own principal axes, no alignment.
* ``"aligned_umap"``: a layout aligned to the last slice, as above.

(The method names are the ones umap-learn's backend gave them: stored events keep them.)

Determinism: every night draws the same from the run's projection generator, whatever
the method: three seeds (the layout's generator; umap-learn's ``random_state``,
``transform_seed`` and numba seed) and one uniform per point (eq. 25's draw).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from janus_sim.core.aligned_layout import embed, principal_coords

if TYPE_CHECKING:
    from janus_sim.core.aligned_map_umap import UmapChain

N_COMPONENTS = 3
MIN_UMAP_POINTS = 10
BACKENDS = ("portable", "umap-learn")


@dataclass(frozen=True, slots=True)
class MapSettings:
    n_neighbors: int
    min_dist: float
    n_epochs: int
    lambda_align: float
    weight_same: float
    weight_other: float
    window: int = 1
    backend: str = "portable"
    """``"portable"`` (``aligned_layout``, the same bits on every CPU) or ``"umap-learn"``
    (``aligned_map_umap``: CPU-dependent, a reference)."""


@dataclass(frozen=True, slots=True, eq=False)
class Slice:
    """One night's map: coordinates (n, 3) in the order of the keys given, and how."""

    method: str
    coords: np.ndarray
    n_relations: int


def pca_coords(x: np.ndarray) -> np.ndarray:
    """The centred rows of ``x`` on their principal axes, (n, 3): zero-padded, each axis
    signed so that its largest-magnitude coordinate is positive (``principal_coords``: a
    portable Jacobi eigen-decomposition, the same bits on every CPU)."""
    return principal_coords(x, N_COMPONENTS)


class AlignedMap:
    """The run's chain of aligned slices (one per night). Not part of the state: a full
    re-simulation rebuilds it exactly, night by night."""

    def __init__(self, settings: MapSettings) -> None:
        if settings.backend not in BACKENDS:
            raise ValueError(f"unknown map backend {settings.backend!r}: one of {BACKENDS}")
        self.settings = settings
        self._last: np.ndarray | None = None  # the chain's last slice (portable backend)
        self._umap: UmapChain | None = None
        self._keys: dict[str, int] = {}  # key -> its index in the chain's last slice
        self._groups: dict[str, str] = {}  # key -> schema it belonged to then

    def add(
        self,
        x: np.ndarray,
        keys: Sequence[str],
        groups: Sequence[str],
        rng: np.random.Generator,
    ) -> Slice:
        """Embed tonight's points ``x`` (n, D), named by ``keys`` (unique), each in the
        schema ``groups[i]`` ("" for none); returns the slice's coordinates (n, 3)."""
        n = len(keys)
        if x.shape[0] != n or len(groups) != n or len(set(keys)) != n:
            raise ValueError("one unique key and one group per embedded point are needed")
        # Every night draws the same amount from the stream, whatever the method.
        seeds = rng.integers(0, 2**31 - 1, size=3)
        keep = rng.random(n)
        # Too small for UMAP: a stand-in slice that leaves the chain as it was.
        if n == 0:
            return Slice("empty", np.zeros((0, N_COMPONENTS)), 0)
        if n < MIN_UMAP_POINTS:
            return Slice("pca", pca_coords(x), 0)
        pairs = self._pairs(keys, groups, keep)  # tonight's index -> index in the last slice
        if self.settings.backend == "umap-learn":
            coords, method = self._umap_chain().add(x, pairs, seeds)
        else:
            coords, method = self._layout(x, pairs, seeds)
        self.resume(coords, keys, groups)
        return Slice(method, coords, len(pairs) if method == "aligned_umap" else 0)

    def resume(self, coords: np.ndarray, keys: Sequence[str], groups: Sequence[str]) -> None:
        """Make (``coords``, ``keys``, ``groups``) the chain's last slice: what ``add`` does
        after embedding, and how a resume rebuilds the portable chain from the last
        UMAP night's ``projection_fitted`` (its coordinates, point ids and schemas). The
        umap-learn backend keeps fitted models besides, which this cannot restore."""
        self._last = np.array(coords, dtype=np.float64).reshape(-1, N_COMPONENTS)
        self._keys = {key: i for i, key in enumerate(keys)}
        self._groups = dict(zip(keys, groups, strict=True))

    def _layout(
        self, x: np.ndarray, pairs: dict[int, int], seeds: np.ndarray
    ) -> tuple[np.ndarray, str]:
        """The portable slice: aligned to the last one when a pair relates them."""
        st = self.settings
        rng = np.random.default_rng([int(s) for s in seeds])
        aligned = self._last is not None and bool(pairs)
        related = np.full(len(x), -1, dtype=np.int64)
        for i, before in pairs.items():
            related[i] = before
        coords = embed(
            np.asarray(x, dtype=np.float64),
            rng,
            n_neighbors=st.n_neighbors,
            min_dist=st.min_dist,
            n_epochs=st.n_epochs,
            n_components=N_COMPONENTS,
            prev=self._last if aligned else None,
            related=related if aligned else None,
            lambda_align=st.lambda_align * st.weight_same,
        )
        return coords, "aligned_umap" if aligned else "aligned_umap_start"

    def _umap_chain(self) -> UmapChain:
        if self._umap is None:
            from janus_sim.core.aligned_map_umap import UmapChain

            self._umap = UmapChain(self.settings)
        return self._umap

    def _pairs(
        self, keys: Sequence[str], groups: Sequence[str], keep: np.ndarray
    ) -> dict[int, int]:
        """{tonight's index: index in the chain's last slice} for the pairs eq. 25
        relates."""
        st = self.settings
        out: dict[int, int] = {}
        for i, (key, group) in enumerate(zip(keys, groups, strict=True)):
            before = self._keys.get(key)
            if before is None:
                continue
            same = group == self._groups[key]
            if same or keep[i] < st.weight_other / st.weight_same:
                out[i] = before
        return out
