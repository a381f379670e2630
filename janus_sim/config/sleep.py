"""The sleep cycle's settings: hippocampus, replay (phase 1), neocortex (phase 2), the
map and its anomaly monitor (phase 3), the vector store (phase 4), and the anomaly
responses."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from janus_sim.config.base import NonNegative, Positive, Probability, Strict


class Hippocampus(Strict):
    capacity: Annotated[int, Field(gt=0, le=10_000_000)] = 10_000
    hidden_dim: Annotated[int, Field(ge=1, le=65_536)] = 128
    sparsity: Annotated[float, Field(ge=0.05, le=0.15)] = 0.1
    """rho of eq. 6: the top-k code keeps k = ceil(rho * hidden_dim) activations."""
    ortho_lambda: NonNegative = 0.01
    ortho_lr: Positive = 0.05
    ortho_steps: Annotated[int, Field(ge=0)] = 50


class Replay(Strict):
    n_replays: Annotated[int, Field(ge=1)] = 1000
    batch_size: Annotated[int, Field(ge=1)] = 64
    alpha: Probability = 0.6
    beta_start: Probability = 0.4
    beta_end: Probability = 1.0
    lambda_logic: NonNegative = 2.0
    lambda_reward: NonNegative = 0.5
    priority_eps: Annotated[float, Field(gt=0, le=1)] = 1e-6
    compression: Annotated[float, Field(ge=1)] = 15.0
    """C of eq. 12; the spec recommends 10 to 20."""
    target_sync: Annotated[int, Field(ge=0)] = 0
    """Steps between syncs of the bootstrap's target network within a night; 0 holds it
    fixed for the whole night (it is synced at the start of every night)."""

    @model_validator(mode="after")
    def _beta_order(self) -> Self:
        if self.beta_end < self.beta_start:
            raise ValueError("beta_end must be >= beta_start (beta is annealed upward)")
        return self


class Neocortex(Strict):
    """Phase 2: gated consolidation into Gaussian schemas (spec 1.3, eq. 13-22, 34)."""

    features: Annotated[tuple[str, ...], Field(min_length=1)] = ("log_rv_15", "volume_15")
    """The state features schemas see (a subset of ``agent.features``, scaled): the
    market's regime, not the agent's position, the time of day or one-bar noise. Realized
    volatility and the level of trading volume over 15 bars separate the synthetic regimes
    best in an offline probe (``shared/notes``); a return window adds drift but mostly
    noise at these horizons."""
    eps: Annotated[float, Field(gt=0, le=100)] = 0.6
    """Ridge of every schema's covariance; a new schema starts at Sigma = eps I. In scaled
    units (one standard deviation of the first day, about a regime's own spread) 0.6 makes
    a fresh schema accept a radius of sqrt(2 eps chi2_0.99(2)) = 3.3: one regime, not one
    neighbourhood of it (0.05, the value before scaling, founded a schema per bar or two)."""
    eta: Annotated[float, Field(gt=0, le=1)] = 0.01
    tau_quantile: Annotated[float, Field(gt=0, lt=1)] = 0.99
    """tau_schema in log-density terms: the log-density of a fresh schema at the
    chi-square ``tau_quantile`` of its own Mahalanobis distance (see neocortex.default_log_tau)."""
    recall_threshold: Probability = 0.3
    logic_threshold: Probability = 0.7
    recall_sharpness: Positive = 4.0
    """W_r of eq. 17 in units of the interquartile range of earlier recall strengths."""
    recall_quantile: Annotated[float, Field(gt=0, lt=1)] = 0.3
    """b_r of eq. 17: the gate is 0.5 at the recall strength that this fraction of the
    earlier experience itself falls below (``core/gates.py``): about 70 % of a familiar
    day passes, well inside the 20-90 % a gate that gates should show."""
    min_points: Annotated[int, Field(ge=1)] = 10
    max_age_days: Annotated[float, Field(gt=0)] = 90.0
    eta_sleep: Annotated[float, Field(ge=0, le=1)] = 0.001
    """Learning rate of the gated policy update (eq. 19); 0 turns the update off."""


class Projection(Strict):
    """Phase 3 (spec 2, eq. 23-32): the aligned 3-D map, its parametric projector, the
    clusters and the awake anomaly monitor. See ``core/map_phase.py``,
    ``core/anomaly_monitor.py`` and ``core/aligned_map.py`` for how the spec's parameters
    map onto the aligned layout."""

    enabled: bool = True
    map_backend: Literal["portable", "umap-learn"] = "portable"
    """The aligned map's implementation: ``portable`` (``core/aligned_layout.py``, the same
    bits on every CPU) or ``umap-learn``'s AlignedUMAP (fastmath kernels compiled for the
    host CPU: its digest holds on one machine only, and the run records that)."""
    sample_size: Annotated[int, Field(ge=0, le=100_000)] = 300
    """Buffered states embedded each night beside the schema centroids (a seeded sample)."""
    n_neighbors: Annotated[int, Field(ge=2, le=200)] = 15
    min_dist: Annotated[float, Field(ge=0, le=10)] = 0.1
    n_epochs: Annotated[int, Field(ge=1, le=5_000)] = 200
    lambda_align: NonNegative = 0.1
    """lambda_align of eq. 23."""
    weight_same_schema: Annotated[float, Field(gt=0, le=1)] = 1.0
    weight_other: Annotated[float, Field(ge=0, le=1)] = 0.1
    """The alignment weights w_ij of eq. 25."""
    cluster_method: Literal["dbscan", "hdbscan"] = "dbscan"
    cluster_eps: Positive = 0.5
    """DBSCAN's eps (the clusters beside eq. 26's schema members), normalized map units."""
    cluster_min_samples: Annotated[int, Field(ge=1, le=1_000)] = 5
    tau_cluster: Positive = 0.5
    """tau_cluster of eq. 26: a point within it of a schema's embedded centroid is one of
    the schema's members on the map (normalized map units)."""
    anomaly_reference: Literal["memory", "map", "schemas", "clusters"] = "memory"
    """What eq. 32 measures a projected state against (``core/anomaly_monitor.py``):
    ``memory``, every buffered transition at the day's open, placed by the same projector;
    ``map``, the night's embedded points on the map; ``schemas``, the schema centroids'
    positions alone; ``clusters``, the DBSCAN cluster centres. BENCHMARKS.md ("Does the
    monitor see what is new?") has the figures of all four."""
    tau_anomaly: Positive = 0.6
    """tau_anomaly of eq. 32, in normalized map units (chosen with the reference: 0.6 for
    ``memory``; see BENCHMARKS.md for the others')."""
    anomaly_persistence: Annotated[int, Field(ge=1, le=1_000)] = 2
    """Consecutive states of a day beyond ``tau_anomaly`` before a flag (the flag is on
    the last of them); 1 flags every such state (eq. 32 state by state)."""
    projector_max_iter: Annotated[int, Field(ge=1, le=100_000)] = 300
    """L-BFGS iterations of the parametric projector's nightly fit (eq. 31)."""
    projector_umap_weight: NonNegative = 0.0
    """Weight of eq. 31's UMAP cross-entropy term (on the map's fuzzy graph) beside the
    regression term; 0 fits the regression term alone (see BENCHMARKS.md)."""

    @model_validator(mode="after")
    def _weights_ordered(self) -> Self:
        if self.weight_other > self.weight_same_schema:
            raise ValueError("weight_other must be <= weight_same_schema (eq. 25)")
        return self


class VectorStore(Strict):
    """Phase 4: the schema collection and its nightly snapshots (``core/vector_snapshot.py``)."""

    snapshots_keep: Annotated[int, Field(ge=0, le=1_000_000)] = 0
    """How many nights' snapshots to keep (``store/snapshots/<collection>/cycle-NNNN.jsonl``,
    one a night, never overwritten): night N removes the snapshot of night N - K, so the
    last K stay; 0 keeps every night's, so ``restore --qdrant --cycle N`` can restore any
    night. A snapshot of a d = 2 run is about 0.6 KB per schema (0.45 MB for 738 schemas)."""


class Responses(Strict):
    """What the agent does when the monitor flags anomalies (spec 2.2.2), beside the
    highest replay priority that every flagged transition gets."""

    risk_span_bars: Annotated[int, Field(ge=0, le=100_000)] = 30
    """After an anomaly, the agent takes no new exposure beyond ``risk_position_limit``
    for this many bars after the latest anomaly (never past the day's close); 0 turns the
    response off."""
    risk_position_limit: Annotated[int, Field(ge=0)] = 1
    """The |position| the agent may build up to while risk is raised (it may always hold
    or reduce)."""
    alert_anomalies: Annotated[int, Field(ge=1, le=100_000)] = 5
    """K: an ``operator_alerted`` event after K anomalies within ``alert_window_bars``."""
    alert_window_bars: Annotated[int, Field(ge=1, le=100_000)] = 30
