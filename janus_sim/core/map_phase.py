"""Phase 3 of the sleep cycle (spec section 2, eq. 23-32): map, projector, clusters, and
the awake anomaly monitor that reads them.

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
4. **Clusters** (eq. 26): DBSCAN (``dbscan.py``: our own, the same labels on every CPU)
   with eps = ``cluster_eps`` (0.5) and ``cluster_min_samples`` in normalized space;
   labels per point (-1 noise, clusters numbered in order of first member), centres =
   mean map coordinates of each cluster's members. ``cluster_method: hdbscan`` runs the
   hdbscan library instead (that eps as its selection epsilon): its labels come out of
   compiled tree code and are not guaranteed portable across CPUs.
5. **Projector** (eq. 27-31, ``projector.py``: trained and evaluated by portable numba
   kernels, no BLAS) fitted to (state -> map coordinates) of every embedded point; its
   RMSE in normalized units.

One ``projection_fitted`` event carries all of it. During the next day, ``AnomalyMonitor``
projects each state the agent records; a state whose projection lies farther than
``tau_anomaly`` (normalized units) from every cluster centre is flagged (eq. 32): an
``anomaly_flagged`` event right after its ``transition_recorded``. A map without clusters
or without a projector flags nothing (there is no known schema to be far from), and
nothing is flagged before the first night.
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
from janus_sim.core.rng import component_rng
from janus_sim.core.state import Recorder, SimState

if TYPE_CHECKING:
    from janus_sim.config import Projection


@dataclass(frozen=True, slots=True)
class ProjectionStats:
    method: str
    n_points: int
    n_clusters: int
    projector_rmse: float


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
    if len(x):
        net = pj.train(x, sl.coords, center, scale, seed=mlp_seed, max_iter=cfg.projector_max_iter)
        blob, err = pj.encode(net), pj.rmse(net, x, sl.coords) / scale
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
        ("tau_anomaly", cfg.tau_anomaly),
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
        )
    )
    return ProjectionStats(
        method=sl.method,
        n_points=len(ids),
        n_clusters=len(centres),
        projector_rmse=err,
    )


@dataclass(frozen=True, eq=False)
class AnomalyMonitor:
    """Eq. 32 against one night's map: see the module docstring."""

    projector: pj.Projector
    centres: np.ndarray
    scale: float
    threshold: float

    @classmethod
    def of(cls, fitted: ev.ProjectionFitted | None, threshold: float) -> AnomalyMonitor | None:
        """The monitor of ``fitted``; None when it cannot flag anything (no map, no
        projector or no cluster)."""
        if fitted is None or not fitted.centres:
            return None
        net = pj.decode(fitted.projector)
        if net is None:
            return None
        return cls(net, np.array(fitted.centres, dtype=np.float64), fitted.scale, threshold)

    def check(self, state: np.ndarray) -> tuple[np.ndarray, float, int]:
        """(map coordinates, normalized distance to the nearest centre, its cluster)."""
        y = self.projector.project(state)
        dist = np.sqrt(np.sum((self.centres - y) ** 2, axis=1)) / self.scale
        k = int(np.argmin(dist))
        return y, float(dist[k]), k

    def flag(
        self, state: np.ndarray, *, cycle: int, t_ns: int, transition_id: int
    ) -> ev.AnomalyFlagged | None:
        """The ``anomaly_flagged`` event of ``state`` if eq. 32 holds, else None."""
        y, dist, k = self.check(state)
        if not dist > self.threshold:
            return None
        return ev.AnomalyFlagged(
            cycle=cycle,
            t_ns=t_ns,
            entity=f"transition:{transition_id}",
            transition_id=transition_id,
            coords=tuple(y.tolist()),
            distance=dist,
            threshold=self.threshold,
            nearest_cluster=k,
        )
