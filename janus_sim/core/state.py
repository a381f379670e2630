"""The simulation state and the fold that builds it: ``apply(state, event)``.

Every change to the state goes through ``apply``. The engine emits an event and applies
it at once (``Recorder.emit``); a rebuild decodes the log and applies the same events in
sequence order. Both are this one code path, so a rebuild is the live state by
construction, and any mismatch is a bug that ``verify`` will catch.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import singledispatch

import numpy as np

from janus_sim.core import detmath as dm
from janus_sim.core import events as ev
from janus_sim.core.buffer import EpisodicBuffer
from janus_sim.core.neocortex import Schema, create
from janus_sim.core.scaler import Scaler
from janus_sim.core.state_rows import checkpoint_fields, restore_schemas, schema_rows_of
from janus_sim.core.sum_tree import SumTree
from janus_sim.core.vector_snapshot import snapshot_checksum


@dataclass
class SimState:
    """Everything the engine knows, derived from events only."""

    alpha: float = 1.0
    started: bool = False
    finished: bool = False
    cycle: int = 0
    t_ns: int = 0
    feature_names: tuple[str, ...] = ()
    constraint_names: tuple[str, ...] = ()
    buffer: EpisodicBuffer | None = None
    tree: SumTree | None = None
    priorities: np.ndarray = field(default_factory=lambda: np.zeros(0))
    params: np.ndarray = field(default_factory=lambda: np.zeros((3, 1)))
    target_params: np.ndarray | None = None
    """The bootstrap's target network during a night (``target_synced``); None before
    the first night. Not checkpointed: every night starts by syncing it."""
    scaler: Scaler | None = None
    """The frozen feature scaler (``scaler_fitted``); None until the first night."""
    held_back: tuple[int, ...] = ()
    """Transitions the recall gate held back last night: candidates again tonight."""
    sep_weights: np.ndarray = field(default_factory=lambda: np.zeros((1, 1)))
    sep_bias: np.ndarray = field(default_factory=lambda: np.zeros(1))
    regime_names: list[str] = field(default_factory=list)
    day_date: str | None = None
    day_transitions: int = 0
    day_closed: dict[str, ev.DayClosed] = field(default_factory=dict)
    metrics: dict[int, dict[str, float]] = field(default_factory=dict)
    replay_iterations: int = 0
    position: int = 0
    schemas: dict[str, Schema] = field(default_factory=dict)
    """Live schemas in creation order (insertion order is the deterministic order)."""
    schema_regimes: dict[str, dict[str, int]] = field(default_factory=dict)
    projection: ev.ProjectionFitted | None = None
    """The latest night's map (phase 3), if any."""
    map_slice: ev.ProjectionFitted | None = None
    """The latest map laid out by UMAP, the aligned chain's last slice (nights too small
    for UMAP leave the chain alone)."""
    anomalies: list[int] = field(default_factory=list)
    """Transitions flagged (eq. 32) since the last replay, in order."""
    day_risk_spans: int = 0
    """``risk_raised`` spans begun during the current day."""
    day_alerts: int = 0
    """``operator_alerted`` events of the current day."""
    vector_sync: ev.VectorStoreSynced | None = None
    """The latest night's phase 4 record (what the engine writes to the vector store and
    the snapshot shelf); not checkpointed: each night records its own."""

    def view(self, raw: np.ndarray) -> np.ndarray:
        """Raw state vectors as every reader sees them: through the scaler once fitted."""
        return raw if self.scaler is None else self.scaler.apply(raw)

    def require_buffer(self) -> tuple[EpisodicBuffer, SumTree]:
        if self.buffer is None or self.tree is None:
            raise ValueError("event before run_started")
        return self.buffer, self.tree

    def regime_index(self, name: str) -> int:
        if name not in self.regime_names:
            self.regime_names.append(name)
        return self.regime_names.index(name)

    def set_priorities(self, ids: tuple[int, ...], priorities: tuple[float, ...]) -> None:
        buf, tree = self.require_buffer()
        id_arr = np.asarray(ids, dtype=np.int64)
        if len(id_arr) and (id_arr.min() < buf.oldest_id or id_arr.max() >= buf.next_id):
            raise ValueError("priority for a transition that is not in the buffer")
        slots = buf.slots_of(id_arr)
        p = np.asarray(priorities, dtype=np.float64)
        self.priorities[slots] = p
        tree.update(slots, dm.power(p, self.alpha))


@singledispatch
def apply(event: ev.Event, state: SimState) -> None:
    """Fold one event into ``state`` (in place)."""
    raise TypeError(f"no fold rule for {type(event).__name__}")


def _advance(event: ev.Event, state: SimState) -> None:
    if event.t_ns < state.t_ns:
        raise ValueError(f"{event.KIND} goes back in simulated time")
    state.t_ns = event.t_ns
    state.cycle = event.cycle


@apply.register
def _(event: ev.RunStarted, state: SimState) -> None:
    if state.started:
        raise ValueError("run_started twice")
    _advance(event, state)
    state.started = True
    state.alpha = event.alpha
    state.feature_names = event.feature_names
    state.constraint_names = event.constraint_names
    d = len(event.feature_names)
    state.buffer = EpisodicBuffer(event.capacity, d)
    state.tree = SumTree(event.capacity)
    state.priorities = np.zeros(event.capacity)
    state.params = np.array(event.policy_params, dtype=np.float64)
    state.sep_weights = np.array(event.sep_weights, dtype=np.float64)
    state.sep_bias = np.array(event.sep_bias, dtype=np.float64)


@apply.register
def _(event: ev.RunFinished, state: SimState) -> None:
    _advance(event, state)
    state.finished = True


@apply.register
def _(event: ev.DayOpened, state: SimState) -> None:
    _advance(event, state)
    state.day_date = event.date
    state.day_transitions = 0
    state.day_risk_spans = state.day_alerts = 0


@apply.register
def _(event: ev.TransitionRecorded, state: SimState) -> None:
    _advance(event, state)
    buf, tree = state.require_buffer()
    slot = buf.push(
        event.transition_id,
        state=event.state,
        action=event.action,
        reward=event.reward,
        next_state=event.next_state,
        done=event.done,
        t_ns=event.t_ns,
        dt_ns=event.dt_ns,
        ctx=event.ctx,
        violation=event.violation,
        regime=state.regime_index(event.regime),
    )
    # A new transition waits for the night's priorities; until then it cannot be drawn.
    state.priorities[slot] = 0.0
    tree.update(np.array([slot]), np.zeros(1))
    state.day_transitions += 1
    state.position = event.position_after


@apply.register
def _(event: ev.TransitionEvicted, state: SimState) -> None:
    _advance(event, state)
    buf, tree = state.require_buffer()
    slot = buf.evict_oldest(event.transition_id)
    state.priorities[slot] = 0.0
    tree.update(np.array([slot]), np.zeros(1))


@apply.register
def _(event: ev.DayClosed, state: SimState) -> None:
    _advance(event, state)
    state.day_closed[event.date] = event


@apply.register
def _(event: ev.PrioritiesComputed, state: SimState) -> None:
    _advance(event, state)
    state.set_priorities(event.transition_ids, event.priorities)
    # The night's replay has taken the day's anomalies into its priorities.
    state.anomalies = []


@apply.register
def _(event: ev.ReplayBatchSampled, state: SimState) -> None:
    _advance(event, state)
    state.replay_iterations += 1


@apply.register
def _(event: ev.PolicyUpdated, state: SimState) -> None:
    _advance(event, state)
    state.params = np.array(event.params, dtype=np.float64)


@apply.register
def _(event: ev.ScalerFitted, state: SimState) -> None:
    _advance(event, state)
    state.scaler = Scaler(np.array(event.mean), np.array(event.scale))


@apply.register
def _(event: ev.TargetSynced, state: SimState) -> None:
    _advance(event, state)
    state.target_params = np.array(event.params, dtype=np.float64)


@apply.register
def _(event: ev.PrioritiesUpdated, state: SimState) -> None:
    _advance(event, state)
    state.set_priorities(event.transition_ids, event.priorities)


@apply.register
def _(event: ev.SeparationTrained, state: SimState) -> None:
    _advance(event, state)
    state.sep_weights = np.array(event.weights, dtype=np.float64)
    state.sep_bias = np.array(event.bias, dtype=np.float64)


@apply.register
def _(event: ev.ConsolidationGated, state: SimState) -> None:
    _advance(event, state)
    state.held_back = tuple(event.held_back)


@apply.register
def _(event: ev.SchemaCreated, state: SimState) -> None:
    _advance(event, state)
    if event.schema_id in state.schemas:
        raise ValueError(f"schema {event.schema_id} created twice")
    state.schemas[event.schema_id] = create(
        event.schema_id, np.array(event.mean), event.reward, event.t_ns, event.eps
    )
    state.schema_regimes[event.schema_id] = {event.regime: 1}


def _check_joined(event: ev.SchemaUpdated, n_before: int) -> None:
    """The update's count agrees with the schema before it and with its own joiners:
    n_points = n_before + points_added, and when membership is known (v2),
    points_added = len(joined) = len(joined_mahalanobis_sq)."""
    where = f"schema_updated of {event.schema_id} (cycle {event.cycle})"
    if event.n_points != n_before + event.points_added:
        raise ValueError(
            f"{where}: n_points {event.n_points} is not {n_before} before + "
            f"{event.points_added} added"
        )
    if event.joined is None:
        return
    n_dist = -1 if event.joined_mahalanobis_sq is None else len(event.joined_mahalanobis_sq)
    if not len(event.joined) == event.points_added == n_dist:
        raise ValueError(
            f"{where}: {len(event.joined)} joined and {n_dist} distances for "
            f"{event.points_added} points added (expected all equal)"
        )


@apply.register
def _(event: ev.SchemaUpdated, state: SimState) -> None:
    _advance(event, state)
    old = state.schemas.get(event.schema_id)
    if old is None:
        raise ValueError(f"update of unknown schema {event.schema_id}")
    _check_joined(event, old.n_points)
    state.schemas[event.schema_id] = Schema(
        event.schema_id,
        np.array(event.mean),
        np.array(event.cov),
        event.n_points,
        event.avg_reward,
        old.created_ns,
        event.t_ns,
        old.eps,
    )
    state.schema_regimes[event.schema_id] = dict(event.regime_counts)


@apply.register
def _(event: ev.SchemaPruned, state: SimState) -> None:
    _advance(event, state)
    if state.schemas.pop(event.schema_id, None) is None:
        raise ValueError(f"prune of unknown schema {event.schema_id}")
    state.schema_regimes.pop(event.schema_id, None)


@apply.register
def _(event: ev.SchemaCheckpoint, state: SimState) -> None:
    _advance(event, state)
    if not state.started:  # folding a filtered view: the checkpoint is the starting point
        restore_schemas(state, event)
    elif schema_rows_of(state) != event.schemas:
        raise ValueError("schema checkpoint disagrees with the schema events before it")


@apply.register
def _(event: ev.ProjectionFitted, state: SimState) -> None:
    _advance(event, state)
    state.projection = event
    if event.method.startswith("aligned_umap"):
        state.map_slice = event


@apply.register
def _(event: ev.AnomalyFlagged, state: SimState) -> None:
    _advance(event, state)
    state.anomalies.append(event.transition_id)


@apply.register
def _(event: ev.RiskRaised, state: SimState) -> None:
    _advance(event, state)
    state.day_risk_spans += 1


@apply.register
def _(event: ev.RiskRestored, state: SimState) -> None:
    _advance(event, state)


@apply.register
def _(event: ev.OperatorAlerted, state: SimState) -> None:
    _advance(event, state)
    state.day_alerts += 1


@apply.register
def _(event: ev.PolicyConsolidated, state: SimState) -> None:
    _advance(event, state)
    state.params = np.array(event.params, dtype=np.float64)


@apply.register
def _(event: ev.StateCheckpoint, state: SimState) -> None:
    _advance(event, state)
    if not state.started:  # folding a filtered view (schemas only): start from it
        restore_schemas(state, event)
        return
    for name, value in checkpoint_fields(state).items():
        if getattr(event, name) != value:
            raise ValueError(f"state checkpoint disagrees with the events before it ({name})")


@apply.register
def _(event: ev.VectorStoreSynced, state: SimState) -> None:
    _advance(event, state)
    if state.started:  # a filtered view (schemas only) has no schemas to check it against
        if event.n_points != len(state.schemas):
            raise ValueError("vector_store_synced disagrees with the schemas before it (n_points)")
        if event.checksum != snapshot_checksum(state.schemas.values()):
            raise ValueError("vector_store_synced disagrees with the schemas before it (checksum)")
    state.vector_sync = event


@apply.register
def _(event: ev.CycleMetrics, state: SimState) -> None:
    _advance(event, state)
    state.metrics[event.cycle] = event.as_dict()


class Recorder:
    """Applies each emitted event to the state and keeps it for the log (the live path)."""

    def __init__(self, state: SimState) -> None:
        self.state = state
        self.pending: list[ev.Event] = []

    def emit(self, event: ev.Event) -> None:
        apply(event, self.state)
        self.pending.append(event)

    def drain(self) -> list[ev.Event]:
        out, self.pending = self.pending, []
        return out


def fold(events: Iterable[ev.Event]) -> SimState:
    """The state after ``events`` from an empty start (a rebuild)."""
    state = SimState()
    for e in events:
        apply(e, state)
    return state
