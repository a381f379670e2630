"""The reference backend of the aligned map: umap-learn's ``AlignedUMAP``, one slice a night.

NOT PORTABLE. umap-learn's numba kernels are compiled with fastmath for the host CPU and
call libm's pow and exp, its spectral start uses ARPACK and BLAS, and numpy's SVD is
LAPACK's: the coordinates, and so the run digest, change from one CPU to another (they
are reproducible on one machine). The run's map is ``aligned_layout`` (backend
``"portable"``); this one (``MapSettings(backend="umap-learn")``) is kept to compare
against the library the spec names, and needs umap-learn installed.

``UmapChain`` keeps the fitted ``AlignedUMAP`` (a chain of nightly slices); each night adds
one slice with ``AlignedUMAP.update``; history is never refitted. umap-learn minimises per
slice the UMAP cross-entropy (eq. 24) plus, for every related pair, ``alignment_
regularisation * J * ||y_i - y_j||^2`` (J: the Jaccard similarity of the pair's
neighbourhoods) with ``alignment_window_size = 1`` (eq. 23: cycle t against t - 1).
A first slice (or one with no relation) is a new chain fitted on two copies of the slice
related one to one (``AlignedUMAP.fit`` needs two slices and a relation); the second copy
is the night's map (``"aligned_umap_start"``). Disconnected points (umap-learn gives
them NaN) are placed at the mean of the others.

Determinism on one machine: ``random_state`` and ``transform_seed`` come from the run's
projection generator, which makes umap-learn single-threaded; numba's own generator
(umap-learn's initialisation draws from it) is reseeded from the same stream before
every fit.

Speed: numba compiles umap-learn's kernels with on-disk caching (``_prepare_numba``), so
only the first process pays the compile (about a minute); the aligned layout's epoch
kernel, which umap-learn recompiles on every call, is compiled once
(``_optimize_aligned``, tested to give umap-learn's bits); numba runs on one thread
inside umap-learn; and the chain keeps only its last slice (``_keep_last_slice``), so a
night costs the same on day 300 as on day 2.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numba
import numpy as np

if TYPE_CHECKING:
    from janus_sim.core.aligned_map import MapSettings

N_COMPONENTS = 3


@numba.njit(cache=True)
def _seed_numba(seed: int) -> None:
    # umap-learn's initialisation draws from numba's process-wide generator and takes no
    # Generator; so, right before each fit, it is seeded from the run's own projection
    # stream (never from anything else), which keeps the fit a function of the seed.
    # Only jitted code can seed numba's generator; numpy's global one is not touched.
    np.random.seed(seed)


_PREPARED: dict[str, Any] = {}


def _prepare_numba() -> Any:
    """Turn on numba's disk cache for umap-learn's kernels and compile the aligned epoch.

    umap-learn declares its kernels without ``cache=True``, so every process would spend
    tens of seconds compiling them; ``enable_caching`` is what ``cache=True`` does (it
    changes where compiled code comes from, never what it computes). The
    aligned layout's epoch kernel is compiled by umap-learn anew on every call; here it is
    compiled once, serially and cached (it has no parallel loop: the result is the same).
    """
    if "kernel" not in _PREPARED:
        from numba.core.dispatcher import Dispatcher
        from numba.typed import typeddict, typedlist
        from umap import aligned_umap, distances, layouts, sparse, spectral, umap_, utils

        # numba's typed List and Dict, which AlignedUMAP passes its slices in, compile
        # their methods per element type on first use: cached the same way.
        modules = (umap_, layouts, aligned_umap, sparse, utils, spectral, distances)
        for mod in (*modules, typedlist, typeddict):
            for obj in vars(mod).values():
                if isinstance(obj, Dispatcher) and obj.py_func.__module__ == mod.__name__:
                    obj.enable_caching()
        _PREPARED["kernel"] = numba.njit(fastmath=True, cache=True)(
            layouts._optimize_layout_aligned_euclidean_single_epoch
        )
    return _PREPARED["kernel"]


def _optimize_aligned(
    head_embeddings: Any,
    tail_embeddings: Any,
    heads: Any,
    tails: Any,
    n_epochs: int,
    epochs_per_sample: Any,
    regularisation_weights: Any,
    relations: Any,
    rng_state: Any,
    a: float = 1.576943460405378,
    b: float = 0.8950608781227859,
    gamma: float = 1.0,
    lambda_: float = 5e-3,
    initial_alpha: float = 1.0,
    negative_sample_rate: float = 5.0,
    parallel: bool = True,
    verbose: bool = False,
    tqdm_kwds: Any = None,
    move_other: bool = False,
) -> Any:
    """umap-learn's ``layouts.optimize_layout_aligned_euclidean`` (BSD-3, same steps and
    arguments) with the epoch kernel compiled once and cached instead of on every call."""
    kernel = _prepare_numba()
    f32 = numba.types.float32[::1]
    per_negative = numba.typed.List.empty_list(f32)
    next_negative = numba.typed.List.empty_list(f32)
    next_sample = numba.typed.List.empty_list(f32)
    for m in range(len(heads)):
        per_negative.append(epochs_per_sample[m].astype(np.float32) / negative_sample_rate)
        next_negative.append(per_negative[m].astype(np.float32))
        next_sample.append(epochs_per_sample[m].astype(np.float32))
    alpha = initial_alpha
    dim = head_embeddings[0].shape[1]
    for n in range(n_epochs):
        kernel(
            head_embeddings,
            tail_embeddings,
            heads,
            tails,
            epochs_per_sample,
            a,
            b,
            regularisation_weights,
            relations,
            rng_state,
            gamma,
            lambda_,
            dim,
            move_other,
            alpha,
            per_negative,
            next_negative,
            next_sample,
            n,
        )
        alpha = initial_alpha * (1.0 - (float(n) / float(n_epochs)))
    return head_embeddings


@contextlib.contextmanager
def _umap_quietly() -> Iterator[Any]:
    """umap-learn's module with the cached aligned optimizer swapped in, numba on one
    thread, warnings muted (it warns that a seed forces one thread, and on small slices:
    both expected)."""
    from umap import aligned_umap

    _prepare_numba()
    saved = aligned_umap.optimize_layout_aligned_euclidean
    threads = numba.get_num_threads()
    aligned_umap.optimize_layout_aligned_euclidean = _optimize_aligned
    # umap-learn's parallel kernels run thousands of tiny parallel regions a night (its
    # neighbourhood similarities: ~1000x slower on two busy cores than on one thread);
    # their results do not depend on the thread count.
    numba.set_num_threads(1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield aligned_umap
    finally:
        numba.set_num_threads(threads)
        aligned_umap.optimize_layout_aligned_euclidean = saved


def _finite(coords: np.ndarray) -> np.ndarray:
    """NaN rows (umap-learn's disconnected points) at the mean of the finite rows."""
    bad = ~np.isfinite(coords).all(axis=1)
    if bad.any():
        good = coords[~bad]
        coords[bad] = good.mean(axis=0) if len(good) else 0.0
    return coords


class UmapChain:
    """umap-learn's chain of aligned slices; rows are addressed by each night's own point
    index (the order the points were given in), whatever order umap-learn stores them in."""

    def __init__(self, settings: MapSettings) -> None:
        self.settings = settings
        self._model: Any = None
        self._row: dict[int, int] = {}  # last night's point index -> row in the chain

    def add(
        self, x: np.ndarray, pairs: dict[int, int], seeds: np.ndarray
    ) -> tuple[np.ndarray, str]:
        """(coordinates (n, 3) in the order of ``x``, method) of tonight's slice; ``pairs``
        relates tonight's index to last night's; ``seeds``: three seeds from the run."""
        n = len(x)
        # umap-learn sizes its relation table by the largest related index and reads it,
        # unchecked, at every index of the new slice: the related points go last (in
        # order) so that the table covers the whole slice.
        order = [i for i in range(n) if i not in pairs] + sorted(pairs)
        row = {i: r for r, i in enumerate(order)}
        xs = np.ascontiguousarray(x[order])
        with _umap_quietly() as aligned_umap:
            _seed_numba(int(seeds[2]))
            if self._model is None or not pairs:
                st = self.settings
                model = aligned_umap.AlignedUMAP(
                    n_neighbors=st.n_neighbors,
                    n_components=N_COMPONENTS,
                    min_dist=st.min_dist,
                    n_epochs=st.n_epochs,
                    alignment_regularisation=st.lambda_align * st.weight_same,
                    alignment_window_size=st.window,
                    random_state=int(seeds[0]),
                    transform_seed=int(seeds[1]),
                )
                model.fit([xs, xs], relations=[{i: i for i in range(n)}])
                self._model, method = model, "aligned_umap_start"
            else:
                relations = {self._row[pairs[i]]: row[i] for i in sorted(pairs)}
                self._model.update(xs, relations=relations)
                method = "aligned_umap"
            self._keep_last_slice()
        last = self._model.embeddings_[-1]
        coords = np.empty((n, N_COMPONENTS))
        coords[order] = _finite(np.asarray(last, dtype=np.float64))
        # The next update starts from this slice: no NaN may reach it.
        last[:] = coords[order].astype(np.float32)
        self._row = row
        return coords, method

    def _keep_last_slice(self) -> None:
        """Drop every slice but the last from the chain.

        With ``alignment_window_size = 1`` an update reads only the previous slice (the
        older ones neither move nor pull), yet umap-learn recomputes neighbourhood
        similarities over the whole history at every update: without this, each night
        would cost more than the one before.
        """
        m = self._model
        kept = numba.typed.List.empty_list(numba.types.float32[:, ::1])
        kept.append(m.embeddings_[-1])
        m.embeddings_ = kept
        m.mappers_ = m.mappers_[-1:]
        m.dict_relations_ = []
        m.n_models_ = 1
