"""The events of the night: phases 1-3 of the sleep cycle, the checkpoints, the metrics."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar, NamedTuple

from janus_sim.core.event_base import Event, Matrix, Payload, Upcaster, Vector

# --- sleep, phase 1 ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PrioritiesComputed(Event):
    """Algorithm 1 lines 1-3 over the whole buffer, before replay starts."""

    KIND: ClassVar[str] = "priorities_computed"
    transition_ids: tuple[int, ...]
    td_errors: Vector
    priorities: Vector


@dataclass(frozen=True, slots=True)
class ReplayBatchSampled(Event):
    """One replay batch: sampled ids, normalized IS weights (eq. 10), compressed dt (eq. 12)."""

    KIND: ClassVar[str] = "replay_batch_sampled"
    iteration: int
    beta: float
    transition_ids: tuple[int, ...]
    weights: Vector
    replay_dt_s: Vector


@dataclass(frozen=True, slots=True)
class PolicyUpdated(Event):
    """Parameters after one importance-weighted gradient step (eq. 11)."""

    KIND: ClassVar[str] = "policy_updated"
    iteration: int
    td_loss: float
    logic_loss: float
    grad_norm: float
    params: Matrix


@dataclass(frozen=True, slots=True)
class ScalerFitted(Event):
    """The feature scaler, fitted on the first trading day's bars and frozen from then on
    (``scaler.py``): each reader sees a raw state as (s - mean) / scale."""

    KIND: ClassVar[str] = "scaler_fitted"
    feature_names: tuple[str, ...]
    mean: Vector
    scale: Vector
    n_bars: int


@dataclass(frozen=True, slots=True)
class TargetSynced(Event):
    """The bootstrap's target network was set to the online parameters (``replay_phase.py``):
    at the start of each night and, with ``replay.target_sync = K``, every K steps."""

    KIND: ClassVar[str] = "target_synced"
    iteration: int
    params: Matrix


@dataclass(frozen=True, slots=True)
class PrioritiesUpdated(Event):
    KIND: ClassVar[str] = "priorities_updated"
    iteration: int
    transition_ids: tuple[int, ...]
    priorities: Vector


@dataclass(frozen=True, slots=True)
class SeparationTrained(Event):
    """Pattern-separation weights after the night's orthogonality steps (eq. 4)."""

    KIND: ClassVar[str] = "separation_trained"
    ortho_loss_before: float
    ortho_loss_after: float
    weights: Matrix
    bias: Vector


# --- sleep, phase 2 ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConsolidationGated(Event):
    """Gate outcomes of the night (eq. 17-20) over the day's new transitions."""

    KIND: ClassVar[str] = "consolidation_gated"
    VERSION: ClassVar[int] = 2
    candidates: int
    recall_passed: int
    logic_gate: float
    """The mean g_sym over the candidates (v1: the day's SatAgg, its only value)."""
    logic_passed: int
    """Candidates whose episode passed the logic gate (v1: a bool for the whole day)."""
    consolidated: int
    recall_calibration: Vector
    """(W_r, b_r) of the night's recall gate (``gates.py``); empty on a night without
    earlier experience (every candidate passes) and in v1 logs, whose gate was a cosine
    to a prototype code."""
    held_back: tuple[int, ...] = ()
    """Candidates that passed the logic gate but not the recall gate: they wait in the
    hippocampus and are candidates again the next night (v2)."""

    @staticmethod
    def upcast_v1(payload: Payload) -> Payload:
        """v1 -> v2: the gates became per episode, and the recall gate a fitted sigmoid.

        A v1 day passed the logic gate whole or not at all, so its bool ``logic_passed``
        becomes every candidate or none; its recall gate was a cosine to a ``prototype``
        code, which v2 drops; it had no recall calibration and held nothing back.
        """
        return {
            **{k: v for k, v in payload.items() if k != "prototype"},
            "logic_passed": int(payload["candidates"]) if payload["logic_passed"] else 0,
            "recall_calibration": [],
            "held_back": [],
        }

    UPCASTS: ClassVar[Mapping[int, Upcaster]] = MappingProxyType({1: upcast_v1})


@dataclass(frozen=True, slots=True)
class SchemaCreated(Event):
    """A new schema: mean = s, Sigma = eps I (Algorithm 2, line 16)."""

    KIND: ClassVar[str] = "schema_created"
    schema_id: str
    mean: Vector
    reward: float
    eps: float
    regime: str
    transition_id: int


@dataclass(frozen=True, slots=True)
class SchemaUpdated(Event):
    """A schema after the night's consolidation steps (eq. 21-22), in full, and who joined.

    ``joined`` are the transitions the schema absorbed tonight, in the order they joined
    (its founder, if it was created tonight, is in ``schema_created`` instead);
    ``joined_mahalanobis_sq[i]`` is the squared Mahalanobis distance of ``joined[i]`` to
    the schema as it was just before that transition joined, under its regularized
    covariance: ||L^-1 (s - mu)||^2 with L L^T = Sigma + eps I, the distance its
    maximum-likelihood assignment was decided on (``neocortex.SchemaIndex.assign_scored``).
    ``points_added == len(joined)`` and ``n_points`` is the schema's count before tonight
    plus ``points_added``.

    v1 logs recorded only the final moments and the count: their membership is unknown,
    which v2 says with ``joined = joined_mahalanobis_sq = None`` (``membership_known`` is
    False) while ``points_added`` keeps the v1 count. An empty tuple means a known empty
    set, never "unknown".
    """

    KIND: ClassVar[str] = "schema_updated"
    VERSION: ClassVar[int] = 2
    schema_id: str
    mean: Vector
    cov: Matrix
    n_points: int
    avg_reward: float
    points_added: int
    mean_shift: float
    regime_counts: tuple[tuple[str, int], ...]
    """Cumulative true regimes of the member transitions, sorted by regime name."""
    joined: tuple[int, ...] | None
    """Transition ids that joined tonight, in joining order (v2; None: unknown, v1)."""
    joined_mahalanobis_sq: Vector | None
    """Per ``joined``, its squared distance to the schema just before it joined (v2)."""

    @property
    def membership_known(self) -> bool:
        """Whether ``joined`` says who joined (False for an upcast v1 payload)."""
        return self.joined is not None

    @staticmethod
    def upcast_v1(payload: Payload) -> Payload:
        """v1 -> v2: v1 did not record which transitions joined nor their distances, so
        both are None (unknown, not empty); ``points_added`` keeps the count it did record."""
        return {**payload, "joined": None, "joined_mahalanobis_sq": None}

    UPCASTS: ClassVar[Mapping[int, Upcaster]] = MappingProxyType({1: upcast_v1})


@dataclass(frozen=True, slots=True)
class SchemaPruned(Event):
    KIND: ClassVar[str] = "schema_pruned"
    schema_id: str
    reason: str
    n_points: int
    age_days: float


@dataclass(frozen=True, slots=True)
class PolicyConsolidated(Event):
    """The night's gated policy update (eq. 19) over the transitions both gates passed.

    One step of ``eta`` on the TD + logic loss of those transitions, each weighted by its
    gate product g_recall * g_logic, so familiar, lawful experience moves the policy most.
    """

    KIND: ClassVar[str] = "policy_consolidated"
    n_transitions: int
    eta: float
    mean_gate: float
    td_loss: float
    logic_loss: float
    grad_norm: float
    params: Matrix


class SchemaRow(NamedTuple):
    """One live schema in a checkpoint (``SchemaCheckpoint``, ``StateCheckpoint``).

    Stored as a JSON array of its fields in this order (the names are not in the log):
    reordering or inserting a field changes the payload, so it would need a new version.
    """

    schema_id: str
    mean: Vector
    cov: Matrix
    n_points: int
    avg_reward: float
    created_ns: int
    updated_ns: int
    eps: float
    regime_counts: tuple[tuple[str, int], ...]
    """Cumulative true regimes of the member transitions, sorted by regime name."""


@dataclass(frozen=True, slots=True)
class SchemaCheckpoint(Event):
    """Every live schema after the night's consolidation, in creation order.

    An optimization only: the schema events before it determine it exactly (the fold
    checks that they agree); ``at`` starts from the latest checkpoint and folds the tail.
    """

    KIND: ClassVar[str] = "schema_checkpoint"
    schemas: tuple[SchemaRow, ...]


# --- sleep, phase 3 -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProjectionFitted(Event):
    """Phase 3: the night's slice of the aligned 3-D map and what was learned from it.

    ``point_ids`` name every embedded point, ``"schema:<id>"`` for a schema centroid and
    ``"transition:<id>"`` for a sampled state; ``coords`` are their map coordinates and
    ``labels`` their cluster (-1: noise), in the same order. ``centres`` are the cluster
    centres (map coordinates, row k = cluster k) and ``center`` / ``scale`` the affine
    map from map coordinates to the normalized space where clusters and anomalies are
    measured (y_norm = (y - center) / scale). ``method`` says what was fitted:
    ``"aligned_umap"`` (a slice aligned to the night before), ``"aligned_umap_start"``
    (the first slice, or one with nothing in common with the last), or for slices too
    small for UMAP the fallback used instead (``"pca"``, ``"empty"``; see
    ``core/aligned_map.py``). ``params`` holds the fitter's
    settings as (name, value) pairs. ``projector`` is the parametric projector's weights
    (eq. 27-30: layer sizes and float64 arrays, base64 of little-endian bytes; format in
    ``core/projector.py``; ``""`` when there was nothing to fit) and ``projector_rmse`` its
    root mean squared error on its own training points, in normalized units.
    ``assigned_schema`` is, per point, the schema it belongs to: a centroid its own id, a
    transition its maximum-likelihood schema after the night's consolidation (``""`` when
    there is no schema); a map coloured by schema reads it.
    """

    KIND: ClassVar[str] = "projection_fitted"
    method: str
    params: tuple[tuple[str, float], ...]
    point_ids: tuple[str, ...]
    coords: Matrix
    labels: tuple[int, ...]
    centres: Matrix
    center: Vector
    scale: float
    projector: str
    projector_rmse: float
    assigned_schema: tuple[str, ...] = ()
    members: tuple[tuple[int, ...], ...] = ()
    """Eq. 26 (v2): per live schema, in ``point_ids`` order of the centroids, the indices
    of the other points within ``tau_cluster`` (normalized units) of its centroid on the
    map. ``labels`` are the DBSCAN clusters beside them."""
    stability: float | None = None
    """ARI of the cluster labels of the points embedded both tonight and last night (v2;
    None without a last night or with fewer than two such points)."""
    trust: Vector = ()
    """(map, projector) trustworthiness of the embedded points against their standardized
    states (v2; ``core/trust.py``; empty when too few points)."""

    VERSION: ClassVar[int] = 2

    @staticmethod
    def upcast_v1(payload: Payload) -> Payload:
        """v1 -> v2: eq. 26's schema members, the cluster stability and the
        trustworthiness were not computed; none is known."""
        return {**payload, "members": [], "stability": None, "trust": []}

    UPCASTS: ClassVar[Mapping[int, Upcaster]] = MappingProxyType({1: upcast_v1})


@dataclass(frozen=True, slots=True)
class StateCheckpoint(Event):
    """The whole state after a night, so that rebuilds and resumes need not start at event 0.

    Everything mutable is copied in: the position, the replay counter, the regime
    vocabulary, every buffered transition's priority (oldest first), the policy, the
    separation weights, the schemas, and the engine's generator states (``generators``:
    component name and the canonical JSON of its bit generator state). The buffered
    transitions themselves are referenced, not copied: they are the immutable
    ``transition_recorded`` events with ids ``buffer_oldest_id .. buffer_next_id - 1``
    (none earlier than ``buffer_oldest_t_ns``); copying them every night would multiply
    the log's size for no information. Day summaries and metrics are likewise read back
    from their own events (``checkpoint.restore``).

    An optimization only: the events before it determine it exactly, and the fold checks
    that they agree (``verify`` therefore checks every checkpoint).
    """

    KIND: ClassVar[str] = "state_checkpoint"
    VERSION: ClassVar[int] = 2
    position: int
    replay_iterations: int
    day_date: str
    day_transitions: int
    regime_names: tuple[str, ...]
    buffer_oldest_id: int
    buffer_next_id: int
    buffer_oldest_t_ns: int
    priorities: Vector
    params: Matrix
    sep_weights: Matrix
    sep_bias: Vector
    schemas: tuple[SchemaRow, ...]
    generators: tuple[tuple[str, str], ...]
    held_back: tuple[int, ...] = ()
    """Transitions waiting for the next night's consolidation (v2)."""
    scaler_mean: Vector = ()
    """The feature scaler (``scaler.py``); empty before it is fitted. v2 added both."""
    scaler_scale: Vector = ()

    @staticmethod
    def upcast_v1(payload: Payload) -> Payload:
        """v1 -> v2: the checkpoint copies the feature scaler and the held-back candidates.

        A v1 checkpoint predates both: no scaler (the identity, empty fields) and nothing
        held back for the next night's consolidation.
        """
        return {**payload, "held_back": [], "scaler_mean": [], "scaler_scale": []}

    UPCASTS: ClassVar[Mapping[int, Upcaster]] = MappingProxyType({1: upcast_v1})


# --- sleep, phase 4 ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VectorStoreSynced(Event):
    """Phase 4: the schema collection as of tonight, and its snapshot (issue 19, item 4).

    ``snapshot`` names the night's snapshot (``cycle-0003``: the file
    ``store/snapshots/<collection>/cycle-0003.jsonl``) and ``checksum`` is the SHA-256 of
    its exact bytes (``core/vector_snapshot.snapshot_text`` of the live schemas), computed
    from the state: the same with or without a vector store, on any machine. ``n_points``
    is the collection's size, ``upserted`` / ``deleted`` the points tonight's sync writes
    and removes (one batch each), ``pruned`` the older snapshots that retention
    (``vector_store.snapshots_keep``) removes tonight. The fold checks the checksum against
    the schemas before it.
    """

    KIND: ClassVar[str] = "vector_store_synced"
    snapshot: str
    checksum: str
    n_points: int
    upserted: int
    deleted: int
    pruned: tuple[str, ...] = ()


# --- sleep, phase 5 ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CycleMetrics(Event):
    """The night's metrics as (name, value) pairs in a fixed order."""

    KIND: ClassVar[str] = "cycle_metrics"
    date: str
    metrics: tuple[tuple[str, float], ...]

    def as_dict(self) -> dict[str, float]:
        return dict(self.metrics)
