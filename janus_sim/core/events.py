"""Frozen, versioned event records: the only way state changes.

Every event carries its cycle, its simulated time (integer nanoseconds since the Unix
epoch, UTC: ``timefmt``'s one rule) and an entity id; the rest of its fields are the payload.
``KIND`` names the event in the log, ``VERSION`` is the payload schema version. When a
payload changes shape, bump ``VERSION`` and give the class an upcaster from the old
version: a static method ``upcast_v<old>`` beside the fields it changed, registered in the
class's ``UPCASTS``, so logs written by older versions still read (``codec.decode``
applies the chain).

Vectors are tuples of Python floats so that events are hashable, comparable and encode
to JSON exactly (``repr`` of a float round-trips).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, NamedTuple

import numpy as np

Vector = tuple[float, ...]
Matrix = tuple[tuple[float, ...], ...]

Payload = dict[str, Any]
"""An event's payload as its JSON object decodes: field name -> plain JSON value."""
Upcaster = Callable[[Payload], Payload]
"""Turns a payload of version v into one of version v + 1."""


def as_matrix(a: np.ndarray) -> Matrix:
    """A 2-d array as the nested tuple of Python floats that event fields hold."""
    return tuple(tuple(row) for row in a.tolist())


@dataclass(frozen=True, slots=True)
class Event:
    """Base of all events. Subclasses set ``KIND`` and ``VERSION`` and add payload fields."""

    KIND: ClassVar[str] = ""
    VERSION: ClassVar[int] = 1
    UPCASTS: ClassVar[Mapping[int, Upcaster]] = MappingProxyType({})
    """Version v -> the upcaster from v to v + 1, for every v below ``VERSION``."""

    cycle: int
    t_ns: int
    entity: str


# --- run lifecycle -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunStarted(Event):
    """The run's inputs that the fold needs: config hash, seed and initial parameters."""

    KIND: ClassVar[str] = "run_started"
    scenario_name: str
    scenario_hash: str
    seed: int
    feature_names: tuple[str, ...]
    constraint_names: tuple[str, ...]
    capacity: int
    alpha: float
    policy_params: Matrix
    sep_weights: Matrix
    sep_bias: Vector


@dataclass(frozen=True, slots=True)
class RunFinished(Event):
    KIND: ClassVar[str] = "run_finished"
    n_cycles: int
    n_transitions: int


# --- awake ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DayOpened(Event):
    KIND: ClassVar[str] = "day_opened"
    date: str
    n_bars: int
    open_price: float
    regimes: tuple[str, ...]
    """Distinct true regimes of the day's bars, in order of first appearance."""


@dataclass(frozen=True, slots=True)
class TransitionRecorded(Event):
    """One awake step (s, a, r, s', t) with the context the logic needs and its truth.

    ``ctx`` holds the raw market/position quantities the fuzzy predicates read
    (see ``logic.CONTEXT_FIELDS``); ``violation`` is v_i of eq. 7 for the action taken.
    """

    KIND: ClassVar[str] = "transition_recorded"
    transition_id: int
    dt_ns: int
    state: Vector
    action: int
    reward: float
    next_state: Vector
    done: bool
    price: float
    regime: str
    ctx: Vector
    violation: float
    position_after: int


@dataclass(frozen=True, slots=True)
class TransitionEvicted(Event):
    """The buffer was full: the oldest transition leaves (FIFO)."""

    KIND: ClassVar[str] = "transition_evicted"
    transition_id: int


@dataclass(frozen=True, slots=True)
class DayClosed(Event):
    KIND: ClassVar[str] = "day_closed"
    date: str
    n_transitions: int
    close_price: float
    pnl: float
    sat_agg: float
    constraint_truth: Vector
    """Forall (pMeanError) truth of each constraint over the day, in declaration order."""


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
    """A schema after the night's consolidation steps (eq. 21-22), in full."""

    KIND: ClassVar[str] = "schema_updated"
    schema_id: str
    mean: Vector
    cov: Matrix
    n_points: int
    avg_reward: float
    points_added: int
    mean_shift: float
    regime_counts: tuple[tuple[str, int], ...]
    """Cumulative true regimes of the member transitions, sorted by regime name."""


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


# --- sleep, phase 3 and the awake anomaly monitor ------------------------------------


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
class AnomalyFlagged(Event):
    """Eq. 32 during the awake day: the projected state is farther than ``threshold``
    (normalized map units) from every reference point of the last night's map
    (``projection.anomaly_reference``), and so were the ``anomaly_persistence - 1``
    states before it that day.

    ``entity`` is ``transition:<id>``; the transition gets the highest priority at the
    next night's replay, and may raise the risk (``RiskRaised``) and alert the operator
    (``OperatorAlerted``).
    """

    KIND: ClassVar[str] = "anomaly_flagged"
    transition_id: int
    coords: Vector
    distance: float
    threshold: float
    nearest_cluster: int
    """The index of the nearest reference point: a cluster, a schema centroid or an
    embedded point, as the scenario's ``projection.anomaly_reference`` says."""


@dataclass(frozen=True, slots=True)
class RiskRaised(Event):
    """Anomaly response (spec 2.2.2, "increase risk threshold temporarily"): from the
    next bar on, the agent takes no new exposure beyond ``position_limit`` (it may hold or
    reduce) until ``span_bars`` bars after the latest anomaly, or the day's close.

    ``entity`` is ``risk``; ``transition_id`` is the anomaly that raised it.
    """

    KIND: ClassVar[str] = "risk_raised"
    transition_id: int
    position_limit: int
    span_bars: int


@dataclass(frozen=True, slots=True)
class RiskRestored(Event):
    """The end of a ``risk_raised`` span: ``t_ns`` is when the usual limit came back
    (the first bar past the span, or the day's last bar), ``raised_t_ns`` when the span
    began; ``n_bars`` awake steps were taken under it and ``n_anomalies`` flagged in it."""

    KIND: ClassVar[str] = "risk_restored"
    raised_t_ns: int
    n_bars: int
    n_anomalies: int


@dataclass(frozen=True, slots=True)
class OperatorAlerted(Event):
    """Anomaly response (spec 2.2.2, "alert human operator if anomaly persists"):
    ``n_anomalies`` flags within the last ``window_bars`` awake steps of one day, from
    ``first_transition_id`` to ``last_transition_id``. The count starts afresh after
    each alert and each day."""

    KIND: ClassVar[str] = "operator_alerted"
    n_anomalies: int
    window_bars: int
    first_transition_id: int
    last_transition_id: int


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


# --- sleep, phase 5 ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CycleMetrics(Event):
    """The night's metrics as (name, value) pairs in a fixed order."""

    KIND: ClassVar[str] = "cycle_metrics"
    date: str
    metrics: tuple[tuple[str, float], ...]

    def as_dict(self) -> dict[str, float]:
        return dict(self.metrics)


EVENT_TYPES: tuple[type[Event], ...] = (
    RunStarted,
    RunFinished,
    DayOpened,
    TransitionRecorded,
    TransitionEvicted,
    DayClosed,
    PrioritiesComputed,
    ReplayBatchSampled,
    PolicyUpdated,
    TargetSynced,
    ScalerFitted,
    PrioritiesUpdated,
    SeparationTrained,
    ConsolidationGated,
    SchemaCreated,
    SchemaUpdated,
    SchemaPruned,
    PolicyConsolidated,
    ProjectionFitted,
    AnomalyFlagged,
    RiskRaised,
    RiskRestored,
    OperatorAlerted,
    SchemaCheckpoint,
    StateCheckpoint,
    CycleMetrics,
)

EVENT_KINDS: dict[str, type[Event]] = {cls.KIND: cls for cls in EVENT_TYPES}
