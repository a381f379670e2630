"""Phase 3 of the sleep cycle (spec section 2, eq. 23-31): map, projector, schema members
and clusters.

Each night (``projection_phase``, after phase 2):

1. **Points.** Every live schema's centroid (``schema:<id>``, creation order) and a seeded
   sample of ``sample_size`` buffered states (``transition:<id>``, by id), as raw state
   vectors; standardized per feature (mean, spread of tonight's points) for the map.
2. **Map** (eq. 23-25): the slice joins the run's chain of aligned slices
   (``aligned_map.AlignedMap``: our portable layout, or umap-learn's AlignedUMAP with
   ``map_backend: umap-learn``; the parameter mapping and the degenerate cases are
   documented there).
3. **Normalization.** ``center`` is the mean of the slice's coordinates and ``scale`` their
   pooled per-axis standard deviation, sqrt(mean ||y - center||^2 / 3) (1 when the slice
   has no spread): y_norm = (y - center) / scale has unit variance per axis on average,
   whatever scale UMAP chose that night, so eps, tau_anomaly and the projector's error are
   comparable from night to night.
4. **Schemas and clusters** (eq. 26). A schema's members on the map are the points within
   ``tau_cluster`` (normalized units) of its embedded centroid (``schema_members``).
   Beside them, DBSCAN (``dbscan.py``: our own, the same labels on every CPU) with
   eps = ``cluster_eps`` and ``cluster_min_samples`` in normalized space; labels per
   point (-1 noise, clusters numbered in order of first member), centres = mean map
   coordinates of each cluster's members. ``cluster_method: hdbscan`` runs the hdbscan
   library instead (that eps as its selection epsilon): its labels come out of compiled
   tree code and are not guaranteed portable across CPUs. The clusters' *stability* is
   the ARI of tonight's labels against last night's over the points embedded on both
   nights (spec 5.1, "validate cluster stability").
5. **Projector** (eq. 27-31, ``projector.py``: trained and evaluated by portable numba
   kernels, no BLAS) fitted to (state -> map coordinates) of every embedded point; its
   RMSE in normalized units, and the trustworthiness (``trust.py``) of the map and of the
   projector's output against the standardized states.

One ``projection_fitted`` event carries all of it; the next day's anomaly monitor
(eq. 32, ``anomaly_monitor.py``) reads it. Eq. 31's UMAP term joins the projector's loss
when ``projector_umap_weight`` > 0 (``projector_umap.py``; off by default, see
BENCHMARKS.md for why).

The map's chain is not state, but it is rebuilt from the log: ``ProjectionModel.resume``
takes the last UMAP night's ``projection_fitted`` (coordinates, point ids, schemas), the
last night's labels and the projection generator from the night's checkpoint (portable
backend only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from threadpoolctl import threadpool_limits

from janus_sim.core import events as ev
from janus_sim.core import projector as pj
from janus_sim.core.aligned_map import AlignedMap, MapSettings
from janus_sim.core.dbscan import dbscan
from janus_sim.core.neocortex import log_likelihoods
from janus_sim.core.projector_umap import UmapTerm, umap_term
from janus_sim.core.regime_ari import adjusted_rand_index
from janus_sim.core.rng import component_rng
from janus_sim.core.state import Recorder, SimState
from janus_sim.core.trust import trustworthiness

if TYPE_CHECKING:
    from janus_sim.config import Projection


@dataclass(frozen=True, slots=True)
class ProjectionStats:
    method: str
    n_points: int
    n_clusters: int
    projector_rmse: float
    stability: float | None = None
    map_trust: float | None = None
    projector_trust: float | None = None


class ProjectionModel:
    """What phase 3 carries from night to night outside the state: the aligned map and
    the projection generator. The engine holds it beside its other generators; a full
    re-simulation rebuilds it exactly."""

    def __init__(self, cfg: Projection, seed: int) -> None:
        self.cfg = cfg
        self.map = AlignedMap(
            MapSettings(
                n_neighbors=cfg.n_neighbors,
                min_dist=cfg.min_dist,
                n_epochs=cfg.n_epochs,
                lambda_align=cfg.lambda_align,
                weight_same=cfg.weight_same_schema,
                weight_other=cfg.weight_other,
                backend=cfg.map_backend,
            )
        )
        self.rng = component_rng(seed, "projection")
        self.last_labels: dict[str, int] = {}  # point id -> its cluster last night

    def resume(self, state: SimState, rng: np.random.Generator) -> None:
        """Continue after the night ``state`` was checkpointed at, with the projection
        generator as it was then (portable backend only): the chain from the last UMAP
        slice (``state.map_slice``), the stability's reference from the last map."""
        if self.cfg.map_backend != "portable":
            raise ValueError("only the portable map can be resumed from its events")
        chain, last = state.map_slice, state.projection
        if chain is not None:
            self.map.resume(np.array(chain.coords), chain.point_ids, chain.assigned_schema)
        if last is not None:
            self.last_labels = dict(zip(last.point_ids, last.labels, strict=True))
        self.rng = rng


def normalization(coords: np.ndarray) -> tuple[np.ndarray, float]:
    """(center, scale) of a slice: see step 3 of the module docstring."""
    if len(coords) == 0:
        return np.zeros(3), 1.0
    center = coords.mean(axis=0)
    scale = float(np.sqrt(np.mean((coords - center) ** 2)))
    return center, scale if scale > 1e-12 else 1.0


def cluster_labels(norm: np.ndarray, cfg: Projection) -> np.ndarray:
    """Eq. 26 on normalized coordinates: a label per point, -1 for noise.

    ``"dbscan"`` (the default) is ``dbscan.dbscan``: portable, the same labels on every
    CPU. ``"hdbscan"`` calls the hdbscan library, whose results go through compiled tree
    code and are not guaranteed to be bit-for-bit the same on another CPU.
    """
    n = len(norm)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if cfg.cluster_method == "hdbscan":
        size = max(2, cfg.cluster_min_samples)
        if n < size:
            return np.full(n, -1, dtype=np.int64)
        import hdbscan

        labels = hdbscan.HDBSCAN(
            min_cluster_size=size, cluster_selection_epsilon=cfg.cluster_eps
        ).fit_predict(norm)
        return _renumber(np.asarray(labels, dtype=np.int64))
    return dbscan(norm, cfg.cluster_eps, cfg.cluster_min_samples)


def _renumber(labels: np.ndarray) -> np.ndarray:
    """Clusters numbered 0, 1, ... in order of their first member (noise stays -1)."""
    out = np.full_like(labels, -1)
    order: dict[int, int] = {}
    for i, lab in enumerate(labels.tolist()):
        if lab >= 0:
            out[i] = order.setdefault(lab, len(order))
    return out


def cluster_centres(coords: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Mean map coordinates of each cluster's members, (k, 3), in label order."""
    k = int(labels.max()) + 1 if len(labels) else 0
    return np.array([coords[labels == j].mean(axis=0) for j in range(k)]).reshape(k, 3)


def distances(points: np.ndarray, y: np.ndarray) -> np.ndarray:
    """||points_i - y|| for (n, 3) points: elementwise, the same bits on every CPU."""
    d0, d1, d2 = points[:, 0] - y[0], points[:, 1] - y[1], points[:, 2] - y[2]
    out: np.ndarray = np.sqrt(d0 * d0 + d1 * d1 + d2 * d2)
    return out


def schema_members(norm: np.ndarray, n_schemas: int, tau: float) -> list[tuple[int, ...]]:
    """Eq. 26: for each of the first ``n_schemas`` points (the embedded centroids), the
    other points within ``tau`` of it in normalized map units, by index."""
    out = []
    for j in range(n_schemas):
        near = np.flatnonzero(distances(norm, norm[j]) < tau)
        out.append(tuple(int(i) for i in near if i != j))
    return out


def cluster_stability(ids: list[str], labels: np.ndarray, last: dict[str, int]) -> float | None:
    """ARI of tonight's cluster labels against last night's over the points embedded on
    both nights (noise is a label of its own); None with fewer than two such points."""
    common = [
        (last[key], int(lab)) for key, lab in zip(ids, labels.tolist(), strict=True) if key in last
    ]
    if len(common) < 2:
        return None
    before, now = zip(*common, strict=True)
    return adjusted_rand_index(before, now)


def _umap_term(xs: np.ndarray, cfg: Projection, scale: float, seed: int) -> UmapTerm | None:
    """Eq. 31's UMAP term for the projector (``projector_umap``), or None at weight 0.

    On the very graph the map was laid out from (its ``n_neighbors`` and ``n_epochs``),
    with UMAP's curve in the map's own units (``scale``), where the map nearly minimises
    the same cross-entropy; its negatives come from a generator of its own (seeded by the
    projector's seed), so turning it on changes no other draw of the night.
    """
    if cfg.projector_umap_weight == 0.0:
        return None
    return umap_term(
        xs,
        n_neighbors=cfg.n_neighbors,
        min_dist=cfg.min_dist,
        weight=cfg.projector_umap_weight,
        rng=np.random.default_rng(seed),
        n_epochs=cfg.n_epochs,
        scale=scale,
    )


def _points(
    state: SimState, cfg: Projection, rng: np.random.Generator, cols: np.ndarray | None
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(point ids, their vectors in the schemas' space, buffer slots of the sampled
    transitions): centroids as they are, states through the scaler, columns ``cols``."""
    buf, _ = state.require_buffer()
    chrono = buf.chronological_slots()
    k = min(cfg.sample_size, len(chrono))
    slots = chrono[np.sort(rng.choice(len(chrono), size=k, replace=False))] if k else chrono[:0]
    schemas = list(state.schemas.values())
    ids = [f"schema:{s.id}" for s in schemas] + [f"transition:{t}" for t in buf.ids[slots]]
    seen = state.view(buf.states[slots])
    seen = seen if cols is None else seen[:, cols]
    rows = [s.mean for s in schemas] + [seen]
    x = np.vstack(rows) if ids else np.zeros((0, seen.shape[1]))
    return ids, x, slots


def _assign(state: SimState, x: np.ndarray, n_schemas: int) -> list[str]:
    """The schema of each point: a centroid its own, a state its maximum-likelihood one."""
    names = list(state.schemas)
    own = names[:n_schemas]
    states = x[n_schemas:]
    if not names:
        return own + [""] * len(states)
    ll = log_likelihoods(list(state.schemas.values()), states)
    return own + [names[j] for j in np.argmax(ll, axis=1).tolist()]


def projection_phase(
    rec: Recorder,
    model: ProjectionModel,
    *,
    cycle: int,
    t_ns: int,
    memory_cols: np.ndarray | None = None,
) -> ProjectionStats:
    """Phase 3 on the state after phase 2: emits ``projection_fitted``.

    BLAS runs on one thread here, as in the engine: a multi-threaded BLAS may sum in
    another order (and is slower on these small matrices).
    """
    with threadpool_limits(limits=1):
        return _projection_phase(rec, model, cycle=cycle, t_ns=t_ns, cols=memory_cols)


def _projection_phase(
    rec: Recorder, model: ProjectionModel, *, cycle: int, t_ns: int, cols: np.ndarray | None
) -> ProjectionStats:
    cfg, state = model.cfg, rec.state
    ids, x, slots = _points(state, cfg, model.rng, cols)
    mlp_seed = int(model.rng.integers(0, 2**31 - 1))
    n_schemas = len(ids) - len(slots)
    assigned = _assign(state, x, n_schemas)
    mu, sd = (x.mean(axis=0), pj.spread(x)) if len(x) else (0.0, 1.0)
    sl = model.map.add((x - mu) / sd, ids, assigned, model.rng)
    center, scale = normalization(sl.coords)
    labels = cluster_labels((sl.coords - center) / scale, cfg)
    centres = cluster_centres(sl.coords, labels)
    norm = (sl.coords - center) / scale
    members = schema_members(norm, n_schemas, cfg.tau_cluster)
    stability = cluster_stability(ids, labels, model.last_labels)
    model.last_labels = dict(zip(ids, labels.tolist(), strict=True))
    trust: tuple[float, ...] = ()
    if len(x):
        xs = (x - mu) / sd
        net = pj.train(
            x,
            sl.coords,
            center,
            scale,
            seed=mlp_seed,
            max_iter=cfg.projector_max_iter,
            umap=_umap_term(xs, cfg, scale, mlp_seed),
        )
        blob, err = pj.encode(net), pj.rmse(net, x, sl.coords) / scale
        pair = (trustworthiness(xs, sl.coords), trustworthiness(xs, net.project(x)))
        trust = () if pair[0] is None or pair[1] is None else (pair[0], pair[1])
    else:
        blob, err = "", 0.0
    params = (
        ("sample_size", float(cfg.sample_size)),
        ("n_points", float(len(ids))),
        ("n_relations", float(sl.n_relations)),
        ("n_neighbors", float(cfg.n_neighbors)),
        ("min_dist", cfg.min_dist),
        ("n_epochs", float(cfg.n_epochs)),
        ("alignment_regularisation", cfg.lambda_align * cfg.weight_same_schema),
        ("alignment_window_size", float(model.map.settings.window)),
        ("weight_same_schema", cfg.weight_same_schema),
        ("weight_other", cfg.weight_other),
        ("cluster_hdbscan", float(cfg.cluster_method == "hdbscan")),
        ("cluster_eps", cfg.cluster_eps),
        ("cluster_min_samples", float(cfg.cluster_min_samples)),
        ("tau_cluster", cfg.tau_cluster),
        ("tau_anomaly", cfg.tau_anomaly),
        ("anomaly_persistence", float(cfg.anomaly_persistence)),
        ("projector_umap_weight", cfg.projector_umap_weight),
    )
    rec.emit(
        ev.ProjectionFitted(
            cycle=cycle,
            t_ns=t_ns,
            entity="map",
            method=sl.method,
            params=params,
            point_ids=tuple(ids),
            coords=ev.as_matrix(sl.coords),
            labels=tuple(labels.tolist()),
            centres=ev.as_matrix(centres),
            center=tuple(center.tolist()),
            scale=scale,
            projector=blob,
            projector_rmse=err,
            assigned_schema=tuple(assigned),
            members=tuple(members),
            stability=stability,
            trust=trust,
        )
    )
    return ProjectionStats(
        method=sl.method,
        n_points=len(ids),
        n_clusters=len(centres),
        projector_rmse=err,
        stability=stability,
        map_trust=trust[0] if trust else None,
        projector_trust=trust[1] if trust else None,
    )
